"""The SQL of Civitai's records: lookups by hash, versions and models (storage/civitai_models.py).

`CivitaiStore` is the contract the Civitai service uses; `SqlCivitaiStore` implements it over a
`Db` (SQLite or PostgreSQL). It reads the few `loras` columns it needs and writes its own tables, and the
model tags (`lora_model_tags`) of the LoRAs whose hash a record is stored for (storage/derived.py).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Engine, Text, and_, exists, func, not_, or_, select, type_coerce

from .base import H, LH, chunks
from .civitai_models import CivitaiLookup, CivitaiModel, CivitaiVersion
from .db import Db
from .failures import retry_conflicts
from .hash_writes import tags_turn
from .models import Lora

L = Lora.__table__
LK = CivitaiLookup.__table__
V = CivitaiVersion.__table__
M = CivitaiModel.__table__
ON_DISK = ("ok",)  # LoRAs a fetch looks up: files that are there and are LoRAs


@dataclass(slots=True)
class LoraTarget:
    """What a fetch needs of one LoRA."""

    id: int
    path: str
    state: str
    sha256: str | None  # None until the file is hashed (or while its hash is stale)
    previews: list[dict[str, Any]] = field(default_factory=list)
    sidecars: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class Stored:
    data: dict[str, Any]
    etag: str | None
    fetched_at: datetime


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class CivitaiStore(abc.ABC):
    @abc.abstractmethod
    def lacking(self, cutoff: datetime, *, after: int = 0, limit: int = 500, refresh: bool = False) -> list[LoraTarget]:
        """Hashed LoRAs on disk, by id after `after`, whose hash has no record: neither found nor
        "not found" since `cutoff`. With `refresh`, found ones too (not the recent "not found")."""

    @abc.abstractmethod
    def lacking_count(self, cutoff: datetime) -> int:
        """How many LoRAs `lacking(cutoff)` would give in all."""

    @abc.abstractmethod
    def targets(self, ids: list[int]) -> list[LoraTarget]:
        """The LoRAs of `ids` (any state), in id order; unknown ids are left out."""

    @abc.abstractmethod
    def same_hash(self, sha256: str) -> list[LoraTarget]:
        """Hashed LoRAs on disk whose file has this SHA-256 (duplicates share Civitai's record)."""

    @abc.abstractmethod
    def lookup(self, sha256: str) -> dict[str, Any] | None:
        """{status, version_id, matched_by, checked_at} of a hash, or None when never asked."""

    @abc.abstractmethod
    def version(self, version_id: int) -> Stored | None: ...

    @abc.abstractmethod
    def model(self, model_id: int) -> Stored | None: ...

    @abc.abstractmethod
    def save_found(self, sha256: str, matched_by: str, version: Stored, model: Stored | None) -> None:
        """Store a version (and its model, when given) and the hash's lookup, in one transaction; the LoRAs with
        this hash get the model's tags as their own (`lora_model_tags`)."""

    @abc.abstractmethod
    def save_not_found(self, sha256: str) -> None:
        """Remember, with today's date, that Civitai does not know this hash (its LoRAs lose the tags of a record
        stored before)."""

    @abc.abstractmethod
    def record(self, lora_id: int) -> dict[str, Any] | None:
        """{lookup, version, model} for a LoRA's current hash (None when never asked)."""

    @abc.abstractmethod
    def version_guesses(self, ids: list[int] | None = None) -> dict[int, str]:
        """Hashed LoRAs (of `ids`, or all) whose Civitai model sidecar's version was picked by name or as
        the first, without their hash: {id: sha256}, to pick it again with the hash (docs/formats.md)."""

    @abc.abstractmethod
    def counts(self, cutoff: datetime) -> dict[str, int]:
        """LoRAs on disk by record: found, not_found, lacking (what a bulk fetch would ask about)."""


class SqlCivitaiStore(CivitaiStore):
    def __init__(self, db: Db):
        self.db = db
        self.engine: Engine = db.engine
        self.dialect = db.dialect
        self._upserts: dict[str, Any] = {}

    # --- reads ----------------------------------------------------------------------------------
    @staticmethod
    def _hashed():
        # The hash row's size, mtime and state are its LoRA's (kept by triggers: hash_models.py).
        return and_(H.c.sha256.is_not(None), H.c.hashed_size == H.c.size, H.c.hashed_mtime_ns == H.c.mtime_ns,
                    H.c.state.in_(ON_DISK))

    @staticmethod
    def _known(cutoff: datetime, refresh: bool):
        recent_miss = and_(LK.c.status == "not_found", LK.c.checked_at >= cutoff)
        usable = recent_miss if refresh else or_(LK.c.status == "found", recent_miss)
        return exists().where(LK.c.sha256 == H.c.sha256, usable)

    def lacking(self, cutoff: datetime, *, after: int = 0, limit: int = 500, refresh: bool = False) -> list[LoraTarget]:
        q = (select(L.c.id, L.c.path, L.c.state, H.c.sha256, L.c.previews, L.c.sidecars).select_from(LH)
             .where(self._hashed(), L.c.id > after, not_(self._known(cutoff, refresh))).order_by(L.c.id).limit(limit))
        with self.engine.connect() as conn:
            return [_target(r, r.sha256) for r in conn.execute(q)]

    def lacking_count(self, cutoff: datetime) -> int:
        q = select(func.count()).select_from(H).where(self._hashed(), not_(self._known(cutoff, False)))
        with self.engine.connect() as conn:
            return int(conn.execute(q).scalar() or 0)

    def targets(self, ids: list[int]) -> list[LoraTarget]:
        cols = (L.c.id, L.c.path, L.c.state, H.c.sha256, L.c.previews, L.c.sidecars, L.c.size, L.c.mtime_ns,
                H.c.hashed_size, H.c.hashed_mtime_ns)
        out: list[LoraTarget] = []
        with self.engine.connect() as conn:
            for i in range(0, len(ids), 500):
                part = sorted(set(ids[i:i + 500]))
                for r in conn.execute(select(*cols).select_from(LH).where(L.c.id.in_(part))):
                    fresh = r.hashed_size == r.size and r.hashed_mtime_ns == r.mtime_ns
                    out.append(_target(r, r.sha256 if fresh else None))
        return sorted(out, key=lambda t: t.id)

    def same_hash(self, sha256: str) -> list[LoraTarget]:
        q = (select(L.c.id, L.c.path, L.c.state, H.c.sha256, L.c.previews, L.c.sidecars).select_from(LH)
             .where(H.c.sha256 == sha256, self._hashed()).order_by(L.c.id))
        with self.engine.connect() as conn:
            return [_target(r, r.sha256) for r in conn.execute(q)]

    def lookup(self, sha256: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(LK).where(LK.c.sha256 == sha256)).mappings().first()
        return _lookup(row) if row else None

    def version(self, version_id: int) -> Stored | None:
        return self._stored(V, V.c.version_id, version_id)

    def model(self, model_id: int) -> Stored | None:
        return self._stored(M, M.c.model_id, model_id)

    def _stored(self, table, key, value: int) -> Stored | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(table.c.data, table.c.etag, table.c.fetched_at).where(key == value)).first()
        return Stored(row.data, row.etag, row.fetched_at) if row else None

    def record(self, lora_id: int) -> dict[str, Any] | None:
        q = (select(LK, V.c.data.label("version"), V.c.fetched_at.label("version_fetched_at"),
                    M.c.data.label("model"))
             .select_from(H.join(LK, LK.c.sha256 == H.c.sha256).outerjoin(V, V.c.version_id == LK.c.version_id)
                          .outerjoin(M, M.c.model_id == V.c.model_id))
             .where(H.c.lora_id == lora_id))
        with self.engine.connect() as conn:
            row = conn.execute(q).mappings().first()
        if row is None:
            return None
        return {"lookup": _lookup(row), "version": row["version"], "model": row["model"],
                "fetched_at": row["version_fetched_at"]}

    def version_guesses(self, ids: list[int] | None = None) -> dict[int, str]:
        text = type_coerce(L.c.sidecars, Text)  # the JSON's text: a pattern is no JSON value
        guessed = or_(text.like('%"version_match":"first"%'), text.like('%"version_match":"name"%'))
        q = select(L.c.id, H.c.sha256, L.c.sidecars).select_from(LH).where(self._hashed(), guessed)
        out: dict[int, str] = {}
        # Given ids: found by primary key, 500 at a time (within SQLite's limit of bound values).
        parts = [q] if ids is None else [q.where(L.c.id.in_(part)) for part in chunks(sorted(set(ids)))]
        with self.engine.connect() as conn:
            for part in parts:
                for r in conn.execute(part):
                    if any(
                        isinstance(s, dict)
                        and s.get("version_match") in ("first", "name")
                        and not s.get("hash_checked")
                        for s in r.sidecars or ()
                    ):
                        out[r.id] = r.sha256
        return out

    def counts(self, cutoff: datetime) -> dict[str, int]:
        status = select(LK.c.status).where(LK.c.sha256 == H.c.sha256).limit(1).scalar_subquery()
        q = select(status.label("status"), func.count()).select_from(H).where(self._hashed()).group_by(status)
        with self.engine.connect() as conn:
            by = {s: int(n) for s, n in conn.execute(q)}
        return {"found": by.get("found", 0), "not_found": by.get("not_found", 0),
                "lacking": self.lacking_count(cutoff)}

    # --- writes ---------------------------------------------------------------------------------
    def _upsert(self, conn, table, row: dict[str, Any], key: str) -> None:
        """INSERT ... ON CONFLICT (key) DO UPDATE, one statement per table built once (values bound per call)."""
        stmt = self._upserts.get(table.name)
        if stmt is None:
            if self.dialect == "postgresql":
                from sqlalchemy.dialects.postgresql import insert
            else:
                from sqlalchemy.dialects.sqlite import insert
            ins = insert(table)
            stmt = self._upserts[table.name] = ins.on_conflict_do_update(
                index_elements=[key], set_={c.name: ins.excluded[c.name] for c in table.c if c.name != key})
        conn.execute(stmt, row)

    @retry_conflicts  # one transaction, safe to run again; on SQLite it takes its turn with our other writers
    def save_found(self, sha256: str, matched_by: str, version: Stored, model: Stored | None) -> None:
        vid = int(version.data["id"])
        mid = version.data.get("modelId")
        with self.engine.begin() as conn:
            tags_turn(conn, self.dialect)  # the holders read after any hash write in flight (hash_writes.py)
            ids = self._holders(conn, sha256)
            self._upsert(conn, V, {"version_id": vid, "model_id": int(mid) if isinstance(mid, int) else None,
                                   "data": version.data, "etag": version.etag, "fetched_at": version.fetched_at},
                         "version_id")
            if model is not None:
                self._upsert(conn, M, {"model_id": int(model.data["id"]), "data": model.data, "etag": model.etag,
                                       "fetched_at": model.fetched_at}, "model_id")
            self._upsert(conn, LK, {"sha256": sha256, "status": "found", "version_id": vid, "matched_by": matched_by,
                                    "checked_at": utcnow()}, "sha256")
            if ids:
                self.db.refresh_search(conn, ids)

    @retry_conflicts
    def save_not_found(self, sha256: str) -> None:
        with self.engine.begin() as conn:
            tags_turn(conn, self.dialect)
            ids = self._holders(conn, sha256)
            self._upsert(conn, LK, {"sha256": sha256, "status": "not_found", "version_id": None, "matched_by": None,
                                    "checked_at": utcnow()}, "sha256")
            if ids:  # a record taken down since: its tags are no longer the LoRAs' own
                self.db.refresh_search(conn, ids)

    def _holders(self, conn, sha256: str) -> list[int]:
        """The LoRAs with this hash, their rows locked first and in id order (docs/data-safety.md): their model
        tags follow the stored record (storage/derived.py)."""
        return self.db.existing_ids(conn, conn.execute(select(H.c.lora_id).where(H.c.sha256 == sha256)).scalars())


def _target(r, sha256: str | None) -> LoraTarget:
    return LoraTarget(r.id, r.path, r.state, sha256, list(r.previews or []), list(r.sidecars or []))


def _lookup(row) -> dict[str, Any]:
    checked = row["checked_at"]
    if checked is not None and checked.tzinfo is None:  # SQLite gives naive UTC
        checked = checked.replace(tzinfo=timezone.utc)
    return {"status": row["status"], "version_id": row["version_id"], "matched_by": row["matched_by"],
            "checked_at": checked}
