"""The Results panel and the job kinds in a real browser: the gallery of job outputs with their parameters,
set as preview (written beside the LoRA), delete, generate missing previews, and an img2img job whose init image
is uploaded from the page."""

from __future__ import annotations

import os

import pytest

pytest.importorskip("gradio")
playwright_api = pytest.importorskip("playwright.sync_api")

from PIL import Image  # noqa: E402

from lora_manager.app import build  # noqa: E402
from lora_manager.jobs.request import JobRequest  # noqa: E402
from lora_manager.settings import Settings  # noqa: E402

from .browser import ThreadServer, natural_width, tab_page, wait_for  # noqa: E402
from .loras import write_lora  # noqa: E402
from .test_ui_jobs import PictureRunner  # noqa: E402



@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
    write_lora(root / "lib" / "cat_style.safetensors", seed=1, metadata={"modelspec.trigger_phrase": "catword"})
    write_lora(root / "lib" / "dog_style.safetensors", seed=2)
    core = build(Settings(lora_dirs=[str(root / "lib")], data_dir=str(root / "data")))
    core.scan(wait_hashes=True)
    core.jobs.runner = PictureRunner(os.path.join(core.settings.data_dir, "outputs"), seconds=0.001)
    server = ThreadServer(core)
    yield server, core, root / "lib"
    server.stop()
    core.close()


@pytest.fixture
def page(browser, served):
    with tab_page(browser, served[0].base) as pg:
        yield pg


def _done(core, job):
    wait_for(lambda: core.jobs.get(job.id).status in ("done", "failed"), timeout=30)
    return core.jobs.get(job.id)


def test_the_gallery_sets_a_preview_deletes_and_generates_previews(page, served):
    _, core, lib = served
    cat = core.catalog.get("cat_style")["id"]
    first = _done(core, core.jobs.submit(JobRequest(prompt="first", loras=[{"name": str(cat)}], width=64, height=64)))
    second = _done(core, core.jobs.submit(JobRequest(prompt="second", width=64, height=64)))
    page.click(".lm-tab:text('Results')")
    page.wait_for_selector(f".lm-result[data-id='{second.id}']")
    card = page.locator(f".lm-result[data-id='{first.id}']")
    assert "width 64" in card.inner_text() and "first" in card.inner_text()
    wait_for(lambda: card.locator("img.lm-preview").evaluate("i => i.complete && i.naturalWidth") == 32)
    card.locator("button:text('Set as preview')").click()
    page.wait_for_selector(".lm-results-panel .lm-message:has-text('preview written')")
    assert (lib / "cat_style.preview.png").exists()
    assert Image.open(lib / "cat_style.preview.png").size == (32, 32)
    page.wait_for_selector(f".lm-result[data-id='{first.id}']:has-text('preview of 1 LoRA')")
    # a result becomes a recipe: its prompt and its LoRA, matched in the library
    page.locator(f".lm-result[data-id='{first.id}'] button:text('Make recipe')").click()
    page.wait_for_selector(".lm-results-panel .lm-message:has-text('Recipe saved')")
    [recipe] = core.recipes.list()["items"]
    assert "first" in recipe["prompt"] and [x["name"] for x in recipe["loras"]] == ["cat_style"]
    assert recipe["has_cover"] and recipe["source"] == "result"  # the result's image, sent by its id
    page.locator(f".lm-result[data-id='{first.id}'] button:text('Delete')").click()  # in use: refused
    page.wait_for_selector(".lm-results-panel .lm-message.lm-error:has-text('preview')")
    page.locator(f".lm-result[data-id='{second.id}'] button:text('Delete')").click()
    page.wait_for_selector(f".lm-result[data-id='{second.id}']", state="detached")
    assert core.generation.results.list()["total"] == 1
    before = len(core.jobs.runner.jobs)
    page.click("button:text('Generate missing previews')")
    page.wait_for_selector(".lm-results-panel .lm-message:has-text('1 preview job(s) queued')")
    wait_for((lib / "dog_style.preview.png").exists, timeout=30)
    assert "dog_style" in core.jobs.runner.jobs[before].prompt
    # the recipe's card shows the result's picture as its cover
    page.click(".lm-tab:text('Recipes')")
    cover = page.locator(f".lm-recipe[data-id='{recipe['id']}'] img.lm-recipe-cover")
    assert natural_width(cover) == 32


def test_an_img2img_job_with_an_uploaded_init_image(page, served, tmp_path):
    _, core, _lib = served
    image = tmp_path / "init.png"
    Image.new("RGB", (40, 40), (250, 10, 10)).save(image)
    page.locator(".lm-card", has_text="dog_style").click()
    page.click(".lm-detail button:text('Add to job')")
    page.click(".lm-tab:text('Jobs')")
    page.select_option("select[aria-label='job kind']", "img2img")
    page.set_input_files("input[aria-label='init image']", str(image))
    page.wait_for_selector(".lm-jobform .lm-message:has-text('init image ready (40×40)')")
    page.fill("input[aria-label='denoising strength']", "0.3")
    page.fill("textarea[aria-label='job prompt']", "a red dog")
    before = len(core.jobs.runner.jobs)
    page.click("button:text('Queue job')")
    wait_for(lambda: len(core.jobs.runner.jobs) > before, timeout=30)
    job = core.jobs.runner.jobs[-1]
    assert (job.request.kind, job.request.denoising_strength) == ("img2img", 0.3)
    assert Image.open(job.init_path).getpixel((1, 1)) == (250, 10, 10)
