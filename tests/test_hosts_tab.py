"""Several hosts, one library, in a real browser: an edit made on one host shows in the other host's tab
within seconds (its status line looks every 3 s when the library is shared), and its prompt autocomplete
is told at once."""

from __future__ import annotations

import time

import pytest

pytest.importorskip("gradio")
pytest.importorskip("playwright.sync_api")

from .browser import ThreadServer, wait_for  # noqa: E402
from .loras import write_lora  # noqa: E402
from .test_hosts import _host, pg_url  # noqa: E402,F401

UI = "/lora-manager/ui/"


def test_an_edit_on_one_host_reaches_the_other_hosts_tab_within_seconds(browser, tmp_path, pg_url):  # noqa: F811
    lib = tmp_path / "lib"
    write_lora(lib / "c0.safetensors", seed=3)
    a = _host(tmp_path, pg_url, "host-a", lib)
    b = _host(tmp_path, pg_url, "host-b", lib)
    server = None
    try:
        a.scan(wait_hashes=True)
        for app in (a, b):
            assert app.hosts.notices.ready.wait(30)
        server = ThreadServer(b)
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        page = context.new_page()
        page.goto(server.base + UI)
        page.wait_for_selector(".lm-card[title='c0']")
        page.evaluate("""() => { window.__changed = 0;
            document.addEventListener('lora-manager:library-changed', () => { window.__changed += 1; }); }""")
        a.catalog.edit("c0", {"display_name": "Renamed on A"})
        started = time.monotonic()
        page.wait_for_selector(".lm-card:has-text('Renamed on A')", timeout=10000)  # the unshared poll: 15 s
        took = time.monotonic() - started
        wait_for(lambda: page.evaluate("window.__changed") >= 1, timeout=5)
        print(f"an edit on host A reached host B's tab in {took:.1f} s")
        context.close()
    finally:
        if server is not None:
            server.stop()
        a.close()
        b.close()
