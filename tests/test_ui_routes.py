"""Every route of the standalone server, probed over real HTTP with and without the key.

The routes are read from the app itself, gradio's own ones included (the tab is a
gradio app mounted below /lora-manager/ui): a route gradio adds in some version
is probed as well. Only the page shells (the tab, /docs) and their static files
answer without the key; gradio's file, upload, proxy and queue routes answer 404
with or without it, read nothing from disk and reach no other server.
"""

from __future__ import annotations

import re
import socket

import httpx
import pytest

pytest.importorskip("gradio")

from lora_manager.app import build  # noqa: E402
from lora_manager.settings import Settings  # noqa: E402
from starlette.routing import Mount, WebSocketRoute  # noqa: E402

from .browser import ThreadServer  # noqa: E402
from .loras import write_lora  # noqa: E402

KEY = "s3cret-key"
UI = "/lora-manager/ui"
# What answers without the key: page shells and their static files, none of which holds library data.
PUBLIC = {
    ("GET", "/"), ("GET", "/docs"), ("GET", "/openapi.json"), ("GET", "/lora-manager/v1/health"),
    ("GET", "/lora-manager/assets/{name}"), ("GET", "/docs/assets/{name}"),
    ("GET", UI + "/"), ("GET", UI + "/assets/{path:path}"), ("GET", UI + "/theme.css"),
}
SAMPLE = {"name": "lora_manager_tab.js", "path": "index-2576a72b.js", "key": "1", "job_id": "1", "index": "0",
          "api_name": "predict", "path_or_url": "pyproject.toml", "url_path": "pyproject.toml"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("routes")
    write_lora(root / "lib" / "one.safetensors")
    core = build(Settings(lora_dirs=[str(root / "lib")], data_dir=str(root / "data"), api_key=KEY))
    core.scan(wait_hashes=True)
    srv = ThreadServer(core)
    yield srv
    srv.stop()
    core.close()


def _routes(app):
    """(method, path template, is_websocket) of every route, mounted apps included."""
    found = []

    def walk(routes, prefix):
        for r in routes:
            if isinstance(r, Mount):
                walk(r.routes, prefix + r.path)
            elif isinstance(r, WebSocketRoute):
                found.append(("WS", prefix + r.path, True))
            else:
                for m in sorted(getattr(r, "methods", None) or {"GET"}):
                    found.append((m, prefix + r.path, False))

    walk(app.routes, "")
    return found


def _concrete(path: str) -> str:
    path = path.replace(UI + "/assets/{path:path}", UI + "/assets/" + _gradio_asset())
    path = path.replace("/docs/assets/{name}", "/docs/assets/swagger-ui.css")
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: SAMPLE.get(m.group(1), "x"), path)


def _gradio_asset() -> str:
    import os

    import gradio.routes

    return sorted(n for n in os.listdir(gradio.routes.BUILD_PATH_LIB) if n.endswith(".js"))[0]


def test_the_page_shell_and_api_answer_with_the_key(server):
    """First of the module: the probe below sends every route with the key, DELETE /loras/1 included."""
    page = httpx.get(server.base + UI + "/", timeout=10)
    assert page.status_code == 200 and 'lm-app' in page.text
    assert httpx.get(server.base + "/lora-manager/v1/loras", timeout=10).status_code == 401
    r = httpx.get(server.base + "/lora-manager/v1/loras", headers={"X-API-Key": KEY}, timeout=10)
    assert r.status_code == 200 and r.json()["total"] == 1


def test_every_route_demands_the_key_or_is_a_public_page(server):
    routes = _routes(server.app)
    gradio = [r for r in routes if r[1].startswith(UI + "/")]
    assert len(gradio) > 20, gradio  # gradio's own table was found, not just ours
    assert any("file=" in p for _, p, _ in gradio) and any(p.endswith("/upload") for _, p, _ in gradio)
    seen_public = set()
    for method, template, ws in routes:
        if ws:
            continue  # below
        url = server.base + _concrete(template)
        for headers in ({}, {"X-API-Key": KEY}):
            with httpx.stream(method, url, headers=headers, timeout=10, follow_redirects=False) as r:
                if "event-stream" not in r.headers.get("content-type", ""):  # the progress stream never ends
                    r.read()
            where = f"{method} {template} key={bool(headers)} -> {r.status_code}"
            if ("GET" if method == "HEAD" else method, template) in PUBLIC:
                assert r.status_code in (200, 307), where
                seen_public.add((method, template))
            elif template.startswith(UI + "/") or template == UI:
                # gradio's routes the tab does not use are not there, key or not
                assert r.status_code == 404, where
                assert b"[project]" not in r.read(), where
            elif not headers:
                assert r.status_code == 401, where
            else:
                assert r.status_code != 401, where
    assert seen_public >= {("GET", UI + "/"), ("GET", "/docs"), ("GET", UI + "/assets/{path:path}")}


def test_gradio_websockets_are_refused(server):
    from websockets.exceptions import InvalidStatus, InvalidHandshake
    from websockets.sync.client import connect

    sockets = [p for m, p, ws in _routes(server.app) if ws]
    assert sockets, "gradio's queue socket was expected in the table"
    for path in sockets:
        for headers in ({}, {"X-API-Key": KEY}):
            with pytest.raises((InvalidStatus, InvalidHandshake)):
                with connect(f"ws://127.0.0.1:{server.port}{_concrete(path)}", additional_headers=headers,
                             open_timeout=10) as ws:
                    ws.recv(timeout=5)


def test_no_file_is_read_or_stored_through_the_tab(server, tmp_path):
    for path in ("file=pyproject.toml", "file=/etc/passwd", "file/pyproject.toml", "file=tests/../pyproject.toml"):
        for headers in ({}, {"X-API-Key": KEY}):
            r = httpx.get(f"{server.base}{UI}/{path}", headers=headers, timeout=10)
            assert r.status_code == 404 and b"[project]" not in r.content and b"root:" not in r.content, path
    for headers in ({}, {"X-API-Key": KEY}):
        r = httpx.post(f"{server.base}{UI}/upload", files={"files": ("x.txt", b"hello")}, headers=headers, timeout=10)
        assert r.status_code == 404, r.text


def test_the_tab_never_calls_out_and_the_server_stays_up(server):
    """gradio's file route HEADs a URL it is given (no timeout, on the event loop):
    a server that never answers would hang the whole app. Nothing may connect out."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        silent.setblocking(False)
        port = silent.getsockname()[1]
        for path in (f"file=http://127.0.0.1:{port}/x", f"proxy=http://127.0.0.1:{port}/x"):
            for headers in ({}, {"X-API-Key": KEY}):
                r = httpx.get(f"{server.base}{UI}/{path}", headers=headers, timeout=20)
                assert r.status_code == 404, path
        assert httpx.get(server.base + "/lora-manager/v1/health", timeout=20).status_code == 200
        with pytest.raises(BlockingIOError):
            silent.accept()  # nobody connected to it
