"""Civitai's metadata in a real browser against the stand-in: "Fetch from Civitai" in a LoRA's detail and
for the selection, the facts and links in the detail, "Fetch all missing" in the panel, and previews rated
above the user's level blurred until clicked."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("gradio")
pytest.importorskip("playwright.sync_api")

from lora_manager.app import build  # noqa: E402
from lora_manager.settings import Settings  # noqa: E402

from .browser import ThreadServer, tab_page, wait_for  # noqa: E402
from .civitai_fixtures import fast_retries, publish_alice, publish_bob_autov2_only  # noqa: E402,F401
from .civitai_standin import CivitaiStandin  # noqa: E402
from .loras import write_lora  # noqa: E402

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


@pytest.fixture
def hosted(tmp_path):
    with CivitaiStandin() as civ:
        lib = tmp_path / "lib"
        paths = {n: write_lora(lib / f"{n}.safetensors", seed=i, family="xl")
                 for i, n in enumerate(("alice", "bob", "carol"))}
        publish_alice(civ, paths["alice"])
        publish_bob_autov2_only(civ, paths["bob"])
        # a preview another tool placed, with its sidecar rating the first image X
        write_lora(lib / "spicy.safetensors", seed=9)
        (lib / "spicy.preview.png").write_bytes(PNG)
        (lib / "spicy.civitai.info").write_text(json.dumps(
            {"id": 90, "modelId": 91, "model": {"name": "Spicy", "nsfw": True},
             "images": [{"url": "https://image.civitai.com/x/s.png", "nsfwLevel": 8, "type": "image"}]}))
        core = build(Settings(lora_dirs=[str(lib)], data_dir=str(tmp_path / "data"), civitai_url=civ.url,
                              civitai_rate=1000.0, civitai_timeout=5.0, embed_model="off"))
        core.scan(wait_hashes=True)
        server = ThreadServer(core)
        yield server, core, lib
        server.stop()
        core.close()


@pytest.fixture
def page(browser, hosted):
    with tab_page(browser, hosted[0].base) as pg:
        yield pg


def test_fetch_one_from_its_detail_shows_the_facts_and_links(page, hosted):
    _, core, _ = hosted
    page.click(".lm-card[title='alice']")
    page.wait_for_selector(".lm-civitai-facts:has-text('Not looked up yet')")
    page.click("button.lm-civitai-fetch")
    facts = page.wait_for_selector(".lm-civitai-facts:has-text('painter')", timeout=30000)
    text = facts.inner_text()
    assert "Pony" in text and "v1.0" in text and "blue dress" in text
    link = page.locator(".lm-civitai-facts a:text('Alice')")
    assert link.get_attribute("href").endswith("/models/7?modelVersionId=11")
    assert link.get_attribute("rel") == "noopener noreferrer"
    assert page.locator(".lm-civitai-facts script, .lm-civitai-facts img").count() == 0  # the hostile description
    # only alice was asked about
    assert core.catalog.get("bob")["civitai"]["status"] == "not_asked"


def test_fetch_the_selection_and_all_missing(page, hosted):
    _, core, _ = hosted
    page.check(".lm-card[title='bob'] input.lm-check")
    page.wait_for_selector(".lm-bulkbar:not([hidden])")
    page.click(".lm-bulkbar button:text('Fetch from Civitai')")
    wait_for(lambda: core.catalog.get("bob")["civitai"]["status"] == "found", timeout=30)
    assert core.catalog.get("alice")["civitai"]["status"] == "not_asked"
    page.click(".lm-tab:text('Civitai')")
    page.wait_for_selector(".lm-civitai-library:has-text('1 found')")
    page.click("button:text('Fetch all missing')")
    page.wait_for_selector(".lm-civitai-library:has-text('2 found · 2 not on Civitai · 0 not looked up')",
                           timeout=30000)
    assert core.catalog.get("carol")["civitai"]["status"] == "not_found"


def test_a_preview_rated_above_the_level_is_blurred_until_clicked(page, hosted):
    card = ".lm-card[title='spicy']"
    page.wait_for_selector(f"{card} img.lm-nsfw")
    page.click(f"{card} img.lm-nsfw")
    page.wait_for_selector(f"{card} img:not(.lm-nsfw)")
    assert page.locator(".lm-detail:visible").count() == 0  # the click revealed, it did not open the detail
    # the level is a setting: "never blur" shows it; back to PG-13 blurs again
    page.click(".lm-tab:text('Civitai')")
    page.select_option("select[aria-label='blur previews above']", "32")
    page.select_option("select[aria-label='blur previews above']", "2")
    page.click(".lm-tab:text('Library')")
    page.wait_for_selector(f"{card} img.lm-nsfw")
    assert page.locator(".lm-card[title='alice'] .lm-nsfw").count() == 0
