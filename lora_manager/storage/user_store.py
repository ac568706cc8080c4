"""Writes of user data: edits, bulk edits, tags, collections; and row moves the user asked for."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from sqlalchemy import delete, select, update

from ..errors import NotFound
from .base import L, T, U, utcnow
from .db import Db
from .failures import retry_conflicts
from .models import Collection, CollectionItem
from .location_store import follow
from .scan_store import FACT_COLUMNS

C = Collection.__table__
CI = CollectionItem.__table__


class UserStore(ABC):
    """What the user changes: edits, tags, collections; and the rows of files the user moved or trashed through us.

    Every write takes the `loras` rows it touches first, in id order (docs/data-safety.md);
    ids that do not exist (any more) are skipped, never an error."""

    @abstractmethod
    def edit(self, ids: list[int], values: dict[str, Any]) -> int:
        """Apply validated user fields (see userdata.validate_edit; `tags` replaces the tags) to `ids`.
        Returns how many rows exist of them."""

    @abstractmethod
    def user_weights(self, lid: int) -> tuple[float | None, float | None]:
        """The user's (weight_min, weight_max) of one LoRA."""

    @abstractmethod
    def add_tags(self, ids: list[int], tags: list[str]) -> int:
        """Add normalised tags to `ids` (one already there is no error); returns the rows that exist."""

    @abstractmethod
    def remove_tags(self, ids: list[int], tags: list[str]) -> int:
        """Remove tags from `ids`; returns the rows that exist."""

    @abstractmethod
    def relocate(self, lid: int, row: dict[str, Any]) -> None:
        """The user moved or renamed the file through us: new path and facts (a probe row), same id."""

    @abstractmethod
    def set_trashed(self, lid: int, in_trash: str | None, *, original: str) -> None:
        """Trashed: the row's path is `in_trash` and the original place is kept; restored (None): back at `original`."""

    @abstractmethod
    def trash_path(self, lid: int) -> str | None:
        """Where a trashed LoRA came from."""

    @abstractmethod
    def id_at_path(self, path: str) -> int | None:
        """The id of the row at `path`, if any."""

    @abstractmethod
    def collection_id(self, name: str, create: bool = False) -> int:
        """The id of the collection `name`, made when `create`; NotFound otherwise."""

    @abstractmethod
    def collect(self, name: str, ids: list[int], add: bool = True) -> int:
        """Add `ids` to the collection `name` (made if needed) or take them out; returns the rows that exist."""

    @abstractmethod
    def collections(self) -> list[dict[str, Any]]:
        """[{id, name, lora_ids}] of every collection."""


class SqlUserStore(UserStore):
    def __init__(self, db: Db):
        self.db = db

    @retry_conflicts
    def edit(self, ids: list[int], values: dict[str, Any]) -> int:
        """Apply validated user fields (see userdata.validate_edit) to `ids`. Returns rows changed."""
        values = dict(values)
        tags = values.pop("tags", None)
        with self.db.engine.begin() as conn:
            ids = self.db.existing_ids(conn, ids)
            if not ids:
                return 0
            if values:
                self.db.ensure_user(conn, ids)
                conn.execute(update(U).where(U.c.lora_id.in_(ids)).values(**values, updated_at=utcnow()))
            if tags is not None:
                conn.execute(delete(T).where(T.c.lora_id.in_(ids)))
                if tags:
                    conn.execute(T.insert(), [{"lora_id": i, "tag": t} for i in ids for t in tags])
            if tags is not None or "triggers" in values or "display_name" in values:
                self.db.refresh_search(conn, ids)
        return len(ids)

    def user_weights(self, lid: int) -> tuple[float | None, float | None]:
        with self.db.engine.connect() as conn:
            row = conn.execute(select(U.c.weight_min, U.c.weight_max).where(U.c.lora_id == lid)).first()
        return (row[0], row[1]) if row else (None, None)

    @retry_conflicts
    def add_tags(self, ids: list[int], tags: list[str]) -> int:
        with self.db.engine.begin() as conn:
            ids = self.db.existing_ids(conn, ids)
            rows = [{"lora_id": i, "tag": t} for i in ids for t in tags]
            if rows:
                # Concurrent taggers may add the same pair: that is not an error.
                conn.execute(self.db.insert_ignore(T), rows)
            self.db.refresh_search(conn, ids)
        return len(ids)

    @retry_conflicts
    def remove_tags(self, ids: list[int], tags: list[str]) -> int:
        with self.db.engine.begin() as conn:
            ids = self.db.existing_ids(conn, ids)
            conn.execute(delete(T).where(T.c.lora_id.in_(ids), T.c.tag.in_(tags)))
            self.db.refresh_search(conn, ids)
        return len(ids)

    @retry_conflicts
    def relocate(self, lid: int, row: dict[str, Any]) -> None:
        """The user moved or renamed the file through us: new path and facts, same id."""
        values = {k: row[k] for k in FACT_COLUMNS if k in row}
        with self.db.engine.begin() as conn:
            self.db.existing_ids(conn, [lid])
            conn.execute(update(L).where(L.c.id == lid).values(**values, updated_at=utcnow()))
            follow(conn, self.db.host, lid, values)
            self.db.refresh_search(conn, [lid])

    @retry_conflicts
    def set_trashed(self, lid: int, in_trash: str | None, *, original: str) -> None:
        """Trashed: the row's path is the file in the trash and `trash_path` keeps the
        original place. Restored (in_trash None): back to the original path."""
        if in_trash:
            values = {"state": "trashed", "path": in_trash, "trash_path": original}
        else:
            values = {"state": "ok", "path": original, "trash_path": None}
        with self.db.engine.begin() as conn:
            conn.execute(update(L).where(L.c.id == lid).values(**values, updated_at=utcnow()))
            # this host's location follows: into the trash (its old place is free for a new file, as on one
            # host) and back where it was
            follow(conn, self.db.host, lid, values)

    def trash_path(self, lid: int) -> str | None:
        """Where a trashed LoRA came from."""
        with self.db.engine.connect() as conn:
            return conn.execute(select(L.c.trash_path).where(L.c.id == lid)).scalar()

    def id_at_path(self, path: str) -> int | None:
        with self.db.engine.connect() as conn:
            return conn.execute(select(L.c.id).where(L.c.path == path)).scalar()

    # --- collections ---------------------------------------------------
    @retry_conflicts
    def collection_id(self, name: str, create: bool = False) -> int:
        with self.db.engine.begin() as conn:
            cid = conn.execute(select(C.c.id).where(C.c.name == name)).scalar()
            if cid is None:
                if not create:
                    raise NotFound(f"no collection named {name[:100]!r}")
                conn.execute(self.db.insert_ignore(C).values(name=name, created_at=utcnow()))
                cid = conn.execute(select(C.c.id).where(C.c.name == name)).scalar_one()
        return cid

    @retry_conflicts
    def collect(self, name: str, ids: list[int], add: bool = True) -> int:
        cid = self.collection_id(name, create=add)
        with self.db.engine.begin() as conn:
            ids = self.db.existing_ids(conn, ids)
            if add and ids:
                conn.execute(self.db.insert_ignore(CI), [{"collection_id": cid, "lora_id": i} for i in ids])
            elif ids:
                conn.execute(delete(CI).where(CI.c.collection_id == cid, CI.c.lora_id.in_(ids)))
        return len(ids)

    def collections(self) -> list[dict[str, Any]]:
        with self.db.engine.connect() as conn:
            rows = conn.execute(select(C.c.id, C.c.name)).all()
            members: dict[int, list[int]] = {}
            for cid, lid in conn.execute(select(CI.c.collection_id, CI.c.lora_id)):
                members.setdefault(cid, []).append(lid)
        return [{"id": cid, "name": name, "lora_ids": sorted(members.get(cid, []))} for cid, name in rows]
