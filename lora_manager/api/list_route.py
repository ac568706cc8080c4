"""GET /loras: list, search, filter, sort and page; and the cache of its encoded pages.

The query runs in a worker thread (never on the event loop: inside SDNext that
loop is the host's). A page asked again before this process writes anything
is answered from memory without leaving the loop: its bytes are kept by
(query, the repository's write version), at most PAGE_TTL seconds, since
another process may write to the same database (docs/performance-api.md)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any, Optional

import anyio.to_thread
import orjson
from anyio import CapacityLimiter
from fastapi import Query
from starlette.responses import Response

from ..storage.repository import LIST_FIELDS, LoraQuery
from .schemas import TEXT

PAGE_TTL = 2.0  # as the counts' cache: what another process writes shows within this
MAX_BYTES = 16 << 20  # all cached pages together
MAX_PAGE_BYTES = 1 << 20  # a bigger body (a light dump of the library) is not kept
QUERY_THREADS = 4  # list queries at once: more only thrash the GIL and hold more database connections


class PageCache:
    def __init__(self, version, ttl: float = PAGE_TTL, max_bytes: int = MAX_BYTES):
        self.version = version  # () -> int, moves on every commit in this process
        self.ttl = ttl
        self.max_bytes = max_bytes
        self.size = 0
        self._pages: OrderedDict[Any, tuple[int, float, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> bytes | None:
        with self._lock:
            hit = self._pages.get(key)
            if hit is None:
                return None
            if hit[0] != self.version() or time.monotonic() - hit[1] >= self.ttl:
                self._drop(key)
                return None
            self._pages.move_to_end(key)
            return hit[2]

    def put(self, key: Any, version: int, body: bytes) -> None:
        """Keep `body`, read at `version` (taken before the query ran: a write meanwhile makes it stale)."""
        if len(body) > MAX_PAGE_BYTES or version != self.version():
            return
        with self._lock:
            if key in self._pages:
                self._drop(key)
            self._pages[key] = (version, time.monotonic(), body)
            self.size += len(body)
            while self.size > self.max_bytes and self._pages:
                self._drop(next(iter(self._pages)))

    def _drop(self, key: Any) -> None:
        self.size -= len(self._pages.pop(key)[2])


def fields_pattern() -> str:
    """The `fields` values the store accepts: known names, comma-separated (empty pieces ignored)."""
    from ..storage.entries import FIELDS

    name = "(" + "|".join(sorted(FIELDS, key=len, reverse=True)) + ")"
    return rf"^\s*{name}?\s*(,\s*{name}?\s*)*$"


def page_body(cat, q: LoraQuery) -> bytes:
    page = cat.list(q)
    return orjson.dumps({"total": page.total, "limit": page.limit, "offset": page.offset,
                         "next_cursor": page.next_cursor, "items": page.items}, option=orjson.OPT_NON_STR_KEYS)


def list_endpoint(core):
    """The route's endpoint over `core` (an app.App), with its own page cache."""
    cat = core.catalog
    cache = PageCache(lambda: core.repo.write_version)
    limiter: list[CapacityLimiter] = []  # made on first use, inside the running loop

    async def list_loras(
        query: str = Query("", max_length=500, pattern=TEXT, description="full-text search, every word as a prefix"),
        base: Optional[str] = Query(None, max_length=32, pattern=TEXT),
        tag: list[str] = Query([], max_length=20, json_schema_extra={"items": {"type": "string", "pattern": TEXT}}),
        folder: Optional[str] = Query(None, max_length=1000, pattern=TEXT),
        favorite: Optional[bool] = None,
        has_preview: Optional[bool] = None,
        missing: Optional[bool] = None,
        duplicate: Optional[bool] = None,
        broken: Optional[bool] = None,
        network_type: Optional[str] = Query(None, max_length=32, pattern=TEXT),
        update_available: Optional[bool] = Query(None, description="a newer version on Civitai (update check)"),
        state: Optional[str] = Query(None, pattern="^(ok|broken|unsupported|other|missing|trashed)$"),
        sort: str = Query("name", pattern="^-?(id|name|modified|added|size)$"),
        limit: int = Query(50, ge=1, le=200_000, description="up to 1000 (more is cut to 1000), or 200000 with `fields`"),
        offset: int = Query(0, ge=0, le=10_000_000),
        cursor: Optional[str] = Query(None, max_length=1000),
        fields: Optional[str] = Query(None, max_length=1000, pattern=fields_pattern(),
                                      description="comma-separated entry fields (default: a card's)"),
    ) -> Response:
        if not [f for f in (fields or "").split(",") if f.strip()]:
            limit = min(limit, 1000)  # cards page; a few named fields may be long (the autocomplete's dump)
        q = LoraQuery(query=query, base=base, tags=tag, folder=folder, favorite=favorite, has_preview=has_preview,
                      missing=missing, duplicate=duplicate, broken=broken, network_type=network_type, state=state,
                      update_available=update_available, sort=sort, limit=limit, offset=offset, cursor=cursor, fields=fields or LIST_FIELDS, raw_json=True)
        key = (query, base, tuple(tag), folder, favorite, has_preview, missing, duplicate, broken, network_type, state,
               update_available, sort, limit, offset, cursor, fields)
        body = cache.get(key)
        if body is None:
            version = core.repo.write_version
            if not limiter:
                limiter.append(CapacityLimiter(QUERY_THREADS))
            body = await anyio.to_thread.run_sync(page_body, cat, q, limiter=limiter[0])
            cache.put(key, version, body)
        return Response(body, media_type="application/json")

    list_loras.cache = cache  # type: ignore[attr-defined]  (tests look at it)
    return list_loras
