"""Who may talk to the standalone server, checked before any route runs (docs/security.md).

- Host: only names this server answers to (loopback names, the address it binds to,
  and LORA_MANAGER_ALLOWED_HOSTS / --allowed-host): a page on another site whose
  name was re-pointed at this machine (DNS rebinding) gets a 400.
- Writes (POST, PUT, PATCH, DELETE) that a browser marks as coming from another
  site (Origin, Sec-Fetch-Site) get a 403 unless that origin is configured
  (LORA_MANAGER_CORS_ORIGINS). Clients that are not browsers send neither header.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from ..api.responses import error_response

LOOPBACK = ("127.0.0.1", "localhost", "::1")
WILDCARD_BINDS = ("", "0.0.0.0", "::")
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def trusted_hosts(configured: Iterable[str], bind: str | None = None) -> set[str]:
    """The Host names to answer: loopback, the bound address (unless a wildcard) and the configured ones."""
    hosts = set(LOOPBACK) | {h.strip().lower().strip("[]").rstrip(".") for h in configured if h.strip()}
    if bind and bind not in WILDCARD_BINDS:
        hosts.add(bind.lower().strip("[]"))
    return hosts


def host_name(value: str) -> str | None:
    """The name in a Host header ("[::1]:80" -> "::1", "Box.lan." -> "box.lan"); None when malformed."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        name, rest = value[1:end], value[end + 1:]
    else:
        name, sep, port = value.partition(":")
        rest = sep + port
    if rest and not (rest[:1] == ":" and rest[1:].isdigit()):
        return None
    return name.rstrip(".") or None


def is_cross_site(headers: dict[bytes, bytes], allowed_origins: set[str]) -> bool:
    origin = headers.get(b"origin", b"").decode("latin-1").strip().lower().rstrip("/") or None
    site = headers.get(b"sec-fetch-site", b"").decode("latin-1").strip().lower()
    if origin is not None and origin in allowed_origins:
        return False
    if origin is not None:
        host = headers.get(b"host", b"").decode("latin-1").strip().lower()
        try:
            netloc = urlsplit(origin).netloc
        except ValueError:
            return True
        if origin == "null" or not netloc or netloc != host:
            return True
    return site in ("cross-site", "same-site") and (origin is None or site == "cross-site")


class RequestGate:
    """ASGI middleware: the Host check (when `hosts` is given; "*" in it turns it off)
    and the refusal of cross-site writes."""

    def __init__(self, app, *, hosts: set[str] | None, origins: Iterable[str] = ()):
        self.app = app
        self.hosts = None if hosts is None or "*" in hosts else set(hosts)
        self.origins = {o.strip().lower().rstrip("/") for o in origins if o.strip()}

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or ())
        if self.hosts is not None and host_name(headers.get(b"host", b"").decode("latin-1")) not in self.hosts:
            if scope["type"] == "websocket":
                return await send({"type": "websocket.close", "code": 1008})
            message = ("this server does not answer to that host name; add it with --allowed-host NAME "
                       "(or LORA_MANAGER_ALLOWED_HOSTS)")
            return await error_response(400, "bad_host", message)(scope, receive, send)
        if scope["type"] == "http" and scope["method"] in UNSAFE and is_cross_site(headers, self.origins):
            message = ("a page on another site may not change anything here; "
                       "list its origin in LORA_MANAGER_CORS_ORIGINS to allow it")
            return await error_response(403, "cross_site", message)(scope, receive, send)
        await self.app(scope, receive, send)
