"""The prompt autocomplete in a real browser (headless Chromium through Playwright) against
the standalone server over a generated library, on a page shaped like the host's:
its prompt box ids, `opts`, `gradioApp`, `onUiLoaded` (or none of them)."""

from __future__ import annotations

import json

import httpx
import pytest

from .loras import write_lora

P = "/lora-manager/v1"
BOXES = ("txt2img_prompt", "txt2img_neg_prompt", "img2img_prompt", "img2img_neg_prompt", "control_prompt",
         "control_neg_prompt")
HOSTILE_TITLE = '<img src=x onerror="window.__pwned=1">'
HOSTILE_TRIGGER = "<script>window.__pwned=2</script>"
HOSTILE_FILE = "evil<img src=y onerror=window.__pwned=3>"


def host_page(opts: dict | None = None, helpers: bool = True) -> str:
    boxes = "\n".join(
        f'<div id="{b}"><label><span>{b}</span><textarea rows="3" cols="60"></textarea></label></div>' for b in BOXES
    )
    script = f"var opts = {json.dumps(opts or {})};\n"
    if helpers:
        script += """
        var uiLoadedCallbacks = [];
        function onUiLoaded(fn) { uiLoadedCallbacks.push(fn); }
        function gradioApp() { return document; }
        document.addEventListener('DOMContentLoaded', function () {
            uiLoadedCallbacks.forEach(function (f) { f(); });
        });
        """
    return f"""<!doctype html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="/lora-manager/assets/style.css">
<script>{script}
// the host's own autocomplete, as a stand-in: it sees every key that reaches the box
window.hostKeys = [];
document.addEventListener('keydown', function (e) {{
    if (e.target.tagName === 'TEXTAREA') window.hostKeys.push(e.key);
}});
</script>
<script defer src="/lora-manager/assets/lora_manager_autocomplete.js"></script>
<script defer src="/lora-manager/assets/lora_manager_autocomplete_caret.js"></script>
<script defer src="/lora-manager/assets/lora_manager_autocomplete_index.js"></script>
</head><body class="gradio-container"><div id="tabs">{boxes}</div></body></html>"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from .browser import standalone_server

    lib = tmp_path_factory.mktemp("lib")
    write_lora(lib / "chars" / "alice.v2.safetensors", metadata={
        "modelspec.trigger_phrase": "alicewonder, blue hair", "modelspec.title": "Alice in Pixels",
        "ss_output_name": "alice_final"})
    write_lora(lib / "aliceblue_style.safetensors", family="xl", seed=2)
    from PIL import Image

    Image.new("RGB", (4, 4), (200, 40, 40)).save(lib / "aliceblue_style.preview.png")
    write_lora(lib / "neon_city.safetensors", seed=3, metadata={"modelspec.tags": "cyberpunk, night"})
    write_lora(lib / f"{HOSTILE_FILE}.safetensors", seed=4, metadata={
        "modelspec.title": HOSTILE_TITLE, "modelspec.trigger_phrase": HOSTILE_TRIGGER})
    with standalone_server(lib, tmp_path_factory.mktemp("data")) as base:
        edit = {"preferred_weight": 0.65, "tags": ["portrait"]}
        assert httpx.patch(f"{base}{P}/loras/alice_v2", json=edit).status_code == 200
        yield base


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    def open_host(opts=None, helpers=True, wait=True):
        html = host_page(opts, helpers)
        page.route(f"{server}/host.html", lambda route: route.fulfill(status=200, content_type="text/html", body=html))
        page.goto(f"{server}/host.html")
        page.wait_for_function("() => window.loraManagerAutocomplete"
                               " && (window.loraManagerAutocomplete.state.index || !%s)"
                               % ("true" if wait else "false"))
        return page

    page.open_host = open_host
    yield page
    context.close()
    assert errors == []


def box(page, bid):
    return page.locator(f"#{bid} textarea")


def items(page):
    page.wait_for_selector("#lora_manager_autocomplete:not([hidden]) .lm-ac-item")
    return page.locator("#lora_manager_autocomplete .lm-ac-item:not([hidden])")


@pytest.mark.parametrize("bid", BOXES)
def test_lora_tag_completes_in_every_prompt_box(page, bid):
    page.open_host({"lora_manager_autocomplete_triggers": False})
    ta = box(page, bid)
    ta.click()
    ta.type("a cat, <lora:alic")
    rows = items(page)
    assert "Alice in Pixels" in rows.first.inner_text()
    ta.press("Enter")
    assert ta.input_value() == "a cat, <lora:alice_v2:0.65>"  # the prompt name, never the alias
    assert page.locator("#lora_manager_autocomplete").is_hidden()


def test_keyboard_mouse_and_triggers(page):
    page.open_host()  # triggers are inserted by default
    ta = box(page, "txt2img_prompt")
    ta.click()
    ta.type("alice")
    rows = items(page)
    names = [rows.nth(i).locator(".lm-ac-sub").inner_text().split(" ")[0] for i in range(rows.count())]
    assert names[:2] == ["alice_v2", "aliceblue_style"]
    ta.press("ArrowDown")
    assert "lm-ac-active" in rows.nth(1).get_attribute("class")
    ta.press("ArrowUp")
    ta.press("Tab")
    assert ta.input_value() == "alicewonder, blue hair, <lora:alice_v2:0.65>"
    # a trigger word finds its LoRA; the mouse picks; a trigger already in the prompt is not repeated
    ta.type(", blue ha")
    rows = items(page)
    assert rows.count() == 1
    rows.first.click()
    assert ta.input_value() == "alicewonder, blue hair, <lora:alice_v2:0.65>, <lora:alice_v2:0.65>"
    assert page.evaluate("document.activeElement.closest('#txt2img_prompt') !== null")


def test_tags_base_badge_preview_and_lazy_image(page):
    page.open_host()
    ta = box(page, "img2img_prompt")
    ta.click()
    ta.type("cyberp")
    rows = items(page)
    assert rows.count() == 1 and "neon_city" in rows.first.inner_text()
    assert rows.first.locator(".lm-ac-base").inner_text() == "sd1"
    ta.press("Escape")
    ta.type(" aliceblu")
    row = items(page).first
    assert row.locator(".lm-ac-base").inner_text() == "xl" and row.locator(".lm-ac-weight").inner_text() == "1"
    # loaded once its row shows, from the preview route
    page.wait_for_function("(i => i && i.complete && i.naturalWidth === 4 && i.src.indexOf('/previews/0') > 0)"
                           "(document.querySelector('#lora_manager_autocomplete .lm-ac-thumb img'))")


def test_never_steals_keys_when_closed(page):
    page.open_host()
    ta = box(page, "txt2img_prompt")
    ta.click()
    ta.type("a")  # one letter: no list
    ta.press("Enter")
    ta.press("Tab")
    assert ta.input_value() == "a\n"
    assert page.evaluate("window.hostKeys") == ["a", "Enter", "Tab"]
    ta.focus()
    page.evaluate("window.hostKeys = []")
    ta.type("neon")
    items(page)
    ta.press("ArrowDown")  # ours while open: the host does not see it
    ta.press("Escape")
    assert page.locator("#lora_manager_autocomplete").is_hidden()
    ta.press("Enter")  # closed again: a newline, and the host sees it
    assert ta.input_value() == "a\nneon\n"
    assert page.evaluate("window.hostKeys") == ["n", "e", "o", "n", "Enter"]


def test_closes_on_blur(page):
    page.open_host()
    ta = box(page, "control_prompt")
    ta.click()
    ta.type("<lora:")
    assert items(page).count() == 4  # a bare <lora: lists everything (up to the limit)
    box(page, "control_neg_prompt").focus()
    assert page.locator("#lora_manager_autocomplete").is_hidden()
    ta.focus()
    ta.type("neo")
    items(page)
    page.mouse.click(1090, 790)  # outside the box and the list
    assert page.locator("#lora_manager_autocomplete").is_hidden()


def test_hostile_metadata_is_text_never_markup(page):
    page.open_host()
    ta = box(page, "txt2img_prompt")
    ta.click()
    ta.type("<lora:evil")
    row = items(page).first
    assert row.locator(".lm-ac-name").inner_text() == HOSTILE_TITLE
    assert HOSTILE_TRIGGER in row.locator(".lm-ac-sub").inner_text()
    assert page.locator("#lora_manager_autocomplete script, #lora_manager_autocomplete img[onerror]").count() == 0
    ta.press("Enter")
    page.wait_for_timeout(300)  # an onerror would have fired by now
    assert page.evaluate("window.__pwned") is None
    assert ta.input_value() == f"{HOSTILE_TRIGGER}, <lora:{HOSTILE_FILE.replace('.', '_')}:1>"


def test_works_without_the_host_helpers(page):
    page.open_host(helpers=False)
    ta = box(page, "txt2img_neg_prompt")
    ta.click()
    ta.type("neon")
    items(page)
    ta.press("Enter")
    assert ta.input_value() == "<lora:neon_city:1>"


def test_turned_off_by_the_setting(page):
    page.open_host({"lora_manager_autocomplete": False}, wait=False)
    ta = box(page, "txt2img_prompt")
    ta.click()
    ta.type("<lora:neon")
    ta.press("Enter")
    assert ta.input_value() == "<lora:neon\n" and page.evaluate("window.loraManagerAutocomplete.state.index") is None


def test_gradio_sees_the_change_and_the_index_follows_the_library(page, server):
    page.open_host({"lora_manager_autocomplete_triggers": False})
    statuses = []
    page.on("response", lambda r: statuses.append(r.status) if "/autocomplete" in r.url else None)
    page.evaluate("""window.inputs = []; document.querySelector('#txt2img_prompt textarea')
        .addEventListener('input', function (e) { window.inputs.push(e.target.value); });""")
    ta = box(page, "txt2img_prompt")
    ta.click()
    ta.type("<lora:neo")
    items(page)
    ta.press("Enter")
    assert page.evaluate("window.inputs")[-1] == "<lora:neon_city:1>"
    assert page.evaluate("window.loraManagerAutocomplete.load().then(function () { return 1; })") == 1
    assert statuses == [304]  # unchanged: nothing downloaded again
    assert httpx.patch(f"{server}{P}/loras/neon_city", json={"preferred_weight": 0.4}).status_code == 200
    page.evaluate("window.loraManagerAutocomplete.load()")
    page.wait_for_function("() => window.loraManagerAutocomplete.search('neon_city')[0].weight === 0.4")
    assert statuses == [304, 200]
    httpx.patch(f"{server}{P}/loras/neon_city", json={"preferred_weight": None})


def payload(entries, family=None):
    cols = {k: [] for k in ("id", "prompt_name", "name", "title", "alias", "base", "weight", "triggers", "tags", "uses",
                            "last_used", "preview")}
    for i, e in enumerate(entries):
        row = {"id": i + 1, "name": None, "title": None, "alias": None, "base": None, "weight": None, "triggers": [],
               "tags": [], "uses": 0, "last_used": None, "preview": None, **e}
        for k in cols:
            cols[k].append(row[k])
    return {"version": f"test-{family}", "count": len(entries), "checkpoint_family": family, "columns": cols}


def test_ranking_by_match_then_use_and_unfitting_bases(page, server):
    import time

    now = int(time.time())
    data = payload([
        {"prompt_name": "catgirl_rare", "base": "xl"},
        {"prompt_name": "catgirl_daily", "base": "xl", "uses": 40, "last_used": now - 3600},
        {"prompt_name": "catgirl_old", "base": "xl", "uses": 40, "last_used": now - 400 * 86400},
        {"prompt_name": "catgirl_sd1", "base": "sd1", "uses": 500, "last_used": now},
        {"prompt_name": "cat", "base": "xl"},
        {"prompt_name": "style_x", "base": "xl", "triggers": ["catgirl ears"], "uses": 900, "last_used": now},
    ], family="xl")
    page.route(f"{server}{P}/autocomplete", lambda route: route.fulfill(status=200, content_type="application/json",
                                                                         body=json.dumps(data),
                                                                         headers={"ETag": '"test-xl"'}))
    page.open_host()

    def ranked(q):
        return page.evaluate("q => window.loraManagerAutocomplete.search(q).map(e => e.prompt_name)", q)

    assert ranked("cat")[0] == "cat"  # exact name first, even unused
    assert ranked("catgirl") == ["catgirl_daily", "catgirl_old", "catgirl_rare", "catgirl_sd1", "style_x"]
    marks = page.evaluate("window.loraManagerAutocomplete.search('catgirl_sd').map(e => e.incompatible)")
    assert marks == [True]
    page.evaluate("opts.lora_manager_autocomplete_incompatible = 'hide'")
    assert "catgirl_sd1" not in ranked("catgirl") and "catgirl_sd1" not in ranked("")
    ta = box(page, "txt2img_prompt")
    ta.click()
    ta.type("catgirl e")  # the phrase is a trigger word's prefix
    assert items(page).count() == 1
