"""The Civitai panel in a real browser against the stand-in: the update badge and filter, a LoRA's
versions in its detail with "Replace", a download by reference with its progress row."""

from __future__ import annotations

import orjson
import pytest

pytest.importorskip("gradio")
pytest.importorskip("playwright.sync_api")

from lora_manager.app import build  # noqa: E402
from lora_manager.settings import Settings  # noqa: E402

from .browser import ThreadServer, tab_page, wait_for  # noqa: E402
from .civitai_dl_helpers import publish  # noqa: E402
from .civitai_dl_standin import DownloadStandin  # noqa: E402
from .loras import write_lora  # noqa: E402



@pytest.fixture
def hosted(tmp_path):
    with DownloadStandin() as civ:
        publish(civ, tmp_path,
                versions=((12, "v3", "2025-05-01T00:00:00.000Z"), (10, "v1", "2025-01-01T00:00:00.000Z")))
        publish(civ, tmp_path, model_id=8, versions=((20, "only", "2025-02-01T00:00:00.000Z"),), name="Bob",
                file_name="bob.safetensors", seed=5)
        lib = tmp_path / "lib"
        write_lora(lib / "alice_v1.safetensors", family="xl", seed=30)
        (lib / "alice_v1.civitai.info").write_bytes(orjson.dumps(civ.versions[10]))
        write_lora(lib / "plain.safetensors", seed=31)
        core = build(Settings(lora_dirs=[str(lib)], data_dir=str(tmp_path / "data"), civitai_url=civ.url,
                              civitai_rate=1000.0))
        core.scan(wait_hashes=True)
        core.catalog.edit("alice_v1", {"favorite": True, "tags": ["hero"]})
        core.civitai_updates.check()
        server = ThreadServer(core)
        yield server, core, civ, lib
        server.stop()
        core.close()


@pytest.fixture
def page(browser, hosted):
    with tab_page(browser, hosted[0].base) as pg:
        yield pg


def test_the_badge_the_filter_and_an_update_in_place_from_the_detail(page, hosted):
    _, core, _, lib = hosted
    page.wait_for_selector(".lm-card[title='alice_v1'] .lm-update")  # its title is Civitai's model name
    assert page.locator(".lm-card[title='plain'] .lm-update").count() == 0
    page.select_option("select[aria-label='show']", "update_available")
    wait_for(lambda: page.locator(".lm-card:not(.lm-placeholder)").count() == 1, timeout=15)
    page.click(".lm-card[title='alice_v1']")
    page.wait_for_selector(".lm-civitai-versions li.lm-newer:has-text('v3')")
    assert page.locator(".lm-civitai-versions li:has-text('(this one)')").count() == 1
    page.click(".lm-civitai-versions li.lm-newer button:text('Replace')")
    job = wait_for(lambda: next((j for j in core.civitai_downloads.list() if j["state"] == "done"), None), timeout=30)
    assert (lib / "alice.safetensors").exists() and not (lib / "alice_v1.safetensors").exists()
    entry = core.catalog.get(job["lora_id"])
    assert entry["favorite"] is True and entry["tags"] == ["hero"]


def test_a_download_from_the_panel_shows_its_row(page, hosted):
    _, core, _, lib = hosted
    page.click(".lm-tab:text('Civitai')")
    page.wait_for_selector(".lm-update-item:has-text('alice_v1')")
    page.fill("input[aria-label='Civitai reference']", "https://civitai.com/models/8/bob")
    page.click("button:text('Download')")
    page.wait_for_selector(".lm-downloads .lm-job-done:has-text('Bob')", timeout=30000)
    assert (lib / "xl" / "Bob" / "bob.safetensors").exists()
    page.fill("input[aria-label='Civitai reference']", "https://example.com/models/1")
    page.click("button:text('Download')")
    page.wait_for_selector(".lm-civitai-panel .lm-message.lm-error:has-text('Not queued')")
