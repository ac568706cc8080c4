"""Reads: list, search, filter, sort, page; one entry by id, prompt name or hash."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, func, or_, select

from ..errors import InvalidInput, NotFound
from .base import L, T, U, SqlStoreBase, json_ready
from .scan_store import PRESENT
from .search import match_clause

SORTS = {
    "name": L.c.file_name,
    "modified": L.c.mtime_ns,
    "added": L.c.added_at,
    "size": L.c.size,
}
MAX_LIMIT = 1000
_HEX = re.compile(r"^[0-9a-fA-F]{8,64}$")
LIST_COLUMNS = [c for c in L.c if c.name not in ("search_text", "meta")]
USER_COLUMNS = [c for c in U.c if c.name != "lora_id"]


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
    sort: str = "name"  # name | modified | added | size; "-" in front for descending
    limit: int = 50
    offset: int = 0


@dataclass(slots=True)
class Page:
    total: int
    items: list[dict[str, Any]]
    limit: int
    offset: int


def entry(row: dict[str, Any], user: dict[str, Any] | None, tags: list[str], *, detail: bool = False) -> dict[str, Any]:
    """The public shape of one LoRA (the CLI's and API's JSON)."""
    user = user or {}
    sha, tsha = row.get("sha256"), row.get("tensor_sha256")
    # Until the file is hashed, the trainer's sshs_model_hash stands in for the
    # tensor hash (and is checked against it once hashed).
    tsource = "computed" if tsha else ("header" if row.get("header_hash") else None)
    tsha = tsha or row.get("header_hash")
    suggested = row.get("suggested") or {}
    user_triggers = user.get("triggers")
    hashed = row.get("hashed_size") == row.get("size") and row.get("hashed_mtime_ns") == row.get("mtime_ns")
    out = {
        "id": row["id"],
        "name": row["file_name"].rsplit(".", 1)[0],
        "prompt_name": row["prompt_name"],
        "title": row.get("title"),
        "alias": row.get("alias"),
        "path": row["path"],
        "root": row["root"],
        "folder": row["folder"],
        "file_name": row["file_name"],
        "size": row["size"],
        "mtime_ns": row["mtime_ns"],
        "state": row["state"],
        "error": row.get("error"),
        "base_model": user.get("base_override") or row.get("base_family"),
        "base_model_detected": row.get("base_family"),
        "base_model_source": "user" if user.get("base_override") else row.get("base_source"),
        "base_label": row.get("base_label"),
        "network_type": row.get("network_type"),
        "rank": row.get("rank"),
        "alpha": row.get("alpha"),
        "sha256": sha,
        "autov2": sha[:10] if sha else None,
        "tensor_sha256": tsha,
        "autov3": tsha[:12] if tsha else None,
        "tensor_hash_source": tsource,
        "sdnext_hash": tsha[:8] if tsha else None,
        "legacy_hash": row.get("legacy_hash"),
        "header_hash": row.get("header_hash"),
        "header_hash_ok": row.get("header_hash_ok"),
        "hash_state": "done" if hashed else ("error" if row.get("hash_error") else "pending"),
        "hash_error": row.get("hash_error"),
        "triggers": user_triggers if user_triggers is not None else (row.get("triggers") or []),
        "extracted_triggers": row.get("triggers") or [],
        "user_triggers": user_triggers,
        "training_tags": row.get("training_tags") or [],
        "source_tags": row.get("source_tags") or [],
        "tags": tags,
        "favorite": bool(user.get("favorite")),
        "rating": user.get("rating"),
        "notes": user.get("notes"),
        "preferred_weight": user.get("preferred_weight") if user.get("preferred_weight") is not None else suggested.get("preferred_weight"),
        "weight_min": user.get("weight_min") if user.get("weight_min") is not None else suggested.get("weight_min"),
        "weight_max": user.get("weight_max") if user.get("weight_max") is not None else suggested.get("weight_max"),
        "negative_text": user.get("negative_text") if user.get("negative_text") is not None else suggested.get("negative_text"),
        "description": row.get("description"),
        "author": row.get("author"),
        "trained_started": row.get("trained_started"),
        "trained_finished": row.get("trained_finished"),
        "resolution": row.get("resolution"),
        "cover": row.get("cover_mime"),
        "previews": row.get("previews") or [],
        "sidecars": row.get("sidecars") or [],
        "added_at": json_ready(row.get("added_at")),
        "missing_since": json_ready(row.get("missing_since")),
        "moved_from": row.get("moved_from"),
    }
    if detail:
        out["metadata"] = row.get("meta") or {}
    return out


class QueryStore(SqlStoreBase):
    def _dup_hashes(self):
        return (
            select(L.c.sha256).where(L.c.state.in_(PRESENT), L.c.sha256.is_not(None))
            .group_by(L.c.sha256).having(func.count() > 1)
        )

    def _where(self, q: LoraQuery) -> list:
        conds: list = []
        match = match_clause(self.dialect, q.query, L.c.id)
        if match is not None:
            conds.append(match)
        if q.base:
            conds.append(func.coalesce(U.c.base_override, L.c.base_family) == q.base)
        for tag in q.tags:
            conds.append(L.c.id.in_(select(T.c.lora_id).where(T.c.tag == tag.strip().lower())))
        if q.folder:
            folder = q.folder.strip("/")
            conds.append(or_(L.c.folder == folder, L.c.folder.startswith(folder + "/", autoescape=True)))
        if q.favorite is not None:
            conds.append(func.coalesce(U.c.favorite, False) == q.favorite)
        if q.has_preview is not None:
            conds.append((L.c.preview_count > 0) == q.has_preview)
        if q.missing is not None:
            conds.append((L.c.state == "missing") if q.missing else (L.c.state != "missing"))
        if q.broken is not None:
            conds.append((L.c.state == "broken") if q.broken else (L.c.state != "broken"))
        if q.duplicate is not None:
            dup = and_(L.c.state.in_(PRESENT), L.c.sha256.in_(self._dup_hashes()))
            conds.append(dup if q.duplicate else ~dup)
        if q.network_type:
            conds.append(func.lower(L.c.network_type) == q.network_type.lower())
        if q.state:
            conds.append(L.c.state == q.state)
        elif q.missing is None and q.broken is None:
            conds.append(L.c.state != "trashed")
        return conds

    def list_loras(self, q: LoraQuery) -> Page:
        key = q.sort.lstrip("-")
        if key not in SORTS:
            raise InvalidInput(f"unknown sort {q.sort!r}", {"allowed": sorted(SORTS)})
        if not 1 <= q.limit <= MAX_LIMIT or q.offset < 0:
            raise InvalidInput(f"limit must be 1..{MAX_LIMIT} and offset >= 0")
        order = SORTS[key].desc() if q.sort.startswith("-") else SORTS[key].asc()
        joined = L.outerjoin(U, U.c.lora_id == L.c.id)
        conds = self._where(q)
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(joined).where(*conds)).scalar_one()
            rows = conn.execute(
                select(*LIST_COLUMNS, *USER_COLUMNS).select_from(joined).where(*conds).order_by(order, L.c.id).limit(q.limit).offset(q.offset)
            ).mappings().all()
            tags = self._tags_for(conn, [r["id"] for r in rows])
        items = [entry(r, r, tags.get(r["id"], [])) for r in rows]
        return Page(total=int(total), items=items, limit=q.limit, offset=q.offset)

    def _tags_for(self, conn, ids: list[int]) -> dict[int, list[str]]:
        out: dict[int, list[str]] = {}
        if ids:
            for lid, tag in conn.execute(select(T.c.lora_id, T.c.tag).where(T.c.lora_id.in_(ids)).order_by(T.c.tag)):
                out.setdefault(lid, []).append(tag)
        return out

    def resolve(self, key: str | int) -> int:
        """Id of the LoRA known by `key`: id, prompt name, file name, or any hash form."""
        key = str(key).strip()
        with self.engine.connect() as conn:
            if key.isdigit() and len(key) < 8:
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
        with self.engine.connect() as conn:
            row = conn.execute(select(L).where(L.c.id == lid)).mappings().one()
            user = conn.execute(select(U).where(U.c.lora_id == lid)).mappings().first()
            tags = self._tags_for(conn, [lid]).get(lid, [])
            out = entry(row, user, tags, detail=True)
            if row["sha256"]:
                others = conn.execute(
                    select(L.c.id, L.c.path).where(L.c.sha256 == row["sha256"], L.c.id != lid, L.c.state.in_(PRESENT))
                ).all()
                out["duplicates"] = [{"id": i, "path": p} for i, p in others]
            else:
                out["duplicates"] = []
        return out

    def paths(self, ids: list[int]) -> dict[int, tuple[str, str, str]]:
        """{id: (path, root, state)} for file operations."""
        with self.engine.connect() as conn:
            return {r[0]: (r[1], r[2], r[3]) for r in conn.execute(select(L.c.id, L.c.path, L.c.root, L.c.state).where(L.c.id.in_(ids)))}

    def tag_counts(self) -> list[tuple[str, int]]:
        with self.engine.connect() as conn:
            q = select(T.c.tag, func.count()).join(L, L.c.id == T.c.lora_id).where(L.c.state != "trashed").group_by(T.c.tag).order_by(func.count().desc(), T.c.tag)
            return [(t, int(n)) for t, n in conn.execute(q)]

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            by_state = dict(conn.execute(select(L.c.state, func.count()).group_by(L.c.state)).all())
        return {state: int(by_state.get(state, 0)) for state in ("ok", "broken", "unsupported", "missing", "trashed")}
