"""A running server's REST API, for the commands that act there: jobs run only inside a host (SDNext with
the extension), so the job commands talk to it over HTTP (docs/cli.md)."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

DEFAULT_URL = "http://127.0.0.1:7860"  # SDNext's own address; the standalone server's is 7870 (it runs no jobs)
PREFIX = "/lora-manager/v1"


def add_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--url", help=f"the server: SDNext with the extension (default: LORA_MANAGER_URL, else "
                                 f"{DEFAULT_URL}); {PREFIX} is added when missing")
    p.add_argument("--api-key", help="its API key, when one is set (or LORA_MANAGER_API_KEY)")
    p.add_argument("--auth", metavar="USER:PASSWORD",
                   help="the host's own sign-in, when SDNext runs with --auth (or LORA_MANAGER_HOST_AUTH)")
    p.add_argument("--json", action="store_true", help="print JSON")


class RemoteError(Exception):
    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.status = status


class Remote:
    def __init__(self, url: str | None, api_key: str | None, auth: str | None = None, timeout: float = 60.0):
        base = (url or os.environ.get("LORA_MANAGER_URL") or DEFAULT_URL).rstrip("/")
        self.base = base if base.endswith(PREFIX) else base + PREFIX
        key = api_key or os.environ.get("LORA_MANAGER_API_KEY")
        # Imported here: httpx brings its command line's rich and pygments, 4 MB that `serve` never uses
        # (this module is on every command's import path, cli/jobs.py).
        import httpx

        self.http = httpx.Client(base_url=self.base, headers={"X-API-Key": key} if key else {}, timeout=timeout,
                                 auth=_basic(auth or os.environ.get("LORA_MANAGER_HOST_AUTH")))

    def __enter__(self) -> Remote:
        return self

    def __exit__(self, *exc) -> None:
        self.http.close()

    def call(self, method: str, path: str, **kw) -> Any:
        """The answer's JSON (bytes for anything else); RemoteError with the server's own message."""
        import httpx

        try:
            r = self.http.request(method, path, **kw)
        except httpx.TransportError as exc:
            raise RemoteError(f"cannot reach {self.base} ({exc}): is the server running? (--url)") from None
        if r.status_code == 401 and "API key" not in _message(r):  # the host's own check (SDNext's --auth)
            raise RemoteError("the host asks for its own sign-in: --auth USER:PASSWORD (HTTP 401)", 401)
        if r.status_code >= 400:
            raise RemoteError(f"{_message(r)} (HTTP {r.status_code})", r.status_code)
        if r.headers.get("content-type", "").startswith("application/json"):
            return r.json()
        return r.content


def _basic(auth: str | None) -> httpx.BasicAuth | None:
    """SDNext's --auth is HTTP Basic over its API routes (ours are mounted through them): USER:PASSWORD."""
    if not auth:
        return None
    user, sep, password = auth.partition(":")
    if not sep or not user:
        raise RemoteError("--auth takes USER:PASSWORD, as the host's --auth names them")
    import httpx

    return httpx.BasicAuth(user, password)


def _message(r: httpx.Response) -> str:
    try:
        body = r.json()
    except ValueError:
        return r.text[:300] or r.reason_phrase
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        detail = body.get("detail")
        if isinstance(detail, str):
            return detail
        if isinstance(detail, list) and detail and isinstance(detail[0], dict):  # FastAPI's validation errors
            where = ".".join(str(x) for x in detail[0].get("loc", ()) if x != "body")
            return f"{where}: {detail[0].get('msg')}" if where else str(detail[0].get("msg"))
    return str(body)[:300]
