"""The Recipes panel in a real browser: an image dropped in becomes a recipe card (cover, LoRAs present or
missing, warnings), filters by words, tag and LoRA, send to the host's txt2img through its paste button,
run as a job, copy the prompt, edit in the card (a refusal shown in its form), delete; hostile text stays text."""

from __future__ import annotations

import json

import httpx
import pytest

pytest.importorskip("gradio")
playwright_api = pytest.importorskip("playwright.sync_api")

from lora_manager.app import build  # noqa: E402
from lora_manager.settings import Settings  # noqa: E402

from . import recipe_images as RI  # noqa: E402
from .browser import ThreadServer, natural_width, tab_page, wait_for  # noqa: E402
from .loras import tensor_sha256, write_lora  # noqa: E402
from .test_jobs import FakeRunner  # noqa: E402

UI = "/lora-manager/ui/"


@pytest.fixture(scope="module")
def hosted(tmp_path_factory):
    root = tmp_path_factory.mktemp("recipes")
    cat = write_lora(root / "lib" / "cat_style.safetensors", seed=1)
    write_lora(root / "lib" / "dog_style.safetensors", seed=2)
    core = build(Settings(lora_dirs=[str(root / "lib")], data_dir=str(root / "data"), embed_model="off"))
    core.scan(wait_hashes=True)
    server = ThreadServer(core)
    yield server, core, root, cat
    server.stop()
    core.close()


@pytest.fixture
def page(browser, hosted):
    with tab_page(browser, hosted[0].base, UI) as pg:
        pg.click(".lm-tab:text('Recipes')")
        yield pg


def _drop_file(page, path, mime):
    page.set_input_files("input[aria-label='recipe image']", files=[{"name": path.name, "mimeType": mime,
                                                                    "buffer": path.read_bytes()}])


def test_an_image_becomes_a_recipe_card_and_filters_find_it(page, hosted):
    server, core, root, cat = hosted
    for r in core.recipes.list(limit=500)["items"]:
        core.recipes.delete(r["id"])
    image = root / "roof.png"
    image.write_bytes(RI.png({"parameters": RI.a1111_text(tensor_hash=tensor_sha256(cat)[:12])}))
    _drop_file(page, image, "image/png")
    page.wait_for_selector(".lm-recipe .lm-recipe-title:text('roof')")
    card = page.locator(".lm-recipe").first
    assert card.locator(".lm-present").count() == 1
    assert natural_width(card.locator("img.lm-recipe-cover")) == 64
    comfy = root / "comfy<img src=x onerror=alert(1)>.png"
    comfy.write_bytes(RI.png({"prompt": json.dumps(RI.comfy_prompt(lora_file="ghost_lora.safetensors"))}))
    _drop_file(page, comfy, "image/png")
    page.wait_for_selector(".lm-recipes-panel .lm-message:has-text('1 LoRA(s) not in the library')")
    ghost = page.locator(".lm-recipe", has_text="a cozy cabin")
    ghost.locator(".lm-missing").wait_for()
    assert ghost.locator(".lm-missing").count() == 1 and ghost.locator("img[src='x']").count() == 0
    assert "ghost_lora is not in the library" in ghost.locator(".lm-warn").first.inner_text()
    assert page.locator(".lm-recipe").count() == 2
    page.fill("input[aria-label='search recipes']", "cozy")
    wait_for(lambda: page.locator(".lm-recipe").count() == 1)
    page.fill("input[aria-label='search recipes']", "")
    wait_for(lambda: page.locator(".lm-recipe").count() == 2)
    page.fill("input[aria-label='recipes using LoRA']", "cat_style")
    page.dispatch_event("input[aria-label='recipes using LoRA']", "change")
    wait_for(lambda: page.locator(".lm-recipe").count() == 1)
    page.fill("input[aria-label='recipes using LoRA']", "")
    page.dispatch_event("input[aria-label='recipes using LoRA']", "change")
    wait_for(lambda: page.locator(".lm-recipe").count() == 2)
    rid = int(page.locator(".lm-recipe", has_text="a cat on a roof").get_attribute("data-id"))
    core.recipes.patch(rid, {"tags": ["rooftops"]})
    page.click(".lm-tab:text('Library')")
    page.click(".lm-tab:text('Recipes')")
    page.select_option("select[aria-label='recipe tag']", "rooftops")
    wait_for(lambda: page.locator(".lm-recipe").count() == 1)
    bad = root / "junk.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    _drop_file(page, bad, "image/png")
    page.wait_for_selector(".lm-recipes-panel .lm-message.lm-error:has-text('not an image we can read')")


def test_send_run_copy_and_delete(page, hosted):
    server, core, root, cat = hosted
    made = core.recipes.create({"title": "Sendable", "prompt": "a cat", "steps": 8, "seed": 3, "width": 512,
                                "height": 512, "loras": [{"name": "cat_style", "weight": 0.6}]})
    page.click(".lm-tab:text('Library')")
    page.click(".lm-tab:text('Recipes')")
    card = page.locator(f".lm-recipe[data-id='{made['id']}']")
    card.wait_for()
    # the host's txt2img prompt box and its paste button, as SDNext names them
    page.evaluate("""() => {
      const ta = document.createElement('textarea');
      const box = document.createElement('div'); box.id = 'txt2img_prompt';
      box.append(ta); document.body.append(box);
      const b = document.createElement('button'); b.id = 'txt2img_paste';
      b.addEventListener('click', () => { window.pasted = ta.value; }); document.body.append(b);
    }""")
    card.locator("button:text('Send to txt2img')").click()
    wait_for(lambda: page.evaluate("window.pasted || ''") != "")
    pasted = page.evaluate("window.pasted")
    assert pasted.startswith("a cat <lora:cat_style:0.6>\n") and "Steps: 8" in pasted and "Seed: 3" in pasted
    assert card.locator("button:text('Send to img2img')").count() == 0  # no img2img tab on this page
    # a page with the host's img2img tab (prompt box, Restore button, tab switch): the card offers it
    page.evaluate("""() => {
      const ta = document.createElement('textarea');
      const box = document.createElement('div'); box.id = 'img2img_prompt';
      box.append(ta); document.body.append(box);
      const b = document.createElement('button'); b.id = 'img2img_paste';
      b.addEventListener('click', () => { window.pasted2 = ta.value; }); document.body.append(b);
      window.switch_to_img2img = () => { window.switched = 'img2img'; };
    }""")
    page.click(".lm-tab:text('Library')")
    page.click(".lm-tab:text('Recipes')")
    card.locator("button:text('Send to img2img')").click()
    wait_for(lambda: page.evaluate("window.pasted2 || ''") != "")
    assert page.evaluate("window.pasted2") == pasted and page.evaluate("window.switched") == "img2img"
    page.wait_for_selector(".lm-recipes-panel .lm-message:has-text('Sent to img2img')")
    card.locator("button:text('Copy prompt')").click()
    wait_for(lambda: page.evaluate("window.LoraManager.clipboard") == "a cat <lora:cat_style:0.6>")
    core.jobs.runner = None
    card.locator("button:text('Run as job')").click()
    page.wait_for_selector(".lm-recipes-panel .lm-message.lm-error:has-text('inside SDNext')")
    core.jobs.runner = FakeRunner()
    card.locator("button:text('Run as job')").click()
    page.wait_for_selector(".lm-recipes-panel .lm-message:has-text('Queued as job')")
    assert any(j["prompt"] == "a cat <lora:cat_style:0.6>" for j in core.jobs.list())
    page.once("dialog", lambda d: d.accept())
    card.locator("button:text('Delete')").click()
    wait_for(lambda: page.locator(f".lm-recipe[data-id='{made['id']}']").count() == 0)
    assert core.recipes.store.get(made["id"]) is None


def test_a_recorded_generation_becomes_a_recipe(page, hosted):
    from datetime import datetime, timezone

    server, core, root, cat = hosted
    core.recorder.usage_store.record_generations([{
        "started_at": datetime.now(timezone.utc), "outcome": "done", "source": "ui", "seed": 11, "steps": 9,
        "prompt": "a lighthouse <lora:cat_style:0.3>", "requested": [{"name": "cat_style", "weight": 0.3}],
        "applied": []}])
    page.click("summary:text('From a recorded generation')")
    page.click(".lm-recipe-event:has-text('a lighthouse') button:text('Make recipe')")
    card = page.locator(".lm-recipe", has_text="a lighthouse")
    card.wait_for()
    assert card.locator(".lm-present").count() == 1 and "seed 11" in card.inner_text()


def test_a_recipe_is_edited_in_its_card(page, hosted):
    server, core, root, cat = hosted
    made = core.recipes.create({"title": "Plain", "prompt": "a fox in snow", "tags": ["old"]})
    rid = made["id"]
    page.click(".lm-tab:text('Library')")
    page.click(".lm-tab:text('Recipes')")
    card = page.locator(f".lm-recipe[data-id='{rid}']")
    card.wait_for()
    card.locator("button:text-is('Edit')").click()
    form = card.locator("form.lm-recipe-edit")
    assert form.get_by_label("Title", exact=True).input_value() == "Plain"
    assert form.get_by_label("Tags (comma separated)").input_value() == "old"
    form.get_by_label("Title", exact=True).fill("Fox at dawn")
    form.get_by_label("Tags (comma separated)").fill("winter, Foxes")
    form.get_by_label("Notes").fill("shot at dawn <b>not bold</b>")
    form.locator("button:text-is('Save')").click()
    page.wait_for_selector(f".lm-recipe[data-id='{rid}'] .lm-recipe-title:text-is('Fox at dawn')")
    assert card.locator("form.lm-recipe-edit").count() == 0
    assert sorted(card.locator(".lm-recipe-tags .lm-chip").all_inner_texts()) == ["foxes", "winter"]
    assert card.locator(".lm-recipe-notes").inner_text() == "shot at dawn <b>not bold</b>"
    assert card.locator(".lm-recipe-notes b").count() == 0
    got = httpx.get(f"{server.base}/lora-manager/v1/recipes/{rid}", timeout=10).json()
    assert (got["title"], sorted(got["tags"]), got["notes"], got["prompt"]) == (
        "Fox at dawn", ["foxes", "winter"], "shot at dawn <b>not bold</b>", "a fox in snow")
    page.wait_for_selector("select[aria-label='recipe tag'] option[value='winter']", state="attached")
    # a title over the model's 200 characters: the server's refusal is shown in the form, nothing changes
    card.locator("button:text-is('Edit')").click()
    form.get_by_label("Title", exact=True).fill("x" * 201)
    form.locator("button:text-is('Save')").click()
    error = form.locator(".lm-message.lm-error")
    error.wait_for()
    assert "title" in error.inner_text() and "200" in error.inner_text()
    got = httpx.get(f"{server.base}/lora-manager/v1/recipes/{rid}", timeout=10).json()
    assert (got["title"], sorted(got["tags"])) == ("Fox at dawn", ["foxes", "winter"])
    assert card.locator(".lm-recipe-title").inner_text() == "Fox at dawn"
    form.locator("button:text-is('Cancel')").click()
    assert card.locator("form.lm-recipe-edit").count() == 0
