"""The grid by keyboard and mouse in a real browser (Chromium against the standalone server): arrows, Enter, F,
Del and /; shift-click ranges and the marquee; the context menu of a card; the interface in Simplified Chinese
(the browser's language, the standalone page's switch, SDNext's locale setting)."""

from __future__ import annotations

import os

import pytest

pytest.importorskip("gradio")
playwright_api = pytest.importorskip("playwright.sync_api")

from .browser import OUTPUT_DIR, settled_server, tab_page, wait_for  # noqa: E402
from .loras import write_lora  # noqa: E402

UI = "/lora-manager/ui/"
COUNT = 12


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("keys")
    lib = root / "lib"
    for i in range(COUNT):
        write_lora(lib / f"k{i:02d}.safetensors", seed=i + 1, metadata={"modelspec.title": f"Card {i:02d}"})
    with settled_server(lib, root / "data", COUNT) as server:
        yield server, lib


@pytest.fixture
def page(browser, served):
    with tab_page(browser, served[0].base, UI, accept_dialogs=True) as pg:
        yield pg


def _focused(pg) -> str:
    return pg.evaluate("(document.activeElement.closest('[data-index]') || {}).dataset?.index ?? ''")


def _card(pg, i: int):
    return pg.locator(f".lm-card[data-index='{i}']")


def test_arrows_enter_f_del_and_slash(page, served):
    server, lib = served
    _card(page, 0).click()  # opens it, and the keys start there
    page.wait_for_selector(".lm-detail-title:text('Card 00')")
    cols = page.evaluate("window.LoraManager.app.cols")  # the detail beside the grid took some columns
    assert 1 < cols < COUNT  # two rows at least: up and down mean something
    page.keyboard.press("ArrowRight")
    assert _focused(page) == "1"
    page.keyboard.press("ArrowDown")
    assert _focused(page) == str(1 + cols)
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")  # stays at the first
    assert _focused(page) == "0"
    page.keyboard.press("End")
    assert _focused(page) == str(COUNT - 1)
    page.keyboard.press("Home")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    page.wait_for_selector(".lm-detail-title:text('Card 02')")
    page.keyboard.press("f")
    wait_for(lambda: server.api("GET", "/loras/k02")["favorite"] is True, timeout=10)
    page.wait_for_selector(".lm-card[data-index='2'] .lm-fav.lm-on")
    _card(page, 2).focus()
    page.keyboard.press("F")
    wait_for(lambda: server.api("GET", "/loras/k02")["favorite"] is False, timeout=10)
    _card(page, 3).focus()
    page.keyboard.press("Delete")  # the confirmation is accepted
    wait_for(lambda: not os.path.exists(lib / "k03.safetensors"), timeout=10)
    assert server.api("GET", "/loras/k03")["state"] == "trashed"
    server.api("POST", "/loras/k03/restore")
    _card(page, 0).focus()
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.classList.contains('lm-search')")
    page.keyboard.type("card 1")  # "/" itself is not typed into the box
    assert page.input_value(".lm-search") == "card 1"


def test_shift_click_range_and_ctrl_click(page):
    _card(page, 1).click()
    _card(page, 4).click(modifiers=["Shift"])
    page.wait_for_selector(".lm-bulkcount:text('4 selected')")
    picked = page.eval_on_selector_all(".lm-card.lm-picked", "els => els.map((e) => e.dataset.index)")
    assert sorted(picked) == ["1", "2", "3", "4"]
    _card(page, 7).click(modifiers=["Control"])
    page.wait_for_selector(".lm-bulkcount:text('5 selected')")
    _card(page, 2).click(modifiers=["Control"])
    page.wait_for_selector(".lm-bulkcount:text('4 selected')")
    assert not _card(page, 2).locator(".lm-check").is_checked()
    assert _card(page, 7).locator(".lm-check").is_checked()


def test_marquee_selects_the_cards_it_touches(page):
    page.set_viewport_size({"width": 1400, "height": 1300})  # empty grid below the rows, under the filter bar
    scroller = page.locator(".lm-scroller").bounding_box()
    last = _card(page, COUNT - 1).bounding_box()
    first = _card(page, 1).bounding_box()
    # from the empty part below the cards (at the right, off the scrollbar), up and left over every row
    below = min(last["y"] + last["height"] + 60, scroller["y"] + scroller["height"] - 10)
    start = (scroller["x"] + scroller["width"] - 40, below)
    end = (first["x"] + 20, first["y"] + 20)
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move((start[0] + end[0]) / 2, (start[1] + end[1]) / 2, steps=4)
    page.mouse.move(*end, steps=4)
    assert page.locator(".lm-marquee").is_visible()
    # the cards under the rectangle while it is drawn (the grid does not move meanwhile)
    x1, x2 = sorted([start[0], end[0]])
    y1, y2 = sorted([start[1], end[1]])
    inside = page.evaluate("""([x1, x2, y1, y2]) => [...document.querySelectorAll('.lm-card[data-index]')]
        .filter((el) => {
        const r = el.getBoundingClientRect(); return r.left < x2 && r.right > x1 && r.top < y2 && r.bottom > y1; })
        .map((el) => el.dataset.index).sort()""", [x1, x2, y1, y2])
    assert page.evaluate("window.getSelection().toString()") == ""  # no page text selected by the drag
    page.mouse.up()
    assert page.locator(".lm-marquee").count() == 0
    assert len(inside) >= 4
    picked = page.eval_on_selector_all(".lm-card.lm-picked", "els => els.map((e) => e.dataset.index).sort()")
    assert picked == inside
    assert page.inner_text(".lm-bulkcount") == f"{len(inside)} selected"
    assert "0" not in picked  # the first card stays out of the rectangle


def test_context_menu_of_a_card(page, served):
    server, lib = served
    _card(page, 5).click(button="right")
    menu = page.locator(".lm-menu")
    menu.wait_for()
    expected = ["Open", "Favorite", "Copy <lora:> tag", "Move…", "Move to trash"]
    assert menu.locator(".lm-menuitem").all_inner_texts() == expected
    assert page.evaluate("document.activeElement.classList.contains('lm-menuitem')")  # keyboard-ready
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")  # Favorite
    wait_for(lambda: server.api("GET", "/loras/k05")["favorite"] is True, timeout=10)
    assert menu.count() == 0
    _card(page, 5).click(button="right")
    page.click(".lm-menuitem:text('Copy <lora:> tag')")
    assert page.evaluate("window.LoraManager.clipboard") == "<lora:k05:1>"
    _card(page, 5).focus()
    page.keyboard.press("Shift+F10")  # the menu from the keyboard
    menu.wait_for()
    page.keyboard.press("Escape")
    assert menu.count() == 0 and _focused(page) == "5"
    _card(page, 5).click(button="right")
    page.click(".lm-menuitem:text('Move…')")
    page.wait_for_selector(".lm-moveform")
    assert page.locator(".lm-detail-title").inner_text() == "Card 05"
    _card(page, 6).click(button="right")
    page.click(".lm-menuitem:text('Move to trash')")
    wait_for(lambda: not os.path.exists(lib / "k06.safetensors"), timeout=10)
    page.select_option("select[aria-label='show']", "trashed")
    wait_for(lambda: page.inner_text(".lm-count") == "1 LoRA", timeout=10)
    _card(page, 0).click(button="right")
    items = page.locator(".lm-menu .lm-menuitem").all_inner_texts()
    assert items[-2:] == ["Restore", "Delete permanently"]
    page.click(".lm-menuitem:text('Restore')")
    wait_for(lambda: os.path.exists(lib / "k06.safetensors"), timeout=10)
    page.mouse.click(5, 5)  # a click elsewhere closes a menu
    page.select_option("select[aria-label='show']", "")
    _card(page, 0).click(button="right")
    page.mouse.click(5, 5)
    assert page.locator(".lm-menu").count() == 0


def test_chinese_from_the_browser_and_the_switch(browser, served):
    with tab_page(browser, served[0].base, UI, accept_dialogs=True, locale="zh-CN") as pg:
        assert pg.inner_text("button.lm-btn:has-text('重新扫描')") == "重新扫描"
        assert pg.inner_text(".lm-count") == f"{COUNT} 个 LoRA"
        assert pg.get_attribute(".lm-search", "placeholder").startswith("搜索")
        assert pg.get_attribute(".lm-app", "lang") == "zh-CN"
        pg.locator(".lm-card").first.click(button="right")
        assert pg.locator(".lm-menu .lm-menuitem").first.inner_text() == "打开"
        os.makedirs(OUTPUT_DIR, exist_ok=True)
        pg.screenshot(path=os.path.join(OUTPUT_DIR, "tab-zh-menu.png"))
        pg.keyboard.press("Escape")
        assert pg.input_value("select.lm-lang") == "zh-CN"
        pg.select_option("select.lm-lang", "en")  # remembered; the page draws again in English
        pg.wait_for_selector("button.lm-btn:text('Rescan')")
        pg.wait_for_selector(".lm-card:not(.lm-placeholder)")
        assert pg.inner_text(".lm-count") == f"{COUNT} LoRAs"
        pg.reload()
        pg.wait_for_selector("button.lm-btn:text('Rescan')")


def test_inside_sdnext_the_hosts_locale_setting_rules(page):
    """SDNext keeps its language in window.opts.ui_locale ('Auto': the browser's; else a code, maybe 'zh: ...')."""
    detect = """(locale) => { window.opts = { ui_locale: locale }; return window.LoraManager.i18n.detect(true); }"""
    assert page.evaluate(detect, "zh") == "zh-CN"
    assert page.evaluate(detect, "zh: Chinese") == "zh-CN"
    assert page.evaluate(detect, "Auto") == "en"  # this browser speaks English
    assert page.evaluate(detect, "de") == "en"  # no German table: English
    page.evaluate(detect, "zh")
    assert page.evaluate("window.LoraManager.t('bulk.selected', { n: 3 })") == "已选 3 个"
    assert page.evaluate("window.LoraManager.t('no.such.key')") == "no.such.key"
    # another file's own words join the table (English is the fallback of a language that lacks them)
    page.evaluate("""() => { const i = window.LoraManager.i18n;
        i.add('en', { 'x.hello': 'Hello {who}' }); i.add('zh-CN', { 'x.bye': '再见' }); }""")
    assert page.evaluate("window.LoraManager.t('x.hello', { who: 'Ann' })") == "Hello Ann"
    assert page.evaluate("window.LoraManager.t('x.bye')") == "再见"
