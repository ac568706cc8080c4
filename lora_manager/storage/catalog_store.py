"""Reads: list, search, filter, sort, page; one entry by id, prompt name or hash."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, func, or_, select

from ..errors import InvalidInput, NotFound
from ..catalog.userdata import check_text
from .base import L, T, U
from .db import Db
from .models import STATES
from .civitai_dl_store import with_update
from .cursor import decode_cursor, encode_cursor
from .entries import ALL_FIELDS, LIST_FIELDS, build, columns_for, parse_fields
from .location_store import overlay
from .scan_store import PRESENT, dup_hashes
from .search import fts_hits, match_clause, walk_is_cheaper
from .ttl_cache import TtlCache

SORTS = {
    "id": L.c.id,  # storage order: the cheapest for a full dump (an autocomplete index)
    "name": L.c.file_name,
    "modified": L.c.mtime_ns,
    "added": L.c.added_at,
    "size": L.c.size,
}
MAX_LIMIT = 1000
COUNT_TTL = 2.0
MAX_LIGHT_LIMIT = 200_000
_HEX = re.compile(r"^[0-9a-fA-F]{8,64}$")


@dataclass(slots=True)
class LoraQuery:
    query: str = ""
    base: str | None = None  # effective family: the user's override, else detected
    tags: list[str] = field(default_factory=list)  # all must match
    folder: str | None = None  # this folder and below, relative to a root
    favorite: bool | None = None
    has_preview: bool | None = None
    missing: bool | None = None
    duplicate: bool | None = None
    broken: bool | None = None
    network_type: str | None = None
    state: str | None = None
    sort: str = "name"  # id | name | modified | added | size; "-" in front for descending
    limit: int = 50
    offset: int = 0
    cursor: str | None = None  # from a previous page's next_cursor: keyset paging, offset ignored
    fields: str | list[str] | None = None  # None: every list field
    raw_json: bool = False  # list-valued fields as orjson.Fragment (for the API's encoder)
    ids: list[int] | None = None  # only these LoRAs (the recommender's picks)
    update_available: bool | None = None  # a newer version on Civitai (the last update check said so)


@dataclass(slots=True)
class Page:
    total: int
    items: list[dict[str, Any]]
    limit: int
    offset: int
    next_cursor: str | None = None


TR = L.alias("tr")
# "Not trashed" said so that no table row is read to decide it: the trashed are few, their ids
# come from the state index, and a walk of a sort index stays in the index (a deep offset
# page at 100k LoRAs: 270 ms -> 25 ms).
# Files that are not LoRAs ("other": embeddings, VAEs, ...) are left out the same way: listed
# only when asked for by state.
NOT_TRASHED = L.c.id.not_in(select(TR.c.id).where(TR.c.state.in_(("trashed", "other"))))


class CatalogStore(ABC):
    """The library read as entries: lists and pages, one entry, keys resolved, a few summaries."""

    @abstractmethod
    def list_loras(self, q: LoraQuery) -> Page:
        """One page of entries matching `q` (filters, full-text search, sort, offset or keyset cursor),
        with the total; bad input raises InvalidInput."""

    @abstractmethod
    def resolve(self, key: str | int) -> int:
        """The id of the LoRA known by `key`: id, prompt name, file name or any hash form; NotFound otherwise."""

    @abstractmethod
    def get(self, key: str | int) -> dict[str, Any]:
        """The full entry of one LoRA, with its metadata and the other files sharing its hash."""

    @abstractmethod
    def duplicate_groups(self, limit: int = 1000) -> list[dict[str, Any]]:
        """Files present at several paths with the same full hash: [{sha256, loras: [{id, path, prompt_name}]}]."""

    @abstractmethod
    def paths(self, ids: list[int]) -> dict[int, tuple[str, str, str]]:
        """{id: (path, root, state)} of the given ids that exist."""

    @abstractmethod
    def tag_counts(self) -> list[tuple[str, int]]:
        """(tag, LoRAs not trashed that carry it), most used first."""

    @abstractmethod
    def counts(self) -> dict[str, int]:
        """LoRAs per state, every state named (0 when none)."""


class SqlCatalogStore(CatalogStore):
    def __init__(self, db: Db):
        self.db = db
        self._counts: TtlCache[int] = TtlCache(COUNT_TTL, version=lambda: db.write_version)

    def _where(self, q: LoraQuery, broad: bool = False) -> list:
        conds: list = []
        match = match_clause(self.db.dialect, q.query, L.c.id, broad=broad)
        if match is not None:
            conds.append(match)
        if q.base:
            # The detected family, unless the user overrode it, or the user's override. Said
            # this way (overrides are few) a count searches the filter index instead of joining
            # every row to the user table (at 100k rows: a scan of the whole index).
            overridden = select(U.c.lora_id).where(U.c.base_override.is_not(None))
            chosen = select(U.c.lora_id).where(U.c.base_override == q.base)
            conds.append(or_(and_(L.c.base_family == q.base, L.c.id.not_in(overridden)), L.c.id.in_(chosen)))
        for tag in q.tags:
            conds.append(L.c.id.in_(select(T.c.lora_id).where(T.c.tag == tag.strip().lower())))
        if q.folder:
            folder = q.folder.strip("/")
            conds.append(or_(L.c.folder == folder, L.c.folder.startswith(folder + "/", autoescape=True)))
        if q.favorite is not None:
            # favorites are few: look them up in the user table instead of joining every row
            favs = L.c.id.in_(select(U.c.lora_id).where(U.c.favorite.is_(True)))
            conds.append(favs if q.favorite else ~favs)
        if q.has_preview is not None:
            conds.append((L.c.preview_count > 0) == q.has_preview)
        if q.missing is not None:
            conds.append((L.c.state == "missing") if q.missing else (L.c.state != "missing"))
        if q.broken is not None:
            conds.append((L.c.state == "broken") if q.broken else (L.c.state != "broken"))
        if q.duplicate is not None:
            # ids from the narrow filter index, then rows by id: testing each row's
            # hash in the table itself reads its wide record (3x slower at 10k)
            D = L.alias("dup")
            dup = L.c.id.in_(select(D.c.id).where(D.c.state.in_(PRESENT), D.c.sha256.in_(dup_hashes())))
            conds.append(dup if q.duplicate else ~dup)
        if q.network_type:
            conds.append(func.lower(L.c.network_type) == q.network_type.lower())
        if q.ids is not None:
            conds.append(L.c.id.in_(list(q.ids)[:MAX_LIMIT]))
        if q.update_available is not None:
            newer = L.c.id.in_(with_update())  # the few flagged ids, as favourites
            conds.append(newer if q.update_available else ~newer)
        if q.state:
            conds.append(L.c.state == q.state)
        elif q.missing is None and q.broken is None:
            conds.append(NOT_TRASHED)
        return conds

    def list_loras(self, q: LoraQuery) -> Page:
        for name in ("query", "base", "folder", "network_type", "state", "cursor"):
            value = getattr(q, name)
            if isinstance(value, str):
                check_text(name, value)
        for tag in q.tags:
            check_text("tag", tag)
        key = q.sort.lstrip("-")
        if key not in SORTS:
            raise InvalidInput(f"unknown sort {q.sort!r}", {"allowed": sorted(SORTS)})
        fields = parse_fields(q.fields)
        # A list of a few fields may be long (the autocomplete index); a full one pages.
        cap = MAX_LIMIT if fields in (ALL_FIELDS, LIST_FIELDS) else MAX_LIGHT_LIMIT
        if not 1 <= q.limit <= cap or q.offset < 0:
            raise InvalidInput(f"limit must be 1..{cap} (with these fields) and offset >= 0")
        col = SORTS[key]
        desc = q.sort.startswith("-")
        joined = L.outerjoin(U, U.c.lora_id == L.c.id)
        cols, want_tags = columns_for(fields, raw=q.raw_json)
        if col.name not in {c.name for c in cols}:
            cols.append(col)
        cursor = decode_cursor(q.cursor, key) if q.cursor else None
        offset = 0 if cursor else q.offset
        with self.db.engine.connect() as conn:
            hits = fts_hits(conn, q.query) if self.db.dialect == "sqlite" and q.query else None
            broad = hits is not None and walk_is_cheaper(hits, self._rows(conn), offset + q.limit)
            conds = self._where(q, broad)
            # a count has no order to walk: it is driven by the matches, whatever the page does
            total = self._total(conn, q, self._where(q) if broad else conds, hits)
            rows = conn.execute(
                select(*cols).select_from(joined).where(*conds, *_after(col, desc, cursor))
                # ties follow the direction too: one index walked backwards, no sort of the rest
                .order_by(*((col.desc(), L.c.id.desc()) if desc else (col.asc(), L.c.id.asc())))
                .limit(q.limit).offset(offset)
            ).all()
            tags = self._tags_for(conn, [r.id for r in rows]) if want_tags else {}
        items = [build(r, fields, tags.get(r.id), q.raw_json) for r in rows]
        self._here(items)
        cursor = encode_cursor(key, getattr(rows[-1], col.name), rows[-1].id) if len(rows) == q.limit else None
        return Page(total=int(total), items=items, limit=q.limit, offset=q.offset, next_cursor=cursor)

    def _total(self, conn, q: LoraQuery, conds: list, hits: int | None) -> int:
        # what the filters are names the count: compiling the statement to name it costs more than a cached hit
        key = ("list", q.query, q.base, tuple(q.tags), q.folder, q.favorite, q.has_preview, q.missing, q.duplicate,
               q.broken, q.network_type, q.state, tuple(q.ids) if q.ids is not None else None, hits is not None,
               q.update_available)
        if hits is not None and len(conds) == 2 and conds[1] is NOT_TRASHED:
            # a search alone (SQLite): the index's own count less the trashed and not-LoRA files it
            # matches, rather than a look at every matching row (29k matches: 24 ms -> 2 ms)
            trashed = select(func.count()).select_from(L).where(
                L.c.state.in_(("trashed", "other")), match_clause(self.db.dialect, q.query, L.c.id))
            return hits - self._count(conn, trashed, key)
        return self._count(conn, select(func.count()).select_from(L).where(*conds), key)

    def _rows(self, conn) -> int:
        """About how many rows there are (the highest id: no scan)."""
        return int(conn.execute(select(func.max(L.c.id))).scalar() or 0)

    def _count(self, conn, stmt, key=None) -> int:
        """Totals repeat while a person pages through one listing: they are kept
        until this process writes anything, and at most COUNT_TTL seconds (another
        process may write to a shared PostgreSQL)."""
        if key is None:
            compiled = stmt.compile(dialect=self.db.engine.dialect)
            key = (str(compiled), tuple(sorted((k, repr(v)) for k, v in compiled.params.items())))
        return self._counts.get_or_load(key, lambda: int(conn.execute(stmt).scalar_one()))

    def _tags_for(self, conn, ids: list[int]) -> dict[int, list[str]]:
        out: dict[int, list[str]] = {}
        if ids:
            for lid, tag in conn.execute(select(T.c.lora_id, T.c.tag).where(T.c.lora_id.in_(ids)).order_by(T.c.tag)):
                out.setdefault(lid, []).append(tag)
        return out

    def resolve(self, key: str | int) -> int:
        """Id of the LoRA known by `key`: id, prompt name, file name, or any hash form."""
        key = str(key)
        if not key or "\x00" in key or not _encodable(key):
            raise NotFound("no LoRA matches that key", {"key": repr(key)[:100]})
        with self.db.engine.connect() as conn:
            if key.isascii() and key.isdigit() and len(key) < 8:
                found = conn.execute(select(L.c.id).where(L.c.id == int(key))).scalar()
                if found is not None:
                    return found
            order = (L.c.state == "trashed", L.c.state == "missing", L.c.id)
            for col in (L.c.prompt_name, L.c.file_name):
                found = conn.execute(select(L.c.id).where(col == key).order_by(*order).limit(1)).scalar()
                if found is not None:
                    return found
            if _HEX.match(key):
                h = key.lower()
                hi = h + "g"  # a range scan uses the index where LIKE might not
                for col in (L.c.sha256, L.c.tensor_sha256, L.c.header_hash):
                    found = conn.execute(select(L.c.id).where(col >= h, col < hi).order_by(*order).limit(1)).scalar()
                    if found is not None:
                        return found
                if len(h) == 8:
                    found = conn.execute(select(L.c.id).where(L.c.legacy_hash == h).limit(1)).scalar()
                    if found is not None:
                        return found
            found = conn.execute(
                select(L.c.id).where(func.lower(L.c.prompt_name) == key.lower()).order_by(*order).limit(1)
            ).scalar()
        if found is None:
            raise NotFound(f"no LoRA matches {key[:100]!r} (id, prompt name, file name or hash)", {"key": key[:100]})
        return found

    def get(self, key: str | int) -> dict[str, Any]:
        lid = self.resolve(key)
        cols, _ = columns_for(ALL_FIELDS)
        with self.db.engine.connect() as conn:
            row = conn.execute(
                select(*cols, L.c.meta).select_from(L.outerjoin(U, U.c.lora_id == L.c.id)).where(L.c.id == lid)
            ).one()
            out = build(row, tags=self._tags_for(conn, [lid]).get(lid, []))
            out["metadata"] = row.meta or {}
            out["duplicates"] = []
            if row.sha256:
                others = conn.execute(
                    select(L.c.id, L.c.path).where(L.c.sha256 == row.sha256, L.c.id != lid, L.c.state.in_(PRESENT))
                ).all()
                out["duplicates"] = [{"id": i, "path": p} for i, p in others]
        self._here([out])
        return out

    def _here(self, items: list[dict[str, Any]]) -> None:
        """Several hosts share the library: this host's path, folder and state (storage/location_store.py)."""
        if self.db.host and items:
            with self.db.engine.connect() as conn:
                overlay(conn, self.db.host, items)

    def duplicate_groups(self, limit: int = 1000) -> list[dict[str, Any]]:
        """Files present at several paths with the same full hash, grouped."""
        with self.db.engine.connect() as conn:
            rows = conn.execute(
                select(L.c.sha256, L.c.id, L.c.path, L.c.prompt_name)
                .where(L.c.state.in_(PRESENT), L.c.sha256.in_(dup_hashes().limit(limit)))
                .order_by(L.c.sha256, L.c.id)
            ).all()
        groups: dict[str, list[dict[str, Any]]] = {}
        for sha, lid, path, pname in rows:
            groups.setdefault(sha, []).append({"id": lid, "path": path, "prompt_name": pname})
        return [{"sha256": sha, "loras": members} for sha, members in groups.items()]

    def paths(self, ids: list[int]) -> dict[int, tuple[str, str, str]]:
        """{id: (path, root, state)} for file operations."""
        with self.db.engine.connect() as conn:
            found = [{"id": r[0], "path": r[1], "root": r[2], "state": r[3]}
                     for r in conn.execute(select(L.c.id, L.c.path, L.c.root, L.c.state).where(L.c.id.in_(ids)))]
        self._here(found)
        return {r["id"]: (r["path"], r["root"], r["state"]) for r in found}

    def tag_counts(self) -> list[tuple[str, int]]:
        with self.db.engine.connect() as conn:
            q = (
                select(T.c.tag, func.count())
                .join(L, L.c.id == T.c.lora_id)
                .where(L.c.state != "trashed")
                .group_by(T.c.tag)
                .order_by(func.count().desc(), T.c.tag)
            )
            return [(t, int(n)) for t, n in conn.execute(q)]

    def counts(self) -> dict[str, int]:
        with self.db.engine.connect() as conn:
            by_state = dict(conn.execute(select(L.c.state, func.count()).group_by(L.c.state)).all())
        return {state: int(by_state.get(state, 0)) for state in STATES}


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def _after(col, desc: bool, cursor: tuple | None) -> list:
    """Keyset conditions for the rows after `cursor` (value, last id) in (col, id) order, both
    in the same direction; the plain bound on `col` lets the database seek instead of scan."""
    if cursor is None:
        return []
    value, last_id = cursor
    if col is L.c.id:
        return [L.c.id < last_id] if desc else [L.c.id > last_id]
    if desc:
        return [col <= value, or_(col < value, and_(col == value, L.c.id < last_id))]
    return [col >= value, or_(col > value, and_(col == value, L.c.id > last_id))]
