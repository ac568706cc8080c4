"""The virtual list in a real browser over more LoRAs than one page: every entry is
reachable by scrolling on (cursor pages) and by jumping (offset pages), in the grid and
the table, with only the rows in view in the page."""

from __future__ import annotations

import pytest

pytest.importorskip("gradio")
pytest.importorskip("playwright.sync_api")

from .browser import settled_server, wait_for  # noqa: E402
from .loras import write_lora  # noqa: E402

COUNT = 300


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("scroll")
    for i in range(COUNT):
        write_lora(root / "lib" / f"f{i // 100}" / f"lora_{i:03d}.safetensors", seed=i, rank=2)
    with settled_server(root / "lib", root / "data", COUNT, env={"LORA_MANAGER_EMBED_MODEL": "off"}) as server:
        yield server


@pytest.fixture
def page(browser, served):
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    pg = context.new_page()
    requests = []
    pg.on("request", lambda r: requests.append(r.url) if "/lora-manager/v1/loras?" in r.url else None)
    pg.goto(served.base + "/lora-manager/ui/")
    pg.wait_for_selector(".lm-card:not(.lm-placeholder)")
    pg.requests = requests
    yield pg
    context.close()


def _visible_names(pg):
    return pg.locator(".lm-card-name, .lm-cell-name").all_inner_texts()


def _scroll_to(pg, fraction, expect):
    pg.evaluate(
        f"(() => {{ const s = document.querySelector('.lm-scroller'); s.scrollTop = s.scrollHeight * {fraction}; }})()"
    )
    wait_for(lambda: pg.locator(".lm-window .lm-placeholder").count() == 0 and expect in _visible_names(pg), timeout=10)


@pytest.mark.parametrize("view", ["grid", "table"])
def test_every_entry_is_reachable_and_only_the_view_is_drawn(page, view):
    if view == "table":
        page.click("button:text('Table view')")
        page.wait_for_selector(".lm-row.lm-head")
    assert page.inner_text(".lm-count") == f"{COUNT} LoRAs"
    seen = set(_visible_names(page))
    assert len(seen) < 120  # the window, not the list
    for step in range(1, 41):  # on down, a screen at a time
        page.evaluate(
            "(() => { const s = document.querySelector('.lm-scroller'); s.scrollTop += s.clientHeight * 0.9; })()"
        )
        page.wait_for_timeout(30)
        wait_for(lambda: page.locator(".lm-window .lm-placeholder").count() == 0, timeout=10)
        seen.update(_visible_names(page))
    assert seen == {f"lora_{i:03d}" for i in range(COUNT)}
    assert any("cursor=" in u for u in page.requests)  # scrolling on used the cursor
    if view == "table":
        page.click("button:text('Grid view')")


def test_a_jump_deep_into_the_list(page):
    _scroll_to(page, 0.97, "lora_299")
    assert any("offset=240" in u for u in page.requests)
    _scroll_to(page, 0.5, "lora_150")
    names = _visible_names(page)
    assert names == sorted(names) and "lora_000" not in names


def test_bulk_move_and_trash(page, served, tmp_path_factory):
    """(Last in this module: it moves and trashes three of the LoRAs.)"""
    import httpx

    page.on("dialog", lambda d: d.accept())
    page.fill(".lm-search", "lora_29")
    wait_for(lambda: page.inner_text(".lm-count") == "10 LoRAs", timeout=10)
    for name in ("lora_290", "lora_291", "lora_292"):
        page.locator(".lm-card", has_text=name).locator(".lm-check").check()
    # the folder is picked from the library's folders (GET /folders)
    folder_list = page.locator("select[aria-label='bulk folder']")
    wait_for(lambda: "f0" in folder_list.locator("option").all_inner_texts(), timeout=10)
    folder_list.select_option("f0")
    page.click(".lm-bulkbar button:text-is('Move')")
    api = served.base + "/lora-manager/v1/loras/"

    def folder(name):
        return httpx.get(api + name).json()["folder"]

    wait_for(lambda: all(folder(n) == "f0" for n in ("lora_290", "lora_291", "lora_292")), timeout=20)
    # The server has moved them; let the page finish its own loop (the last answer, then a redraw)
    # before ticking boxes again, or a tick can land on a card about to be redrawn.
    page.wait_for_selector(".lm-toast:has-text('3 moved')", timeout=20000)
    page.wait_for_function("() => window.LoraManager.app.selected.size === 0"
                           " && [...document.querySelectorAll('.lm-card .lm-check')].every((box) => !box.checked)",
                           timeout=20000)
    assert folder("lora_293") == "f2"
    for name in ("lora_290", "lora_291"):
        page.locator(".lm-card", has_text=name).locator(".lm-check").check()
    page.click(".lm-bulkbar button:text-is('Delete')")
    wait_for(lambda: page.inner_text(".lm-count") == "8 LoRAs", timeout=20)
    assert (
        httpx.get(api + "lora_290").json()["state"] == "trashed" and httpx.get(api + "lora_292").json()["state"] == "ok"
    )
