"""The tab inside the stand-in host's page, in a real browser: a recipe made from the host's txt2img prompt, a
recipe sent to the host's control tab (its paste button fills the fields), a control job from the Jobs panel run
by the stand-in's control pipeline with its result shown, and the detail's "Generate preview" writing the LoRA's
`<base>.preview.png`. The jobs run through the extension's own host runner, as in SDNext."""

from __future__ import annotations

import pytest

pytest.importorskip("gradio")
playwright_api = pytest.importorskip("playwright.sync_api")

from PIL import Image  # noqa: E402

from .browser import fill, natural_width, tab_page, wait_for  # noqa: E402
from .generation_helpers import start_host, wait_job  # noqa: E402
from .standin_ui import HostPage  # noqa: E402
from .test_ui_bulk_previews import _clear_toasts  # noqa: E402
from .test_ui_jobs import _stack  # noqa: E402


@pytest.fixture(scope="module")
def hosted(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        h, core = start_host(tmp_path_factory.mktemp("hostpage"), mp)
        server = HostPage(h)
        try:
            yield h, core, server
        finally:
            server.stop()
            core.close()


@pytest.fixture
def page(browser, hosted):
    with tab_page(browser, hosted[2].base, "/") as pg:
        yield pg


def _recipes(page):
    page.click(".lm-tab:text('Library')")
    page.click(".lm-tab:text('Recipes')")


def test_a_recipe_from_the_hosts_txt2img_prompt(page, hosted):
    _h, core, _server = hosted
    page.click(".lm-tab:text('Recipes')")
    button = page.locator(".lm-recipes-panel button:text('From txt2img prompt')")
    button.click()  # the host's prompt box is empty: said so, nothing saved
    page.wait_for_selector(".lm-recipes-panel .lm-message.lm-error:has-text('The txt2img prompt is empty')")
    assert core.recipes.list()["total"] == 0
    page.fill("#txt2img_prompt textarea", "a lighthouse at dusk <lora:hosted:0.7> <lora:ghost_style:0.5>")
    page.fill("#txt2img_neg_prompt textarea", "blurry")
    button.click()
    page.wait_for_selector(".lm-recipes-panel .lm-message:has-text('Saved')")
    [made] = core.recipes.list()["items"]
    assert made["prompt"] == "a lighthouse at dusk" and made["negative_prompt"] == "blurry"
    assert [(x["name"], x["weight"]) for x in made["loras"]] == [("hosted", 0.7), ("ghost_style", 0.5)]
    card = page.locator(f".lm-recipe[data-id='{made['id']}']")
    card.wait_for()
    assert card.locator(".lm-present").count() == 1 and card.locator(".lm-missing").count() == 1
    assert page.input_value("#txt2img_prompt textarea").startswith("a lighthouse")  # the host's box is left as it was


def test_send_to_the_hosts_control_tab_fills_its_fields(page, hosted):
    h, core, server = hosted
    made = core.recipes.create({"title": "Control me", "prompt": "a red barn", "negative_prompt": "fog, rain",
                                "steps": 12, "seed": 42, "width": 640, "height": 384, "cfg_scale": 5.5,
                                "sampler": "Euler a", "loras": [{"name": "hosted", "weight": 0.6}]})
    page.fill("#txt2img_prompt textarea", "left alone")
    _recipes(page)
    card = page.locator(f".lm-recipe[data-id='{made['id']}']")
    card.locator("button:text('Send to control')").click()
    page.wait_for_selector(".lm-recipes-panel .lm-message:has-text('Sent to control')")
    assert server.fields(page, "control") == {
        "prompt": "a red barn <lora:hosted:0.6>", "negative": "fog, rain", "steps": "12", "sampler": "Euler a",
        "cfg_scale": "5.5", "seed": "42", "width": "640", "height": "384"}
    assert page.evaluate("window.hostTab") == "control"
    assert server.fields(page, "txt2img")["prompt"] == "left alone"


def test_a_control_job_from_the_jobs_panel(page, hosted, tmp_path):
    h, core, _server = hosted
    image = tmp_path / "edges.png"
    Image.new("RGB", (48, 40), (10, 200, 30)).save(image)
    _stack(page, "hosted")
    page.click(".lm-tab:text('Jobs')")
    page.select_option("select[aria-label='job kind']", "control")
    # the models the host lists, from its control module
    wait_for(lambda: page.locator("select[aria-label='control model'] option").all_inner_texts()
             == h.control_models[1:], timeout=15)  # "None" is not a model to pick
    page.select_option("select[aria-label='control model']", "Canny")
    page.set_input_files("input[aria-label='control image']", str(image))
    page.wait_for_selector(".lm-jobform .lm-message:has-text('(48×40)')")
    page.fill("textarea[aria-label='job prompt']", "a green field")
    fill(page, "input", {"steps": "3", "width": "64", "height": "64"})
    calls = len(h.control_calls)
    page.click("button:text('Queue job')")
    shown = page.wait_for_selector(".lm-job-done img.lm-preview", timeout=30000)
    call = h.control_calls[calls]
    assert call["models"] == ["Canny"] and call["lock"] and call["inputs"][0].size == (48, 40)
    [job] = [j for j in core.jobs.list() if j["kind"] == "control"]
    done = wait_job(core, job["id"])
    assert done.status == "done" and "hostword" in done.prompt and "<lora:hosted:" in done.prompt
    # the stand-in's pipeline returns the control image at the job's size: that is what the panel shows
    assert natural_width(shown) == 64
    [path] = done.result["images"]
    assert Image.open(path).getpixel((5, 5)) == (10, 200, 30)
    # and the gallery keeps it with its parameters
    page.click(".lm-tab:text('Results')")
    kept = page.locator(f".lm-result[data-id='{done.id}']")
    kept.wait_for()
    assert "kind control" in kept.inner_text() and "control_model Canny" in kept.inner_text()


def test_the_detail_generates_this_loras_preview(page, hosted):
    h, core, _server = hosted
    preview = h.lora_dir / "second.preview.png"
    assert not preview.exists()
    page.locator(".lm-card", has_text="second").first.click()
    page.wait_for_selector(".lm-detail-title:text('second')")
    before = len(h.processed)
    page.click(".lm-detail button:text-is('Generate preview')")
    page.wait_for_selector(".lm-toast:has-text('1 preview job(s) queued, 0 skipped')")  # told where the user is
    wait_for(preview.exists, timeout=30)
    [job] = [j for j in core.jobs.list() if (j.get("purpose") or {}).get("preview_for") == core.catalog.get(
        "second")["id"]]
    done = wait_job(core, job["id"])
    assert done.status == "done"
    assert [n[0] for n in h.processed[before].network_data] == ["second"]  # a job with this LoRA alone
    with Image.open(preview) as im:
        assert im.format == "PNG" and im.size == (done.request.width, done.request.height)
    [result] = [r for r in core.generation.results.list()["items"] if r["id"] == job["id"]]
    assert result["used_as_preview"] == [str(h.lora_dir / "second.safetensors")]
    # the library lists it (read again after writing), and the grid's card shows it once the tab's status poll
    # sees files changed here (GET /system: background.file_changes)
    wait_for(lambda: [p["name"] for p in core.catalog.get("second")["previews"]] == ["second.preview.png"], timeout=15)
    card_img = page.locator(".lm-card", has_text="second").first.locator("img.lm-img")
    wait_for(lambda: card_img.count() == 1 and natural_width(card_img) == done.request.width, timeout=45)
    # asked again: it has a preview now, so nothing is queued, and the toast says why
    _clear_toasts(page)
    page.click(".lm-detail button:text-is('Generate preview')")
    toast = page.wait_for_selector(".lm-toast:has-text('0 preview job(s) queued, 1 skipped')")
    assert "it has a preview" in toast.inner_text()
