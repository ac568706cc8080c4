"""The tab's folder tree in Chromium against the real standalone server: counts per folder, a click
filters the grid (folder= and root=), breadcrumbs, a tree of thousands of folders drawn in part, the
tree hidden and shown again, new and renamed folders, and cards dragged onto a folder to move them.

The tree's routes are built on another branch: those tests skip while GET /folders (or the bulk
move, POST /folders) is missing from the OpenAPI schema, and run once it is merged.
"""

from __future__ import annotations

import pytest

pytest.importorskip("gradio")
pytest.importorskip("playwright.sync_api")

from .browser import wait_for  # noqa: E402
from .ui17_helpers import (  # noqa: E402
    api_lacks, bulk_lacks, card_names, generation, loaded, open_tab, served_library,
)

MANY = 2000
needs_tree = pytest.mark.skipif(api_lacks("GET", "/folders") or api_lacks("GET", "/loras", "root"),
                                reason="GET /folders and root= not in the API yet (api17a)")
needs_moves = pytest.mark.skipif(api_lacks("POST", "/folders") or api_lacks("POST", "/folders/rename")
                                 or bulk_lacks("move"), reason="folder actions not in the API yet (api17b)")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("folders")
    for i in range(MANY):  # empty folders on disk are in the tree too (count 0)
        (tmp / "lib" / "zz_many" / f"f{i:04d}").mkdir(parents=True)
    with served_library(tmp) as ctx:
        yield ctx


def _row(page, name: str):
    return page.locator(".lm-tree-row", has=page.locator(f".lm-tree-name:text-is('{name}')"))


def _pick(page, name: str) -> None:
    before = generation(page)
    _row(page, name).locator(".lm-tree-name").click()
    loaded(page, before)


def _crumbs(page) -> list[str]:
    return page.locator(".lm-crumbs .lm-crumb").all_inner_texts()


def test_the_tree_can_be_hidden_and_stays_hidden(browser, served):
    server, _, _ = served
    with open_tab(browser, server) as page:
        assert page.locator(".lm-tree").is_visible()
        page.click(".lm-tree-toggle")
        assert not page.locator(".lm-tree").is_visible()
        page.reload()
        page.wait_for_selector(".lm-card:not(.lm-placeholder)")
        assert not page.locator(".lm-tree").is_visible()
        page.click(".lm-tree-toggle")
        assert page.locator(".lm-tree").is_visible()


@needs_tree
def test_counts_click_to_filter_and_breadcrumbs(browser, served):
    server, lib, files = served
    with open_tab(browser, server) as page:
        wait_for(lambda: _row(page, "chars").count() == 1, timeout=30)
        assert _row(page, lib.name).locator(".lm-tree-count").inner_text() == str(len(files))
        assert _row(page, "chars").locator(".lm-tree-count").inner_text() == "2"
        assert _row(page, "styles").locator(".lm-tree-count").inner_text() == "2"
        _pick(page, "chars")
        assert card_names(page) == ["Mira", "Mira"]
        assert _crumbs(page) == ["All LoRAs", lib.name, "chars"]
        assert _row(page, "neon").count() == 0  # closed until asked
        _row(page, "styles").locator(".lm-tree-twist").click()
        _pick(page, "neon")
        assert card_names(page) == ["Neon City"]
        assert _crumbs(page) == ["All LoRAs", lib.name, "styles", "neon"]
        before = generation(page)
        page.click(".lm-crumbs .lm-crumb:text-is('styles')")
        loaded(page, before)
        assert card_names(page) == ["Ink Wash", "Neon City"]
        before = generation(page)
        page.click(".lm-tree-all")
        loaded(page, before)
        assert len(card_names(page)) == len(files)
        assert page.locator(".lm-crumbs").is_hidden()


@needs_tree
def test_thousands_of_folders_are_drawn_only_where_seen(browser, served):
    server, _, _ = served
    with open_tab(browser, server) as page:
        wait_for(lambda: _row(page, "zz_many").count() == 1, timeout=30)
        _row(page, "zz_many").locator(".lm-tree-twist").click()
        total = page.evaluate("window.LoraManager.app.treeRows.length")
        assert total > MANY
        assert page.locator(".lm-tree-row").count() < 100  # the rows in view, not all of them
        page.evaluate("(() => { const t = document.querySelector('.lm-tree'); t.scrollTop = t.scrollHeight; })()")
        wait_for(lambda: _row(page, f"f{MANY - 1:04d}").count() == 1, timeout=30)
        assert _row(page, f"f{MANY - 1:04d}").locator(".lm-tree-count").inner_text() == "0"


@needs_tree
@needs_moves
def test_new_folder_drag_cards_onto_it_and_rename_it(browser, tmp_path):
    with served_library(tmp_path) as (server, lib, files), open_tab(browser, server) as page:
        wait_for(lambda: _row(page, "chars").count() == 1, timeout=30)
        page.click(".lm-tree-head button:text-is('+')")
        page.fill("input[aria-label='folder name']", "../evil")
        page.click(".lm-tree-form button:text-is('Create')")
        assert "no slashes" in page.inner_text(".lm-toast")
        page.fill("input[aria-label='folder name']", "keep")
        page.click(".lm-tree-form button:text-is('Create')")
        wait_for(lambda: _row(page, "keep").count() == 1, timeout=30)
        assert (lib / "keep").is_dir()

        # one card
        keep = ".lm-tree-row:has(.lm-tree-name:text-is('keep'))"
        page.drag_and_drop(".lm-card:has-text('plain') .lm-card-name", keep)
        wait_for(lambda: server.api("GET", "/loras/plain")["path"] == str(lib / "keep" / "plain.safetensors"))
        wait_for(lambda: _row(page, "keep").locator(".lm-tree-count").inner_text() == "1", timeout=30)

        # the selection: dragging one selected card moves every selected one
        for name in ("Ink Wash", "Neon City"):
            page.locator(".lm-card", has_text=name).locator("input.lm-check").check()
        page.drag_and_drop(".lm-card:has-text('Ink Wash') .lm-card-name", keep)
        wait_for(lambda: server.api("GET", "/loras/ink")["path"] == str(lib / "keep" / "ink.safetensors"))
        wait_for(lambda: server.api("GET", "/loras/neon")["path"] == str(lib / "keep" / "neon.safetensors"))
        assert (lib / "keep" / "ink.preview.png").is_file()  # the preview follows
        # the tree redrawn with the moves before its row is clicked (a click on a row being replaced is lost)
        wait_for(lambda: _row(page, "keep").locator(".lm-tree-count").inner_text() == "3", timeout=30)

        _pick(page, "keep")
        assert card_names(page) == ["Ink Wash", "Neon City", "plain"]
        page.fill("input[aria-label='folder name']", "kept")
        before = generation(page)
        page.click(".lm-tree-form button:text-is('Rename')")
        loaded(page, before)
        wait_for(lambda: server.api("GET", "/loras/plain")["path"] == str(lib / "kept" / "plain.safetensors"))
        assert _crumbs(page) == ["All LoRAs", lib.name, "kept"]
        assert card_names(page) == ["Ink Wash", "Neon City", "plain"]
        assert not (lib / "keep").exists()
