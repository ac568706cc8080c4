"""The SQL of Civitai update checks and downloads (storage/civitai_dl_models.py).

`CivitaiDlStore` is the contract the update checker and the download queue use;
`SqlCivitaiDlStore` implements it over the database (`Db`: SQLite or PostgreSQL). Besides its own tables it
reads the `loras` rows' sidecar facts (which Civitai model and version a LoRA is) and, for a
download that replaces an older version, moves or copies the user's rows (lora_user, lora_tags,
collection_items) from the old entry to the new one.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import and_, delete, func, select, update

from .base import H, LH
from .db import Db
from .civitai_dl_models import CivitaiDownload, CivitaiLoraUpdate, CivitaiUpdateModel
from .civitai_models import CivitaiLookup, CivitaiVersion
from .models import CollectionItem, Lora, LoraTag, LoraUser

L = Lora.__table__
U = LoraUser.__table__
LK = CivitaiLookup.__table__
V = CivitaiVersion.__table__
T = LoraTag.__table__
CI = CollectionItem.__table__
DL = CivitaiDownload.__table__
UM = CivitaiUpdateModel.__table__
UP = CivitaiLoraUpdate.__table__
LINKED_STATES = ("ok", "unsupported")  # LoRAs on disk whose update is worth knowing


@dataclass(slots=True, frozen=True)
class Link:
    """A LoRA on disk that names its Civitai model (and version, when known) in a sidecar."""

    lora_id: int
    model_id: int
    version_id: int | None


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def aware(value: datetime | None) -> datetime | None:
    """SQLite gives naive UTC back."""
    return value.replace(tzinfo=timezone.utc) if value is not None and value.tzinfo is None else value


def with_update():
    """LoRA ids with a newer version on Civitai (the list's `update_available` filter)."""
    return select(UP.c.lora_id).where(UP.c.newer > 0)


class CivitaiDlStore(abc.ABC):
    # --- downloads --------------------------------------------------------------------------------
    @abc.abstractmethod
    def add_download(self, row: dict[str, Any]) -> None: ...

    @abc.abstractmethod
    def update_download(self, job_id: str, values: dict[str, Any]) -> None: ...

    @abc.abstractmethod
    def download(self, job_id: str) -> dict[str, Any] | None: ...

    @abc.abstractmethod
    def downloads(self, limit: int = 200) -> list[dict[str, Any]]:
        """Newest first."""

    @abc.abstractmethod
    def remove_download(self, job_id: str) -> None: ...

    @abc.abstractmethod
    def present_with_hash(self, sha256: str) -> tuple[int, str] | None:
        """(id, path) of a LoRA on disk with this full hash, if any."""

    @abc.abstractmethod
    def carry_user_data(self, src: int, dst: int, *, move: bool) -> None:
        """Give `dst` what the user said about `src` (favourite, rating, notes, triggers, weights,
        negative text, base override, tags, collections); with `move`, `src` keeps none of it."""

    # --- updates ----------------------------------------------------------------------------------
    @abc.abstractmethod
    def links(self) -> list[Link]:
        """LoRAs on disk that name a Civitai model in a sidecar, by id."""

    @abc.abstractmethod
    def models(self, model_ids: list[int] | None = None) -> dict[int, dict[str, Any]]: ...

    @abc.abstractmethod
    def save_model(self, model_id: int, *, status: str, name: str | None = None, versions: list | None = None,
                   etag: str | None = None, error: str | None = None) -> None:
        """Store a check's answer; a failed check keeps the versions known before."""

    @abc.abstractmethod
    def set_flags(self, rows: list[dict[str, Any]]) -> None:
        """Replace every LoRA's update flag with `rows` (one transaction)."""

    @abc.abstractmethod
    def flags(self, *, only_newer: bool, lora_id: int | None = None) -> list[dict[str, Any]]:
        """Flags joined with the LoRA's names and path, by file name."""

    @abc.abstractmethod
    def last_checked(self) -> datetime | None: ...


class SqlCivitaiDlStore(CivitaiDlStore):
    def __init__(self, db: Db):
        self.db = db
        self.engine = db.engine

    # --- downloads --------------------------------------------------------------------------------
    def add_download(self, row: dict[str, Any]) -> None:
        now = utcnow()
        with self.engine.begin() as conn:
            conn.execute(DL.insert().values(**{"done_bytes": 0, "replace": False, "carry_user_data": False, **row,
                                              "created_at": now, "updated_at": now}))

    def update_download(self, job_id: str, values: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(DL).where(DL.c.id == job_id).values(**values, updated_at=utcnow()))

    def download(self, job_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(DL).where(DL.c.id == job_id)).mappings().first()
        return _job(row) if row else None

    def downloads(self, limit: int = 200) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(DL).order_by(DL.c.created_at.desc(), DL.c.id).limit(limit)).mappings().all()
        return [_job(r) for r in rows]

    def remove_download(self, job_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(DL).where(DL.c.id == job_id))

    def present_with_hash(self, sha256: str) -> tuple[int, str] | None:
        q = (select(L.c.id, L.c.path).select_from(LH).where(H.c.sha256 == sha256.lower(), L.c.state.in_(LINKED_STATES))
             .order_by(L.c.id).limit(1))
        with self.engine.connect() as conn:
            row = conn.execute(q).first()
        return (row.id, row.path) if row else None

    def carry_user_data(self, src: int, dst: int, *, move: bool) -> None:
        with self.engine.begin() as conn:
            user = conn.execute(select(U).where(U.c.lora_id == src)).mappings().first()
            if user is not None:
                conn.execute(delete(U).where(U.c.lora_id == dst))
                conn.execute(U.insert().values(**{**dict(user), "lora_id": dst, "updated_at": utcnow()}))
            tags = [t for (t,) in conn.execute(select(T.c.tag).where(T.c.lora_id == src))]
            have = {t for (t,) in conn.execute(select(T.c.tag).where(T.c.lora_id == dst))}
            if set(tags) - have:
                conn.execute(T.insert(), [{"lora_id": dst, "tag": t} for t in tags if t not in have])
            cols = [c for (c,) in conn.execute(select(CI.c.collection_id).where(CI.c.lora_id == src))]
            inside = {c for (c,) in conn.execute(select(CI.c.collection_id).where(CI.c.lora_id == dst))}
            if set(cols) - inside:
                conn.execute(CI.insert(), [{"collection_id": c, "lora_id": dst} for c in cols if c not in inside])
            if move:
                for table in (U, T, CI):
                    conn.execute(delete(table).where(table.c.lora_id == src))
            if tags or user is not None:
                self.db.refresh_search(conn, [src, dst] if move else [dst])

    # --- updates ----------------------------------------------------------------------------------
    def links(self) -> list[Link]:
        """LoRAs on disk that name their Civitai model: in a sidecar, else through the record a fetch by hash
        stored (so a LoRA looked up with sidecar writing off is checked for updates too)."""
        q = (select(L.c.id, L.c.sidecars).where(L.c.state.in_(LINKED_STATES), L.c.sidecars.contains("civitai_model_id"))
             .order_by(L.c.id))
        fetched = (select(L.c.id, V.c.model_id, V.c.version_id).select_from(LH)
                   .join(LK, and_(LK.c.sha256 == H.c.sha256, LK.c.status == "found"))
                   .join(V, V.c.version_id == LK.c.version_id)
                   .where(L.c.state.in_(LINKED_STATES), V.c.model_id.is_not(None)))
        out: dict[int, Link] = {}
        with self.engine.connect() as conn:
            for lid, sidecars in conn.execute(q):
                link = _link(lid, sidecars or [])
                if link is not None:
                    out[lid] = link
            for lid, model_id, version_id in conn.execute(fetched):
                out.setdefault(lid, Link(lid, int(model_id), int(version_id)))
        return [out[lid] for lid in sorted(out)]

    def models(self, model_ids: list[int] | None = None) -> dict[int, dict[str, Any]]:
        q = select(UM)
        if model_ids is not None:
            q = q.where(UM.c.model_id.in_(sorted(set(model_ids))))
        with self.engine.connect() as conn:
            return {r["model_id"]: {**dict(r), "checked_at": aware(r["checked_at"])}
                    for r in conn.execute(q).mappings()}

    def save_model(self, model_id: int, *, status: str, name: str | None = None, versions: list | None = None,
                   etag: str | None = None, error: str | None = None) -> None:
        values: dict[str, Any] = {"status": status, "error": error, "checked_at": utcnow()}
        if status != "failed":  # a failure keeps what was known
            values.update(name=name, versions=versions or [], etag=etag)
        with self.engine.begin() as conn:
            found = conn.execute(update(UM).where(UM.c.model_id == model_id).values(**values)).rowcount
            if not found:
                conn.execute(UM.insert().values(model_id=model_id, **{"versions": [], **values}))

    def set_flags(self, rows: list[dict[str, Any]]) -> None:
        now = utcnow()
        with self.engine.begin() as conn:
            conn.execute(delete(UP))
            live = {i for (i,) in conn.execute(select(L.c.id).where(L.c.id.in_([r["lora_id"] for r in rows])))} \
                if rows else set()
            rows = [{**r, "checked_at": now} for r in rows if r["lora_id"] in live]  # removed meanwhile: left out
            if rows:
                conn.execute(UP.insert(), rows)

    def flags(self, *, only_newer: bool, lora_id: int | None = None) -> list[dict[str, Any]]:
        q = (select(UP, L.c.prompt_name, L.c.file_name, L.c.path).select_from(UP.join(L, L.c.id == UP.c.lora_id))
             .order_by(L.c.file_name, UP.c.lora_id))
        if only_newer:
            q = q.where(UP.c.newer > 0)
        if lora_id is not None:
            q = q.where(UP.c.lora_id == lora_id)
        with self.engine.connect() as conn:
            return [{**dict(r), "checked_at": aware(r["checked_at"])} for r in conn.execute(q).mappings()]

    def last_checked(self) -> datetime | None:
        with self.engine.connect() as conn:
            return aware(conn.execute(select(func.max(UM.c.checked_at))).scalar())


def _job(row) -> dict[str, Any]:
    job = dict(row)
    for key in ("created_at", "updated_at"):
        job[key] = aware(job[key])
    return job


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _link(lid: int, sidecars: list[Any]) -> Link | None:
    """The sidecar that names a version wins over one naming only the model."""
    best: Link | None = None
    for side in sidecars:
        if not isinstance(side, dict) or _int(side.get("civitai_model_id")) is None:
            continue
        link = Link(lid, side["civitai_model_id"], _int(side.get("civitai_version_id")))
        if link.version_id is not None:
            return link
        best = best or link
    return best
