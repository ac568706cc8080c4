"""The Results panel and the job kinds in a real browser: the gallery of job outputs with their parameters,
set as preview (written beside the LoRA), delete, generate missing previews, "Clean up now" under the keep
setting, and an img2img job whose init image
is uploaded from the page."""

from __future__ import annotations

import json
import os
import time

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
    # results older than a day go at cleanup (LORA_MANAGER_OUTPUTS_KEEP_DAYS)
    core = build(Settings(lora_dirs=[str(root / "lib")], data_dir=str(root / "data"), outputs_keep_days=1))
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


def _age(core, job_id: str, days: float) -> None:
    """Move a result's finish time back by rewriting its record on disk."""
    outputs = core.generation.results.outputs
    [path] = [os.path.join(d, f"{job_id}.json") for d, _, files in os.walk(outputs) if f"{job_id}.json" in files]
    with open(path, encoding="utf-8") as f:
        rec = json.load(f)
    rec["finished_at"] = time.time() - days * 86400
    with open(path, "w", encoding="utf-8") as f:
        json.dump(rec, f)


def test_clean_up_now_removes_old_results_and_keeps_the_one_set_as_preview(page, served):
    _, core, lib = served
    results = core.generation.results
    assert results.keep_days == 1
    old, shown, fresh = (_done(core, core.jobs.submit(JobRequest(prompt=p, width=64, height=64)))
                         for p in ("old one", "old preview", "fresh one"))
    images = {j.id: results.image_path(j.id, 0) for j in (old, shown, fresh)}
    _age(core, old.id, 3)
    _age(core, shown.id, 3)
    written = core.generation.previews.set_preview(shown.id, 0, "dog_style", replace=True)
    assert written["written"] == "dog_style.preview.png"
    page.click(".lm-tab:text('Results')")
    for job in (old, shown, fresh):
        page.wait_for_selector(f".lm-result[data-id='{job.id}']")
    page.click(".lm-results-panel button:text('Clean up now')")
    page.wait_for_selector(".lm-results-panel .lm-message:has-text('1 result(s) removed, 1 kept in use')")
    page.wait_for_selector(f".lm-result[data-id='{old.id}']", state="detached")
    assert page.locator(f".lm-result[data-id='{shown.id}']:has-text('preview of 1 LoRA')").count() == 1
    assert page.locator(f".lm-result[data-id='{fresh.id}']").count() == 1
    assert {k: os.path.exists(v) for k, v in images.items()} == {old.id: False, shown.id: True, fresh.id: True}
    assert old.id not in {r["id"] for r in results.list(limit=500)["items"]}
    assert Image.open(lib / "dog_style.preview.png").size == (32, 32)
