"""Reads: list, search, filter, sort, page; one entry by id, prompt name or hash."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field, fields as fields_of, replace
from typing import Any
from collections.abc import Callable

from sqlalchemy import Text, distinct, func, literal, select, type_coerce, union_all

from ..errors import InvalidInput, NotFound
from ..catalog.userdata import check_text
from .base import MT, H, L, LH, T, U
from .db import Db
from .models import STATES, UNLISTED_STATES
from .catalog_filters import NOT_TRASHED, broad_search, conditions, match_bound, norm_tag, tagged, under_path
from .catalog_filters import words_only
from .catalog_sort import SORTS, after, order_for, page_statement
from .cursor import decode_cursor, encode_cursor
from .entries import ALL_FIELDS, LIST_FIELDS, build, columns_for, parse_fields
from .location_store import overlay
from .first_rank import first_rank_rows, walkable
from .search import count_sqlite_matches, terms
from .scan_store import PRESENT, dup_hashes
from .ttl_cache import TtlCache

MAX_LIMIT = 1000
COUNT_TTL = 2.0
MAX_LIGHT_LIMIT = 200_000
_HEX = re.compile(r"^[0-9a-fA-F]{8,64}$")


@dataclass(slots=True)
class LoraQuery:
    query: str = ""
    base: str | None = None  # effective family: the user's override, else detected
    tags: list[str] = field(default_factory=list)  # all must match (the user's or the model's own tags)
    exclude_tags: list[str] = field(default_factory=list)  # none may match
    untagged: bool | None = None  # no tag at all (user or model) / at least one
    root: str | None = None  # only this root
    folder: str | None = None  # this folder and below, relative to a root
    favorite: bool | None = None
    has_preview: bool | None = None
    has_triggers: bool | None = None
    nsfw: bool | None = None  # flagged NSFW by a sidecar (Civitai's included)
    nsfw_max: int | None = None  # NSFW level at most this (1 PG ... 16 XXX); unknown levels kept unless flagged NSFW
    missing: bool | None = None
    duplicate: bool | None = None
    broken: bool | None = None
    network_type: str | None = None
    state: str | None = None
    sort: str = "name"  # a key of SORTS (catalog_sort.py); "-" in front for descending
    favorites_first: bool = False
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
    def tag_counts(self) -> list[dict[str, Any]]:
        """[{tag, count, user, model}]: LoRAs listed (not trashed) carrying each tag, the user's or the model's
        own (count), the user's (user), the model's (model); most used first."""

    @abstractmethod
    def folder_counts(self) -> dict[tuple[str, str], int]:
        """{(root, folder): LoRAs listed (not trashed) directly in it}."""

    @abstractmethod
    def counts(self) -> dict[str, int]:
        """LoRAs per state, every state named (0 when none)."""

    @abstractmethod
    def training_tags_text(self, ids: list[int]) -> dict[int, str | None]:
        """{id: its training tags as the stored JSON text} (the recommender reads them so for its index: asked
        through `list_loras`'s entries, they took most of reading a 100k library)."""


class SqlCatalogStore(CatalogStore):
    def __init__(self, db: Db):
        self.db = db
        self._counts: TtlCache[int] = TtlCache(COUNT_TTL, version=lambda: db.write_version)
        # One LoRA's Civitai facts for its entry (set by app.build: civitai/facts.py); not asked without it.
        self.civitai_facts: Callable[[int], dict[str, Any] | None] | None = None
        # tag counts group every tag row (the tab asks for them to suggest tags): kept as the totals are
        self._tags: TtlCache[list] = TtlCache(COUNT_TTL, version=lambda: db.write_version, max_items=1)
        # folder counts group every row (the tree asks at each page load): kept the same way
        self._folders: TtlCache[dict] = TtlCache(COUNT_TTL, version=lambda: db.write_version, max_items=1)

    def list_loras(self, q: LoraQuery) -> Page:
        for name in ("query", "base", "root", "folder", "network_type", "state", "cursor"):
            value = getattr(q, name)
            if isinstance(value, str):
                check_text(name, value)
        for tag in (*q.tags, *q.exclude_tags):
            check_text("tag", tag)
        key = q.sort.lstrip("-")
        if key not in SORTS:
            raise InvalidInput(f"unknown sort {q.sort!r}", {"allowed": sorted(SORTS)})
        fields = parse_fields(q.fields)
        # A list of a few fields may be long (the autocomplete index); a full one pages.
        cap = MAX_LIMIT if fields in (ALL_FIELDS, LIST_FIELDS) else MAX_LIGHT_LIMIT
        if not 1 <= q.limit <= cap or q.offset < 0:
            raise InvalidInput(f"limit must be 1..{cap} (with these fields) and offset >= 0")
        order = order_for(q.sort, self.db.dialect, q.query, q.favorites_first)
        joined = L.outerjoin(U, U.c.lora_id == L.c.id)
        cols, want_tags = columns_for(fields, raw=q.raw_json)
        cursor = decode_cursor(q.cursor, order.name) if q.cursor else None
        offset = 0 if cursor else q.offset
        # A root or a folder of it: counted over an index of places (a folder as a range of the path index where exact,
        # else `ix_loras_place`); its page read from there too when that reads fewer rows than a walk of the order's
        # index (a small root or folder), else by that walk (`walk`, catalog_filters._place).
        counted = self._where(q)
        conds = conditions(q, self.db.dialect, self.db.host, walk=True) if q.root and not terms(q.query) else counted
        with self.db.engine.connect() as conn:
            if not words_only(q, self.db.dialect, self.db.host) and self._broad(conn, q):  # else by the word indexes
                counted = conds = conditions(q, self.db.dialect, self.db.host, by_names=True)
            total = self._total(conn, q, counted)
            if conds is not counted and self._reads_fewer(conn, total, offset + q.limit):
                conds = counted
            rows = first_rank_rows(conn, q, order, cols, joined, _cursor_keys(cursor, key) if cursor else None,
                                   offset, dialect=self.db.dialect, total=total,
                                   conditions=self._unsearched) if walkable(order) else None
            if rows is None:
                if conds is counted and words_only(q, self.db.dialect, self.db.host) and self._broad(conn, q):
                    conds = conditions(q, self.db.dialect, self.db.host, by_names=True)
                keyset = after(order, _cursor_keys(cursor, key)) if cursor else []
                rows = conn.execute(page_statement(order, cols, joined, [*conds, *keyset], q.limit, offset)).all()
            tags = self._tags_for(conn, [r.id for r in rows]) if want_tags else {}
        items = [build(r, fields, tags.get(r.id), q.raw_json) for r in rows]
        self._here(items)
        next_cursor = None
        if len(rows) == q.limit:
            last = rows[-1]
            values = [getattr(last, f"_k{i}") for i in range(len(order.keys))]
            value = values[-1] if key == "id" else values[-2]
            ranks = values[:-1] if key == "id" else values[:-2]
            next_cursor = encode_cursor(order.name, [*ranks, value] if ranks else value, last.id)
        return Page(total=int(total), items=items, limit=q.limit, offset=q.offset, next_cursor=next_cursor)

    def _total(self, conn, q: LoraQuery, conds: list) -> int:
        # what the filters are names the count: compiling the statement to name it costs more than a cached hit
        key = ("list",) + tuple(tuple(v) if isinstance(v, list) else v for n, v in _filters(q))
        if words_only(q, self.db.dialect, self.db.host):
            return self._counts.get_or_load(key, lambda: count_sqlite_matches(conn, q.query))
        excluded = [norm_tag(t) for t in q.exclude_tags if t.strip()]
        if not excluded:
            return self._count(conn, select(func.count()).select_from(L).where(*conds), key)
        # Tags left out: the rows without that filter (often the count just shown) less those of them that carry
        # a tag left out (few, found by the tag indexes); a NOT IN over every row cost 4x the plain count at 100k.
        kept = replace(q, exclude_tags=[])

        def load() -> int:
            kept_conds = self._where(kept)
            carrying = select(func.count()).select_from(L).where(*kept_conds, L.c.id.in_(tagged(excluded)))
            return self._total(conn, kept, kept_conds) - int(conn.execute(carrying).scalar_one())

        return self._counts.get_or_load(key, load)

    def _where(self, q: LoraQuery) -> list:
        """The conditions a count reads: a root's folder as a range of paths where that is exact, a root by its
        index unless words are searched."""
        by_path = under_path(q, self.db.dialect, self.db.host) is not None
        # searched: the words' index finds the rows, the place is only checked
        return conditions(q, self.db.dialect, self.db.host, by_path=by_path, walk=bool(terms(q.query)))

    def _unsearched(self, q: LoraQuery) -> list:
        """The WHERE of a list without words, as its page is read (a root tested while the sort's index is walked)."""
        return conditions(q, self.db.dialect, self.db.host, walk=True) if q.root else self._where(q)

    def _reads_fewer(self, conn, total: int, wanted: int) -> bool:
        """Whether a page of a root or folder reads fewer rows from the place's own index (its `total` rows,
        then sorted) than from a walk of the sort's index, which stops after `wanted` matches: about
        wanted * rows / total rows read when the place's files are spread through the order."""
        return total * total <= wanted * self._rows(conn)

    def _broad(self, conn, q: LoraQuery) -> bool:  # a tenth of the library or more: read from the name index
        return broad_search(q, self.db.dialect, self.db.host) and self._bound(conn, q.query) * 10 >= self._rows(conn)

    def _bound(self, conn, query: str) -> int:
        return self._counts.get_or_load(("bound", query), lambda: match_bound(conn, query))

    def _rows(self, conn) -> int:
        return self._count(conn, select(func.count()).select_from(L), ("rows",))

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

    def training_tags_text(self, ids: list[int]) -> dict[int, str | None]:
        if not ids:
            return {}
        with self.db.engine.connect() as conn:
            return dict(conn.execute(select(L.c.id, type_coerce(L.c.training_tags, Text)).where(L.c.id.in_(ids))).all())

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
                for col in (H.c.sha256, H.c.tensor_sha256, L.c.header_hash):
                    found = conn.execute(select(L.c.id).select_from(LH).where(col >= h, col < hi)
                                         .order_by(*order).limit(1)).scalar()
                    if found is not None:
                        return found
                if len(h) == 8:
                    found = conn.execute(select(H.c.lora_id).where(H.c.legacy_hash == h).limit(1)).scalar()
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
                    select(L.c.id, L.c.path).select_from(LH)
                    .where(H.c.sha256 == row.sha256, L.c.id != lid, L.c.state.in_(PRESENT))
                ).all()
                out["duplicates"] = [{"id": i, "path": p} for i, p in others]
        out["civitai"] = (self.civitai_facts(lid) if self.civitai_facts else None) or {"status": "not_asked"}
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
                select(H.c.sha256, L.c.id, L.c.path, L.c.prompt_name).select_from(LH)
                .where(L.c.state.in_(PRESENT), H.c.sha256.in_(dup_hashes().limit(limit)))
                .order_by(H.c.sha256, L.c.id)
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

    def tag_counts(self) -> list[dict[str, Any]]:
        """The user's and the model's own tags merged: LoRAs listed (not trashed) carrying each, in all
        and by whose tag it is."""
        pairs = union_all(select(T.c.tag, T.c.lora_id, literal(1).label("u"), literal(0).label("m")),
                          select(MT.c.tag, MT.c.lora_id, literal(0).label("u"), literal(1).label("m"))).subquery()
        q = (
            select(pairs.c.tag, func.count(distinct(pairs.c.lora_id)).label("n"), func.sum(pairs.c.u),
                   func.sum(pairs.c.m))
            .where(pairs.c.lora_id.not_in(select(L.c.id).where(L.c.state.in_(UNLISTED_STATES))))
            .group_by(pairs.c.tag)
            .order_by(func.count(distinct(pairs.c.lora_id)).desc(), pairs.c.tag)
        )
        def load() -> list[dict[str, Any]]:
            with self.db.engine.connect() as conn:
                return [{"tag": t, "count": int(n), "user": int(u), "model": int(m)} for t, n, u, m in conn.execute(q)]

        return [dict(t) for t in self._tags.get_or_load("tags", load)]  # copies: a caller may change them

    def folder_counts(self) -> dict[tuple[str, str], int]:
        q = select(L.c.root, L.c.folder, func.count()).where(NOT_TRASHED).group_by(L.c.root, L.c.folder)

        def load() -> dict[tuple[str, str], int]:
            with self.db.engine.connect() as conn:
                return {(r, f or ""): int(n) for r, f, n in conn.execute(q)}

        return dict(self._folders.get_or_load("folders", load))  # a copy: a caller may change it

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


def _cursor_keys(cursor: tuple, key: str) -> list:
    """The keys of the row a cursor names, in the order's own: [rank..., value, id] ([rank..., id] by id)."""
    value, last_id = cursor
    values = value if isinstance(value, list) else [value]
    return [*values[:-1], last_id] if key == "id" else [*values, last_id]


_PAGING = frozenset(("sort", "limit", "offset", "cursor", "fields", "raw_json", "favorites_first"))


def _filters(q: LoraQuery):
    """(name, value) of what selects the rows (not how they are ordered or paged)."""
    return ((f.name, getattr(q, f.name)) for f in fields_of(q) if f.name not in _PAGING)
