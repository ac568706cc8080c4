"""GET /loras: list, search, filter, sort and page; and the cache of its encoded pages.

The query runs in a worker thread (never on the event loop: inside SDNext that
loop is the host's). A page asked again before this process writes anything
is answered from memory without leaving the loop: its bytes are kept by
(query, the database's write version), at most PAGE_TTL seconds, since
another process may write to the same database (docs/performance-api.md)."""

from __future__ import annotations

from typing import Optional

import anyio.to_thread
import orjson
from anyio import CapacityLimiter
from fastapi import Query
from starlette.responses import Response

from ..catalog.entry import FIELDS, LIST_FIELDS
from ..storage.catalog_sort import SORTS
from ..storage.catalog_store import LoraQuery
from ..storage.ttl_cache import TtlCache
from .schemas import TEXT

PAGE_TTL = 2.0  # as the counts' cache: what another process writes shows within this
MAX_BYTES = 16 << 20  # all cached pages together
MAX_PAGE_BYTES = 1 << 20  # a bigger body (a light dump of the library) is not kept
MAX_PAGES = 4096
QUERY_THREADS = 4  # list queries at once: more only thrash the GIL and hold more database connections


def fields_pattern() -> str:
    """The `fields` values the store accepts: known names, comma-separated (empty pieces ignored)."""
    name = "(" + "|".join(sorted(FIELDS, key=len, reverse=True)) + ")"
    return rf"^\s*{name}?\s*(,\s*{name}?\s*)*$"


def page_body(cat, q: LoraQuery) -> bytes:
    page = cat.list(q)
    return orjson.dumps({"total": page.total, "limit": page.limit, "offset": page.offset,
                         "next_cursor": page.next_cursor, "items": page.items}, option=orjson.OPT_NON_STR_KEYS)


def list_endpoint(core):
    """The route's endpoint over `core` (an app.App), with its own page cache."""
    cat = core.catalog
    cache: TtlCache[bytes] = TtlCache(PAGE_TTL, version=lambda: core.db.write_version, max_items=MAX_PAGES,
                                      max_bytes=MAX_BYTES)
    limiter: list[CapacityLimiter] = []  # made on first use, inside the running loop

    async def list_loras(
        query: str = Query("", max_length=500, pattern=TEXT,
                           description="search: every word as a word prefix, or (3+ characters) as a substring of "
                                       "names, titles, triggers and tags; whole-word and prefix hits first"),
        base: Optional[str] = Query(None, max_length=32, pattern=TEXT),
        tag: list[str] = Query([], max_length=20, json_schema_extra={"items": {"type": "string", "pattern": TEXT}},
                               description="every one must match: the user's tags or the model's own"),
        exclude_tag: list[str] = Query([], max_length=20,
                                       json_schema_extra={"items": {"type": "string", "pattern": TEXT}},
                                       description="none may match (the user's tags or the model's own)"),
        untagged: Optional[bool] = Query(None, description="true: no tag at all; false: at least one"),
        root: Optional[str] = Query(None, max_length=1000, pattern=TEXT, description="only this root (absolute)"),
        folder: Optional[str] = Query(None, max_length=1000, pattern=TEXT,
                                      description="this folder and below, relative to its root"),
        favorite: Optional[bool] = None,
        has_preview: Optional[bool] = None,
        has_triggers: Optional[bool] = None,
        nsfw: Optional[bool] = Query(None, description="flagged NSFW by a sidecar or Civitai"),
        nsfw_max: Optional[int] = Query(None, ge=1, le=32,
                                        description="NSFW level at most this (1 PG, 2 PG-13, 4 R, 8 X, 16 XXX); "
                                                    "an unknown level is kept unless flagged NSFW"),
        missing: Optional[bool] = None,
        duplicate: Optional[bool] = None,
        broken: Optional[bool] = None,
        network_type: Optional[str] = Query(None, max_length=32, pattern=TEXT),
        update_available: Optional[bool] = Query(None, description="a newer version on Civitai (update check)"),
        state: Optional[str] = Query(None, pattern="^(ok|broken|unsupported|other|missing|trashed)$"),
        sort: str = Query("name", pattern=f"^-?({'|'.join(SORTS)})$",
                          description="name: the shown name (natural, case- and accent-insensitive); - descends"),
        favorites_first: bool = False,
        limit: int = Query(50, ge=1, le=200_000,
                           description="up to 1000 (more is cut to 1000), or 200000 with `fields`"),
        offset: int = Query(0, ge=0, le=10_000_000),
        cursor: Optional[str] = Query(None, max_length=1000),
        fields: Optional[str] = Query(None, max_length=1000, pattern=fields_pattern(),
                                      description="comma-separated entry fields (default: a card's)"),
    ) -> Response:
        if not [f for f in (fields or "").split(",") if f.strip()]:
            limit = min(limit, 1000)  # cards page; a few named fields may be long (the autocomplete's dump)
        q = LoraQuery(query=query, base=base, tags=tag, exclude_tags=exclude_tag, untagged=untagged, root=root,
                      folder=folder, favorite=favorite, has_preview=has_preview, has_triggers=has_triggers, nsfw=nsfw,
                      nsfw_max=nsfw_max, missing=missing, duplicate=duplicate, broken=broken, network_type=network_type,
                      state=state, update_available=update_available, sort=sort, favorites_first=favorites_first,
                      limit=limit, offset=offset, cursor=cursor, fields=fields or LIST_FIELDS, raw_json=True)
        key = (query, base, tuple(tag), tuple(exclude_tag), untagged, root, folder, favorite, has_preview,
               has_triggers, nsfw, nsfw_max, missing, duplicate, broken, network_type, state, update_available, sort,
               favorites_first, limit, offset, cursor, fields)
        body = cache.get(key)
        if body is None:
            version = core.db.write_version
            if not limiter:
                limiter.append(CapacityLimiter(QUERY_THREADS))
            body = await anyio.to_thread.run_sync(page_body, cat, q, limiter=limiter[0])
            if len(body) <= MAX_PAGE_BYTES:
                cache.put(key, body, version)
        return Response(body, media_type="application/json")

    list_loras.cache = cache  # type: ignore[attr-defined]  (tests look at it)
    return list_loras
