"""The tab in a real browser: Chromium (Playwright) against the standalone server.

Search, filter, edit (persisted), bulk tag, favorite, table view, move, trash and
restore, copy and send-to-prompt, and hostile metadata shown as text. Screenshots
of the tab in the light and dark themes go to tests/output/.
"""

from __future__ import annotations

import os
import re
from urllib.parse import parse_qs, urlparse

import pytest

pytest.importorskip("gradio")
playwright_api = pytest.importorskip("playwright.sync_api")

from PIL import Image  # noqa: E402

from .browser import OUTPUT_DIR, Server, wait_for  # noqa: E402
from .loras import write_lora  # noqa: E402

HOSTILE = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
UI = "/lora-manager/ui/"


def _library(root) -> int:
    specs = [
        ("styles/ink_wash.safetensors", "sd1", {"modelspec.title": "Ink Wash", "modelspec.trigger_phrase": "inkwash"},
         (20, 20, 20)),
        ("styles/neon_city.safetensors", "xl",
         {"modelspec.title": "Neon City", "modelspec.trigger_phrase": "neoncity, glow"}, (200, 0, 200)),
        ("chars/mira.safetensors", "xl", {"modelspec.title": "Mira Character"}, (250, 200, 0)),
        ("chars/hostile.safetensors", "sd1", {"modelspec.title": HOSTILE, "modelspec.description": HOSTILE,
                                             "modelspec.trigger_phrase": HOSTILE}, None),
        ("misc/plain.v2.safetensors", "sd2", {}, None),
    ]
    for i, (rel, family, meta, color) in enumerate(specs):
        path = root / rel
        write_lora(path, family=family, seed=i + 1, metadata=meta)
        if color:
            Image.new("RGB", (64, 64), color).save(str(path)[: -len(".safetensors")] + ".preview.png")
    return len(specs)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("ui")
    lib = root / "lib"
    count = _library(lib)
    server = Server(str(lib), str(root / "data"), env={"LORA_MANAGER_WATCH_INTERVAL": "0"})
    try:
        server.settled(count)
        yield server, lib, count
    finally:
        print(server.stop())


@pytest.fixture
def page(browser, served):
    server = served[0]
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    # the page's Content-Security-Policy must refuse nothing the tab does
    pg.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
    pg.on("dialog", lambda d: d.accept())
    pg.goto(server.base + UI)
    pg.wait_for_selector(".lm-card:not(.lm-placeholder)")
    yield pg
    context.close()
    assert not errors, errors


def _by_name(server, prompt_name):
    return server.api("GET", f"/loras/{prompt_name}")


def _count(pg) -> str:
    return pg.inner_text(".lm-count")


def test_library_grid_shows_every_lora_and_measures_first_page(page, served):
    server, _, count = served
    assert page.locator(".lm-card:not(.lm-placeholder)").count() == count
    assert _count(page) == f"{count} LoRAs"
    names = page.locator(".lm-card-name").all_inner_texts()
    assert "Neon City" in names and "plain.v2" in names
    badges = page.locator(".lm-card:has-text('Neon City') .lm-badge").inner_text()
    assert badges == "SDXL"
    assert page.evaluate("window.LoraManager.metrics.firstPageMs") > 0
    img = page.locator(".lm-card:has-text('Neon City') img.lm-img")
    wait_for(lambda: img.evaluate("img => img.complete && img.naturalWidth") == 64, timeout=10)


def test_hostile_metadata_is_text_and_never_runs(page, served):
    server, _, _ = served
    assert HOSTILE in page.locator(".lm-card-name").all_inner_texts()
    page.locator(".lm-card", has_text="window.__pwned").first.click()
    page.wait_for_selector(".lm-detail-title")
    assert page.inner_text(".lm-detail-title") == HOSTILE
    assert HOSTILE in page.inner_text(".lm-detail")
    assert page.evaluate("window.__pwned") is None
    assert page.locator(".lm-app script, .lm-app img[src='x']").count() == 0


def _without_meta(stripped: list[int]):
    """A route handler serving the page with its mount point's data-meta taken out."""

    def strip(route):
        response = route.fetch()
        body, n = re.subn(r'data-meta=\\".*?\\"', "", response.text())
        stripped.append(n)
        route.fulfill(response=response, body=body)

    return strip


def test_menus_and_card_fields_come_from_the_server(browser, served):
    """The families (with labels) and a card's fields are the server's: from the page (data-meta), or
    from GET /meta when a page carries none."""
    server = served[0]
    meta = server.api("GET", "/meta")
    families = [("", "All base models")] + [(f["id"], f["label"]) for f in meta["families"]]
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        for inline in (True, False):
            pg = context.new_page()
            asked: list[str] = []
            errors: list[str] = []
            stripped: list[int] = []
            pg.on("request", lambda r, asked=asked: asked.append(r.url))
            pg.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
            if not inline:
                pg.route(server.base + UI, _without_meta(stripped))
            pg.goto(server.base + UI)
            pg.wait_for_selector(".lm-card:not(.lm-placeholder)")
            assert stripped == ([] if inline else [1])
            options = pg.eval_on_selector_all("select[aria-label='base model'] option",
                                              "os => os.map((o) => [o.value, o.textContent])")
            assert [tuple(o) for o in options] == families
            pages = [parse_qs(urlparse(u).query) for u in asked if "/loras?" in u]
            assert pages and all(p["fields"] == [",".join(meta["fields"]["card"])] for p in pages)
            assert any(urlparse(u).path.endswith("/meta") for u in asked) is not inline
            assert not errors, errors
            pg.close()
    finally:
        context.close()


def test_search_and_filters(page):
    page.fill(".lm-search", "neon")
    wait_for(lambda: _count(page) == "1 LoRA", timeout=10)
    assert page.locator(".lm-card-name").all_inner_texts() == ["Neon City"]
    assert page.evaluate("window.LoraManager.metrics.lastSearchMs") > 0
    page.fill(".lm-search", "")
    wait_for(lambda: _count(page) == "5 LoRAs", timeout=10)
    page.select_option("select[aria-label='base model']", "xl")
    wait_for(lambda: _count(page) == "2 LoRAs", timeout=10)
    assert sorted(page.locator(".lm-card-name").all_inner_texts()) == ["Mira Character", "Neon City"]
    page.select_option("select[aria-label='show']", "has_preview")
    wait_for(lambda: _count(page) == "2 LoRAs", timeout=10)
    page.select_option("select[aria-label='base model']", "")
    wait_for(lambda: _count(page) == "3 LoRAs", timeout=10)
    page.select_option("select[aria-label='show']", "no_preview")
    wait_for(lambda: _count(page) == "2 LoRAs", timeout=10)


def test_edit_is_saved_at_once_and_persists(page, served):
    server, _, _ = served
    page.locator(".lm-card", has_text="Ink Wash").click()
    page.wait_for_selector(".lm-detail-title:text('Ink Wash')")
    page.fill(".lm-detail input[name='tags']", "monochrome, traditional")
    page.press(".lm-detail input[name='tags']", "Tab")
    wait_for(lambda: sorted(_by_name(server, "ink_wash")["tags"]) == ["monochrome", "traditional"], timeout=10)
    page.fill(".lm-detail input[name='preferred_weight']", "0.7")
    page.press(".lm-detail input[name='preferred_weight']", "Tab")
    wait_for(lambda: _by_name(server, "ink_wash")["preferred_weight"] == 0.7, timeout=10)
    page.fill(".lm-detail textarea[name='notes']", "works best at low CFG <b>really</b>")
    page.press(".lm-detail textarea[name='notes']", "Tab")
    wait_for(lambda: _by_name(server, "ink_wash")["notes"] == "works best at low CFG <b>really</b>", timeout=10)
    page.select_option(".lm-detail select[name='base_model']", "sd2")
    wait_for(lambda: _by_name(server, "ink_wash")["base_model"] == "sd2", timeout=10)
    page.select_option(".lm-detail select[name='base_model']", "")
    wait_for(lambda: _by_name(server, "ink_wash")["base_model"] == "sd1", timeout=10)
    assert page.inner_text(".lm-tagline") == "<lora:ink_wash:0.7>, inkwash"
    page.click(".lm-detail button:text('Copy tag')")  # the actions use the edited weight too
    assert page.evaluate("window.LoraManager.clipboard") == "<lora:ink_wash:0.7>, inkwash"
    page.reload()
    page.wait_for_selector(".lm-card:not(.lm-placeholder)")
    page.locator(".lm-card", has_text="Ink Wash").click()
    page.wait_for_selector(".lm-detail-title:text('Ink Wash')")
    assert page.input_value(".lm-detail input[name='tags']") == "monochrome, traditional"
    assert page.input_value(".lm-detail textarea[name='notes']") == "works best at low CFG <b>really</b>"
    # a bad value is refused with a clear message, and nothing else changes
    page.fill(".lm-detail input[name='weight_min']", "99")
    page.press(".lm-detail input[name='weight_min']", "Tab")
    page.wait_for_selector(".lm-detail [data-status='weight_min'].lm-bad")
    assert _by_name(server, "ink_wash")["preferred_weight"] == 0.7


def test_favorite_from_the_card(page, served):
    server, _, _ = served
    star = page.locator(".lm-card:has-text('Mira Character') .lm-fav")
    star.click()
    wait_for(lambda: _by_name(server, "mira")["favorite"] is True, timeout=10)
    page.wait_for_selector(".lm-card:has-text('Mira Character') .lm-fav.lm-on")
    page.select_option("select[aria-label='show']", "favorite")
    wait_for(lambda: _count(page) == "1 LoRA", timeout=10)
    page.locator(".lm-card:has-text('Mira Character') .lm-fav").click()
    wait_for(lambda: _by_name(server, "mira")["favorite"] is False, timeout=10)


def test_bulk_tag_and_untag(page, served):
    server, _, _ = served
    for name in ("Neon City", "Mira Character"):
        page.locator(".lm-card", has_text=name).locator(".lm-check").check()
    assert page.inner_text(".lm-bulkcount") == "2 selected"
    page.fill("input[aria-label='bulk tag']", "bulk-test")
    page.click(".lm-bulkbar button:text('Add tag')")
    wait_for(
        lambda: (
            "bulk-test" in _by_name(server, "neon_city")["tags"] and "bulk-test" in _by_name(server, "mira")["tags"]
        ),
        timeout=10,
    )
    assert "bulk-test" not in _by_name(server, "ink_wash")["tags"]
    page.fill(".lm-taginput", "bulk-test")
    page.press(".lm-taginput", "Enter")
    wait_for(lambda: _count(page) == "2 LoRAs", timeout=10)
    assert page.locator(".lm-bulkbar").is_hidden()  # a new filter starts a new selection
    page.click("button:text('Select all')")
    page.wait_for_selector(".lm-bulkcount:text('2 selected')")
    page.click(".lm-bulkbar button:text('Remove tag')")
    wait_for(lambda: "bulk-test" not in _by_name(server, "neon_city")["tags"], timeout=10)
    page.fill(".lm-taginput", "")
    page.press(".lm-taginput", "Enter")
    page.select_option("select[aria-label='base model']", "xl")
    wait_for(lambda: _count(page) == "2 LoRAs", timeout=10)
    page.click("button:text('Select all')")
    page.wait_for_selector(".lm-bulkcount:text('2 selected')")
    page.click(".lm-bulkbar button:text('Favorite')")
    wait_for(lambda: _by_name(server, "neon_city")["favorite"] and _by_name(server, "mira")["favorite"], timeout=10)
    assert not _by_name(server, "ink_wash")["favorite"]
    page.click(".lm-bulkbar button:text('Unfavorite')")
    wait_for(lambda: not _by_name(server, "mira")["favorite"], timeout=10)


def test_table_view(page):
    page.click("button:text('Table view')")
    page.wait_for_selector(".lm-row.lm-head")
    assert page.locator(".lm-row:not(.lm-head):not(.lm-placeholder)").count() == 5
    assert "Neon City" in page.locator(".lm-cell-name").all_inner_texts()
    page.click("button:text('Grid view')")
    page.wait_for_selector(".lm-card")


def test_copy_and_send_to_a_host_prompt_box(page, served):
    # The host's element ids: SDNext's txt2img prompt box, added as the host would.
    page.evaluate("""() => {
        const d = document.createElement('div'); d.id = 'txt2img_prompt';
        const t = document.createElement('textarea'); t.value = 'a castle';
        t.addEventListener('input', () => { window.__inputs = (window.__inputs || 0) + 1; });
        d.append(t); document.body.append(d);
    }""")
    page.locator(".lm-card", has_text="Neon City").click()
    page.wait_for_selector(".lm-detail-title:text('Neon City')")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.click(".lm-detail button:text('Copy tag')")
    page.wait_for_selector(".lm-toast:has-text('Copied')")
    assert page.evaluate("navigator.clipboard.readText()") == "<lora:neon_city:1>, neoncity, glow"
    page.click(".lm-detail button:text('To txt2img')")
    assert page.input_value("#txt2img_prompt textarea") == "a castle, <lora:neon_city:1>, neoncity, glow"
    assert page.evaluate("window.__inputs") == 1


def test_move_trash_and_restore(page, served):
    server, lib, _ = served
    page.locator(".lm-card", has_text="plain.v2").click()
    page.wait_for_selector(".lm-detail-title:text('plain.v2')")
    page.click(".lm-detail button:text('Move / rename')")
    page.fill(".lm-moveform input[name='folder']", "moved")
    page.fill(".lm-moveform input[name='new_name']", "plain_renamed")
    page.click(".lm-moveform button:text('Move')")
    wait_for(lambda: os.path.exists(lib / "moved" / "plain_renamed.safetensors"), timeout=10)
    assert not os.path.exists(lib / "misc" / "plain.v2.safetensors")
    page.wait_for_selector(".lm-detail-title:text('plain_renamed')")
    page.click(".lm-detail button:text('Delete')")
    wait_for(lambda: not os.path.exists(lib / "moved" / "plain_renamed.safetensors"), timeout=10)
    page.wait_for_selector(".lm-detail button:text('Restore')")
    page.click(".lm-detail button:text('Restore')")
    wait_for(lambda: os.path.exists(lib / "moved" / "plain_renamed.safetensors"), timeout=10)
    assert server.api("GET", "/loras/plain_renamed")["state"] == "ok"


def test_screenshots_light_and_dark(browser, served):
    server = served[0]
    os.makedirs(OUTPUT_DIR, exist_ok=True)
    for theme in ("light", "dark"):
        context = browser.new_context(viewport={"width": 1400, "height": 860}, color_scheme=theme)
        pg = context.new_page()
        pg.goto(server.base + UI + f"?__theme={theme}")
        pg.wait_for_selector(".lm-card:not(.lm-placeholder) img.lm-img")
        pg.locator(".lm-card", has_text="Neon City").click()
        pg.wait_for_selector(".lm-detail-title:text('Neon City')")
        pg.wait_for_timeout(300)
        path = os.path.join(OUTPUT_DIR, f"tab-{theme}.png")
        pg.screenshot(path=path)
        dark = pg.evaluate("document.body.classList.contains('dark') || !!document.querySelector('.dark')")
        assert dark == (theme == "dark")
        context.close()
        assert os.path.getsize(path) > 10_000


def test_inside_sdnext_requests_carry_the_signed_in_users_token(browser, served):
    """SDNext (--auth) hands its page a token at {subpath}/token and expects
    `Authorization: Basic user:token` on API calls, as its own scripts send."""
    import base64

    server = served[0]
    context = browser.new_context()
    context.add_init_script("""window.subpath = '';
        document.addEventListener('DOMContentLoaded', () => {  // the host's prompt box
            const d = document.createElement('div'); d.id = 'txt2img_prompt';
            d.append(document.createElement('textarea')); document.body.append(d);
        });""")
    context.route("**/token", lambda route: route.fulfill(json={"user": "ann", "token": "t0k"}))
    # images behind the host's auth: a plain <img> request (no header) is refused
    context.route("**/previews/**", lambda route: route.continue_() if route.request.headers.get("authorization")
                  else route.fulfill(status=401, body="unauthorized"))
    seen = {}
    pg = context.new_page()
    pg.on("request", lambda r: seen.setdefault(r.url.split("?")[0].rsplit("/", 1)[-1], r.headers.get("authorization")))
    pg.goto(server.base + UI)
    pg.wait_for_selector(".lm-card:not(.lm-placeholder)")
    for _ in range(100):  # Playwright delivers request events only while it is called: wait through it
        if "autocomplete" in seen:
            break
        pg.wait_for_timeout(100)
    expected = "Basic " + base64.b64encode(b"ann:t0k").decode()
    assert seen["loras"] == expected and seen["system"] == expected and seen["autocomplete"] == expected
    img = pg.locator(".lm-card:has-text('Neon City') img.lm-img")
    pg.wait_for_function("img => img.src.startsWith('blob:') && img.complete && img.naturalWidth === 64",
                         arg=img.element_handle())
    # recommendation feedback is the signed-in user's
    with pg.expect_request("**/recommendations/feedback") as sent:
        pg.evaluate("window.LoraManager.recommend.feedback({lora: {id: 1}}, 'dismiss')")
    assert sent.value.post_data_json == {"key": "1", "action": "dismiss", "user": "ann"}
    context.close()


def test_recommendations_panel_and_similar_loras(page, served):
    server = served[0]
    wait_for(lambda: server.api("GET", "/recommendations/status")["mode"] == "semantic"
             and not server.api("GET", "/recommendations/status")["build"]["running"], timeout=180)
    page.evaluate("""() => {
        const d = document.createElement('div'); d.id = 'txt2img_prompt';
        const t = document.createElement('textarea'); t.value = 'glowing signs in a rainy city street at night';
        d.append(t); document.body.append(d);
    }""")
    page.click(".lm-tab:text('Recommendations')")
    page.wait_for_selector(".lm-mode:has-text('semantic')")
    page.click(".lm-rec-panel button:text('From txt2img')")
    page.wait_for_selector(".lm-rec")
    first = page.locator(".lm-rec").first
    assert first.locator(".lm-rec-name").inner_text() == "Neon City"
    assert first.locator(".lm-reason").count() >= 1
    assert HOSTILE not in page.locator(".lm-rec-name").all_inner_texts() or page.evaluate("window.__pwned") is None
    first.locator("button:text('Add to txt2img')").click()
    assert page.input_value("#txt2img_prompt textarea").endswith("<lora:neon_city:1.0>, neoncity, glow")
    count = page.locator(".lm-rec").count()
    page.locator(".lm-rec").last.locator("button[aria-label='thumbs down']").click()
    wait_for(lambda: page.locator(".lm-rec").count() == count - 1, timeout=10)
    page.click(".lm-tab:text('Library')")
    page.locator(".lm-card", has_text="Ink Wash").click()
    page.wait_for_selector(".lm-similar li a")
    assert "Ink Wash" not in page.locator(".lm-similar li a").all_inner_texts()


def test_rescan_button_shows_new_files(page, served):
    """(Last in this module: it adds a sixth LoRA to the shared library.)"""
    server, lib, count = served
    write_lora(lib / "new" / "fresh_arrival.safetensors", seed=99, metadata={"modelspec.title": "Fresh Arrival"})
    page.click("button:text('Rescan')")
    wait_for(lambda: _count(page) == f"{count + 1} LoRAs", timeout=20)
    assert "Fresh Arrival" in page.locator(".lm-card-name").all_inner_texts()
    wait_for(lambda: "files indexed" in page.inner_text(".lm-status"), timeout=20)
