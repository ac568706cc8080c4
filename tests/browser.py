"""Real-browser test helpers: Debian's Chromium driven by Playwright, and the
standalone server as a user runs it (a real uvicorn process with the tab).

Browser tests skip when Chromium is absent and LORA_MANAGER_CHROMIUM is unset;
with the variable set (as .ci/run does) a missing browser fails them instead.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

CHROMIUM_ENV = "LORA_MANAGER_CHROMIUM"
P = "/lora-manager/v1"
OUTPUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "output")


def chromium_path() -> str:
    return os.environ.get(CHROMIUM_ENV) or "/usr/bin/chromium"


def launch_browser(playwright):
    path = chromium_path()
    if not os.path.exists(path):
        if os.environ.get(CHROMIUM_ENV):
            pytest.fail(f"Chromium not found at {path} ({CHROMIUM_ENV} is set)")
        pytest.skip(f"Chromium not found at {path} (set {CHROMIUM_ENV})")
    return playwright.chromium.launch(executable_path=path, headless=True, args=["--no-sandbox"])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout=60.0, step=0.2):
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


class Server:
    """`python -m lora_manager serve` in a subprocess, on a free port of 127.0.0.1."""

    def __init__(self, lib: str, data: str, *extra: str, env: dict | None = None):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        clean = {k: v for k, v in os.environ.items() if not k.startswith("LORA_MANAGER_") or k == CHROMIUM_ENV}
        clean.update({"LORA_MANAGER_WATCH_INTERVAL": "0", "GRADIO_ANALYTICS_ENABLED": "False"}, **(env or {}))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "lora_manager", "serve", "--lora-dir", lib, "--data-dir", data, "--port", str(self.port), *extra],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=clean, text=True,
        )
        try:
            wait_for(lambda: httpx.get(self.base + P + "/health", timeout=2).status_code == 200)
        except AssertionError:
            self.stop()
            raise

    def api(self, method: str, path: str, **kw):
        r = httpx.request(method, self.base + P + path, timeout=30, **kw)
        r.raise_for_status()
        return r.json()

    def settled(self, total: int) -> None:
        """Wait for the start-up scan to index `total` files and for hashing to end."""
        wait_for(lambda: self.api("GET", "/loras")["total"] == total and not self.api("GET", "/scans/current")["running"]
                 and self.api("GET", "/hashing")["pending_files"] == 0)

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
    tests that must reach into the core (a job runner standing in for the host)."""

    def __init__(self, core):
        import threading

        import uvicorn

        from lora_manager.api.standalone import create_app

        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(create_app(core, ui=True), host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        wait_for(lambda: httpx.get(self.base + P + "/health", timeout=2).status_code == 200)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)
