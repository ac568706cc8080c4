"""The filter bar's "NSFW level" select in Chromium against the real standalone server: picking a level lists only
the LoRAs rated at most it (and those whose rating is unknown), and a preset brings the level back."""

from __future__ import annotations

import pytest

pytest.importorskip("gradio")
pytest.importorskip("playwright.sync_api")

from .browser import Server, wait_for  # noqa: E402
from .test_nsfw_level import lm_sidecar  # noqa: E402
from .ui17_helpers import card_names, generation, library, loaded, open_tab, save_preset_and_clear  # noqa: E402

# prompt name -> the preview's rating its sidecar gives (ui17_helpers.library's files; mira_copy has none)
LEVELS = {"ink": 1, "mira": 4, "neon": 8}
SHOWN = {"ink": "Ink Wash", "mira": "Mira", "neon": "Neon City"}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nsfw")
    lib = tmp / "lib"
    files = library(lib)
    for name, level in LEVELS.items():
        lm_sidecar(str(lib / files[name]), level, False, [])
    server = Server(str(lib), str(tmp / "data"), env={"LORA_MANAGER_WATCH_INTERVAL": "0"})
    try:
        wait_for(lambda: (server.api("GET", "/loras")["total"] == len(files)
                          and not server.api("GET", "/scans/current")["running"]
                          and server.api("GET", "/hashing")["pending_files"] == 0), timeout=300)
        levels = {e["name"]: e["nsfw_level"] for e in server.api("GET", "/loras")["items"]}
        assert levels == {**LEVELS, "mira_copy": None, "plain": None}
        yield server, files
    finally:
        print(server.stop())


def _pick(page, value: str) -> None:
    before = generation(page)
    page.select_option("select[aria-label='NSFW level']", value)
    loaded(page, before)


def test_picking_a_level_lists_only_what_is_rated_at_most_it(browser, served):
    server, files = served
    with open_tab(browser, server) as page:
        page.click(".lm-filterbtn")
        options = page.locator("select[aria-label='NSFW level'] option").all_inner_texts()
        assert options == ["NSFW level: any", "Up to PG", "Up to PG-13", "Up to R", "Up to X"]
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url) if "/loras?" in r.url else None)
        _pick(page, "1")
        # PG and the unknown (mira's copy has no sidecar, plain neither)
        assert card_names(page) == ["Ink Wash", "Mira", "plain"]
        assert "nsfw_max=1" in requests[-1]
        assert page.inner_text(".lm-filterbtn") == "Filters (1)"
        _pick(page, "2")
        assert card_names(page) == ["Ink Wash", "Mira", "plain"]
        _pick(page, "4")
        assert card_names(page) == ["Ink Wash", "Mira", "Mira", "plain"]
        _pick(page, "8")
        assert card_names(page) == sorted([*SHOWN.values(), "Mira", "plain"])
        _pick(page, "")
        assert len(card_names(page)) == len(files) and "nsfw_max" not in requests[-1]


def test_the_level_is_kept_in_a_preset_and_cleared_with_the_filters(browser, served):
    server, files = served
    with open_tab(browser, server) as page:
        page.click(".lm-filterbtn")
        _pick(page, "1")
        save_preset_and_clear(page, "safe")
        assert len(card_names(page)) == len(files)
        assert page.input_value("select[aria-label='NSFW level']") == ""

        before = generation(page)
        page.select_option("select[aria-label='filter presets']", "safe")
        loaded(page, before)
        assert card_names(page) == ["Ink Wash", "Mira", "plain"]
        assert page.input_value("select[aria-label='NSFW level']") == "1"
        assert page.inner_text(".lm-filterbtn") == "Filters (1)"
