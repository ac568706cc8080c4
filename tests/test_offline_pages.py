"""The standalone tab and /docs in a real browser ask nothing of any other host:
they render on a machine without internet (as this one is), and with the page's
Content-Security-Policy in force nothing the tab needs is refused."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

pytest.importorskip("gradio")
pytest.importorskip("playwright.sync_api")

from .browser import Server, wait_for  # noqa: E402
from .loras import write_lora  # noqa: E402

LOCAL = {"127.0.0.1", "localhost"}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("offline")
    write_lora(root / "lib" / "one.safetensors")
    server = Server(str(root / "lib"), str(root / "data"), env={"LORA_MANAGER_WATCH_INTERVAL": "0"})
    try:
        server.settled(1)
        yield server
    finally:
        print(server.stop())


def _visit(browser, url, ready):
    """Open `url`, wait for `ready`; returns (outside requests, CSP refusals, page errors)."""
    context = browser.new_context()
    page = context.new_page()
    outside, refused, errors = [], [], []

    def on_request(request):
        host = urlsplit(request.url).hostname
        if request.url.startswith(("http:", "https:", "ws:", "wss:")) and host not in LOCAL:
            outside.append(request.url)

    page.on("request", on_request)
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(url)
        page.wait_for_selector(ready, timeout=30_000)
        page.wait_for_load_state("networkidle")
        return outside, refused, errors, page.title()
    finally:
        context.close()


def test_the_tab_page_asks_no_other_host(browser, served):
    outside, refused, errors, _ = _visit(browser, served.base + "/lora-manager/ui/", ".lm-card:not(.lm-placeholder)")
    assert outside == [], outside
    assert refused == [], refused
    assert errors == [], errors


def test_docs_render_offline(browser, served):
    outside, refused, errors, title = _visit(browser, served.base + "/docs", ".swagger-ui .opblock-summary-path")
    assert outside == [], outside
    assert refused == [], refused
    assert errors == [], errors
    assert "LoRA Manager" in title


def test_the_keyed_tab_asks_for_the_key_and_then_works(browser, tmp_path):
    """With --api-key the page itself loads, asks for the key, and shows the library once given it."""
    write_lora(tmp_path / "lib" / "one.safetensors")
    server = Server(str(tmp_path / "lib"), str(tmp_path / "data"), "--api-key", "k3y",
                    env={"LORA_MANAGER_WATCH_INTERVAL": "0"})
    wait_for(lambda: server.api("GET", "/loras", headers={"X-API-Key": "k3y"})["total"] == 1)
    context = browser.new_context()
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
    try:
        page.goto(server.base + "/lora-manager/ui/")
        page.wait_for_selector(".lm-keyform input")
        page.fill(".lm-keyform input", "k3y")
        page.click(".lm-keyform button")
        page.wait_for_selector(".lm-card:not(.lm-placeholder)", timeout=30_000)
        assert errors == [], errors
    finally:
        context.close()
        print(server.stop())
