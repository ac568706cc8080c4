"""Shared pieces for tests in a real browser: Chromium through Playwright, and the
standalone server as a user runs it (a real uvicorn process on 127.0.0.1).

`browser` (session fixture) yields a Playwright Browser on Debian's headless
Chromium: /usr/bin/chromium, or the path in LORA_MANAGER_CHROMIUM. Without the
variable a missing Chromium skips the tests; with it set (as CI does) a missing
one fails them. `live_server` (fixture) starts a standalone server over a folder
and hands back its base URL; `standalone_server` is the same as a context manager.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager

import httpx
import pytest

CHROMIUM_ENV = "LORA_MANAGER_CHROMIUM"
CHROMIUM_DEFAULT = "/usr/bin/chromium"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
P = "/lora-manager/v1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def tab_page(browser, base: str, path: str = "/lora-manager/ui/", width: int = 1400, height: int = 900,
             accept_dialogs: bool = False, **options):
    """The tab of the server at `base` in a fresh page (`options`: the browser context's, e.g. locale,
    color_scheme), once its first cards are drawn; fails afterwards on any page error or refusal of the
    Content-Security-Policy. `accept_dialogs`: confirm() and alert() are answered yes."""
    context = browser.new_context(viewport={"width": width, "height": height}, **options)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
    if accept_dialogs:
        pg.on("dialog", lambda d: d.accept())
    try:
        pg.goto(base + path)
        pg.wait_for_selector(".lm-card:not(.lm-placeholder)")
        yield pg
    finally:
        context.close()
    assert not errors, errors


def natural_width(img) -> int:
    """An <img> locator's (or element handle's) natural width once it has loaded: what the browser decoded."""
    return img.evaluate("i => new Promise(r => i.complete ? r(i.naturalWidth) : "
                        "i.addEventListener('load', () => r(i.naturalWidth)))")


def fill(page, kind: str, fields: dict[str, str]) -> None:
    """Fill `kind` elements (input, textarea) by their aria-label."""
    for label, value in fields.items():
        page.fill(f"{kind}[aria-label='{label}']", value)


def wait_for(predicate, timeout=60.0, step=0.1):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            value = predicate()
            if value:
                return value
        except httpx.HTTPError:
            pass
        time.sleep(step)
    raise AssertionError("timed out")


@pytest.fixture(scope="session")
def browser():
    required = bool(os.environ.get(CHROMIUM_ENV))
    path = os.environ.get(CHROMIUM_ENV) or CHROMIUM_DEFAULT

    def unavailable(why: str):
        if required:
            pytest.fail(f"{CHROMIUM_ENV} is set but {why}")
        pytest.skip(f"{why} (set {CHROMIUM_ENV} to require it)")

    if not os.path.isfile(path):
        unavailable(f"Chromium is not at {path}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is not installed")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def standalone_server(lora_dir, data_dir, *args: str, env: dict | None = None, wait_scan: bool = True):
    """`python -m lora_manager serve` on a free port; yields the base URL once healthy
    (and, with `wait_scan`, once the start-up scan is done)."""
    server = Server(str(lora_dir), str(data_dir), *args, env=env)
    headers = {}
    if "--api-key" in args:
        headers["X-API-Key"] = args[args.index("--api-key") + 1]
    try:
        if wait_scan:
            wait_for(
                lambda: (
                    httpx.get(server.base + P + "/scans/last", headers=headers, timeout=5).status_code == 200
                    and not httpx.get(server.base + P + "/scans/current", headers=headers, timeout=5).json()["running"]
                )
            )
        yield server.base
    finally:
        print(server.stop())


@pytest.fixture
def live_server(tmp_path):
    """A factory: `live_server(lora_dir, *serve_args) -> base URL`; every server stops after the test."""
    servers = []

    def start(lora_dir, *args: str, **kw) -> str:
        cm = standalone_server(lora_dir, tmp_path / f"data{len(servers)}", *args, **kw)
        base = cm.__enter__()
        servers.append(cm)
        return base

    yield start
    for cm in reversed(servers):
        cm.__exit__(None, None, None)


OUTPUT_DIR = os.path.join(ROOT, "tests", "output")  # screenshots


class Server:
    """`python -m lora_manager serve` in a subprocess, on a free port of 127.0.0.1."""

    def __init__(self, lib: str, data: str, *extra: str, env: dict | None = None):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        clean = {k: v for k, v in os.environ.items() if not k.startswith("LORA_MANAGER_") or k == CHROMIUM_ENV}
        clean.update({"GRADIO_ANALYTICS_ENABLED": "False"}, **(env or {}))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "lora_manager", "serve", "--lora-dir", lib, "--data-dir", data, "--port",
             str(self.port), *extra],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=clean, text=True,
        )
        try:
            wait_for(
                lambda: self.proc.poll() is None and httpx.get(self.base + P + "/health", timeout=2).status_code == 200
            )
        except AssertionError:
            print(self.stop())
            raise

    def api(self, method: str, path: str, **kw):
        r = httpx.request(method, self.base + P + path, timeout=30, **kw)
        r.raise_for_status()
        return r.json()

    def settled(self, total: int) -> None:
        """Wait for the start-up scan to index `total` files and for hashing to end."""
        wait_for(
            lambda: (
                self.api("GET", "/loras")["total"] == total
                and not self.api("GET", "/scans/current")["running"]
                and self.api("GET", "/hashing")["pending_files"] == 0
            )
        )

    def stop(self) -> str:
        self.proc.terminate()
        try:
            out, _ = self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
        return out or ""


class ThreadServer:
    """The standalone app (tab included) on uvicorn in a thread of this process, for
    tests that must reach into the core (a job runner standing in for the host); or another `app`
    (the stand-in host's)."""

    def __init__(self, core, app=None):
        import threading

        import uvicorn

        from lora_manager.standalone.app import create_app

        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.app = app if app is not None else create_app(core, ui=True)
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        wait_for(lambda: httpx.get(self.base + P + "/health", timeout=2).status_code == 200)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)


@contextmanager
def settled_server(lib, data, total: int, env: dict | None = None):
    """A `Server` on `lib` (the watcher off) once its start-up scan indexed `total` files and hashing ended;
    stopped afterwards, its output printed."""
    server = Server(str(lib), str(data), env={"LORA_MANAGER_WATCH_INTERVAL": "0", **(env or {})})
    try:
        server.settled(total)
        yield server
    finally:
        print(server.stop())
