"""The trash and missing entries from the tab in a real browser (Chromium against the standalone server), each
action clicked as a user would: forget a missing entry (its file deleted on disk, then a rescan), delete a trashed
LoRA for good from its menu, restore two trashed LoRAs picked in the grid with the bulk bar, and empty the trash.
Each checks the files on disk and the API, not only the page."""

from __future__ import annotations

import os

import httpx
import pytest

pytest.importorskip("gradio")
playwright_api = pytest.importorskip("playwright.sync_api")

from .browser import P, settled_server, tab_page, wait_for  # noqa: E402
from .loras import write_lora  # noqa: E402

UI = "/lora-manager/ui/"
COUNT = 6
SHOW = "select[aria-label='show']"


@pytest.fixture
def served(tmp_path):
    lib = tmp_path / "lib"
    for i in range(COUNT):
        write_lora(lib / f"t{i:02d}.safetensors", seed=i + 1, metadata={"modelspec.title": f"Item {i:02d}"})
    with settled_server(lib, tmp_path / "data", COUNT) as server:
        yield server, lib, tmp_path / "data" / "trash"


@pytest.fixture
def page(browser, served):
    with tab_page(browser, served[0].base, UI, accept_dialogs=True) as pg:
        yield pg


def _status(server, key: str) -> int:
    return httpx.get(f"{server.base}{P}/loras/{key}", timeout=10).status_code


def _card(pg, title: str):
    return pg.locator(f".lm-card:not(.lm-placeholder):has-text('{title}')")


def _count(pg, text: str) -> None:
    wait_for(lambda: pg.inner_text(".lm-count") == text, timeout=15)


def _trashed_files(trash) -> list[str]:
    return sorted(name for _, _, files in os.walk(trash) for name in files)


def _show_trash(pg, n: int) -> None:
    pg.select_option(SHOW, "trashed")
    _count(pg, f"{n} LoRA" + ("" if n == 1 else "s"))


def test_forget_a_missing_entry(page, served):
    server, lib, _trash = served
    (lib / "t00.safetensors").unlink()
    page.click(".lm-btn:text-is('Rescan')")
    wait_for(lambda: server.api("GET", "/loras/t00")["state"] == "missing", timeout=30)
    page.select_option(SHOW, "missing")
    _count(page, "1 LoRA")
    _card(page, "Item 00").click(button="right")
    items = page.locator(".lm-menu .lm-menuitem").all_inner_texts()
    assert items[-1] == "Forget missing entry" and "Move to trash" not in items
    page.click(".lm-menuitem:text('Forget missing entry')")
    page.wait_for_selector(".lm-toast-text:text('Forgotten')")
    _count(page, "0 LoRAs")
    assert _status(server, "t00") == 404  # the entry is gone from the API
    page.select_option(SHOW, "")
    _count(page, f"{COUNT - 1} LoRAs")
    assert _card(page, "Item 00").count() == 0 and _card(page, "Item 01").count() == 1


def test_delete_a_trashed_lora_for_good(page, served):
    server, lib, trash = served
    server.api("DELETE", "/loras/t01")
    server.api("DELETE", "/loras/t02")
    assert _trashed_files(trash) == ["t01.safetensors", "t02.safetensors"]
    _show_trash(page, 2)
    _card(page, "Item 01").click(button="right")
    page.click(".lm-menuitem:text('Delete permanently')")  # its confirmation is accepted
    page.wait_for_selector(".lm-toast-text:text('Deleted for good')")
    _count(page, "1 LoRA")
    assert _trashed_files(trash) == ["t02.safetensors"]  # only its own file went
    assert _status(server, "t01") == 404
    assert _card(page, "Item 01").count() == 0 and _card(page, "Item 02").count() == 1
    assert not (lib / "t01.safetensors").exists()


def test_bulk_restore_of_two_picked_in_the_grid(page, served):
    server, lib, trash = served
    for key in ("t02", "t03", "t04"):
        server.api("DELETE", f"/loras/{key}")
    assert not (lib / "t02.safetensors").exists()
    _show_trash(page, 3)
    restore = page.locator(".lm-bulkbar .lm-btn:text-is('Restore')")
    _card(page, "Item 02").click(modifiers=["Control"])
    _card(page, "Item 04").click(modifiers=["Control"])
    page.wait_for_selector(".lm-bulkcount:text('2 selected')")
    assert restore.is_visible()
    restore.click()
    page.wait_for_selector(".lm-toast-text:text('2 changed')")
    _count(page, "1 LoRA")
    page.wait_for_selector(".lm-bulkbar", state="hidden")  # the restored ones left the view and the selection
    assert (lib / "t02.safetensors").is_file() and (lib / "t04.safetensors").is_file()
    assert _trashed_files(trash) == ["t03.safetensors"]
    assert [server.api("GET", f"/loras/{k}")["state"] for k in ("t02", "t03", "t04")] == ["ok", "trashed", "ok"]
    assert _card(page, "Item 03").count() == 1
    page.select_option(SHOW, "")
    _count(page, f"{COUNT - 1} LoRAs")
    assert _card(page, "Item 02").count() == 1 and _card(page, "Item 04").count() == 1
    _card(page, "Item 02").click(modifiers=["Control"])
    page.wait_for_selector(".lm-bulkcount:text('1 selected')")
    assert not restore.is_visible()  # restore only where the trash is shown


def test_empty_trash(page, served):
    server, lib, trash = served
    button = page.locator(".lm-empty-trash")
    assert button.count() == 1 and not button.is_visible()  # only while the trash is shown
    for key in ("t03", "t05"):
        server.api("DELETE", f"/loras/{key}")
    assert _trashed_files(trash) == ["t03.safetensors", "t05.safetensors"]
    page.fill(".lm-search", "Item 05")  # the search narrows the view; the button still empties all of the trash
    _show_trash(page, 1)
    assert button.inner_text() == "Empty trash"
    button.click()  # its confirmation is accepted
    page.wait_for_selector(".lm-toast-text:text('Trash emptied: 2 deleted for good')")
    _count(page, "0 LoRAs")
    assert os.path.isdir(trash) and os.listdir(trash) == []  # nothing left in the trash folder on disk
    assert server.api("GET", "/trash")["total"] == 0
    assert _status(server, "t03") == 404 and _status(server, "t05") == 404
    assert sorted(p.name for p in lib.iterdir()) == [f"t{i:02d}.safetensors" for i in (0, 1, 2, 4)]
    wait_for(lambda: page.inner_text(".lm-status").startswith(f"{COUNT - 2} "), timeout=5)  # the header's count now
    button.click()  # nothing left: said, and nothing asked
    page.wait_for_selector(".lm-toast-text:text('The trash is already empty')")
