"""Rows of the library actions the user asks for: forget, delete for good, a folder renamed,
user data merged (duplicates resolved), the facts auto-organize renders a folder from."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from typing import Any

from sqlalchemy import delete, func, or_, select, update

from .base import L, T, U, chunks, utcnow
from .db import Db
from .failures import retry_conflicts
from .models import CollectionItem
from .scan_store import PRESENT

CI = CollectionItem.__table__
ORGANIZE_COLUMNS = (L.c.id, L.c.path, L.c.root, L.c.state, L.c.file_name, L.c.title, L.c.base_family, L.c.base_label,
                    L.c.network_type, L.c.author, L.c.source_tags, U.c.base_override)


class FileOpsStore(ABC):
    """What the library actions write and read besides a single move (catalog/fileops.py's own)."""

    @abstractmethod
    def drop(self, lid: int, state: str) -> bool:
        """Delete the row `lid` with its user data, only while it is in `state`; whether it was."""

    @abstractmethod
    def ids_in_state(self, state: str) -> list[int]:
        """Ids of every row in `state`, in id order."""

    @abstractmethod
    def rebase(self, old: str, new: str) -> int:
        """A folder was renamed on disk from `old` to `new` (absolute): rows under it point there now
        (path, folder; a trashed row's original place too). Returns the present rows moved."""

    @abstractmethod
    def merge_user(self, keep: int, others: list[int]) -> None:
        """Carry user data of `others` onto `keep`: tags and collections united, favourite if any is,
        the highest rating, notes joined, the others' values where `keep` has none (trigger words too)."""

    @abstractmethod
    def organize_rows(self, ids: list[int] | None) -> list[dict[str, Any]]:
        """Facts a folder template is rendered from, of `ids` (None: every present row), with `first_tag`
        (the user's first tag, alphabetically)."""


class SqlFileOpsStore(FileOpsStore):
    def __init__(self, db: Db):
        self.db = db

    @retry_conflicts
    def drop(self, lid: int, state: str) -> bool:
        with self.db.engine.begin() as conn:
            if conn.execute(select(L.c.state).where(L.c.id == lid).with_for_update()).scalar() != state:
                return False
            for table in (CI, T, U):  # the foreign keys cascade too; said here for any database
                conn.execute(delete(table).where(table.c.lora_id == lid))
            conn.execute(delete(L).where(L.c.id == lid, L.c.state == state))
        return True

    def ids_in_state(self, state: str) -> list[int]:
        with self.db.engine.connect() as conn:
            return list(conn.execute(select(L.c.id).where(L.c.state == state).order_by(L.c.id)).scalars())

    @retry_conflicts
    def rebase(self, old: str, new: str) -> int:
        prefix = old + os.sep
        moved = 0
        with self.db.engine.begin() as conn:
            under = or_(L.c.path.startswith(prefix, autoescape=True),
                        L.c.trash_path.startswith(prefix, autoescape=True))
            rows = conn.execute(select(L.c.id, L.c.path, L.c.root, L.c.state, L.c.trash_path).where(under)
                                .order_by(L.c.id).with_for_update()).all()
            for lid, path, root, state, trash_path in rows:
                values: dict[str, Any] = {"updated_at": utcnow()}
                if trash_path and trash_path.startswith(prefix):
                    values["trash_path"] = new + trash_path[len(old):]
                if path.startswith(prefix):
                    values["path"] = new_path = new + path[len(old):]
                    rel = os.path.relpath(os.path.dirname(new_path), root)
                    values["folder"] = "" if rel == "." else rel.replace(os.sep, "/")
                    moved += state in PRESENT
                conn.execute(update(L).where(L.c.id == lid).values(**values))
            if self.db.host:  # several hosts: this host's locations under the folder follow it
                _rebase_locations(conn, self.db.host, old, new)
        return moved

    @retry_conflicts
    def merge_user(self, keep: int, others: list[int]) -> None:
        others = [o for o in others if o != keep]
        if not others:
            return
        with self.db.engine.begin() as conn:
            self.db.existing_ids(conn, [keep, *others])
            have = set(conn.execute(select(T.c.tag).where(T.c.lora_id == keep)).scalars())
            tags = set(conn.execute(select(T.c.tag).where(T.c.lora_id.in_(others))).scalars()) - have
            if tags:
                conn.execute(T.insert(), [{"lora_id": keep, "tag": t} for t in sorted(tags)])
            inside = set(conn.execute(select(CI.c.collection_id).where(CI.c.lora_id == keep)).scalars())
            cols = set(conn.execute(select(CI.c.collection_id).where(CI.c.lora_id.in_(others))).scalars()) - inside
            if cols:
                conn.execute(CI.insert(), [{"collection_id": c, "lora_id": keep} for c in sorted(cols)])
            theirs = [dict(r) for r in conn.execute(select(U).where(U.c.lora_id.in_(others)).order_by(U.c.lora_id))
                      .mappings()]
            if theirs:
                self.db.ensure_user(conn, [keep])
                mine = dict(conn.execute(select(U).where(U.c.lora_id == keep)).mappings().one())
                values = merged_user(mine, theirs)
                if values:
                    conn.execute(update(U).where(U.c.lora_id == keep).values(**values, updated_at=utcnow()))
            self.db.refresh_search(conn, [keep])

    def organize_rows(self, ids: list[int] | None) -> list[dict[str, Any]]:
        q = select(*ORGANIZE_COLUMNS).select_from(L.outerjoin(U, U.c.lora_id == L.c.id))
        first_tag = select(T.c.lora_id, func.min(T.c.tag).label("tag")).group_by(T.c.lora_id)
        out: list[dict[str, Any]] = []
        with self.db.engine.connect() as conn:
            parts = [q.where(L.c.state.in_(PRESENT)).order_by(L.c.id)] if ids is None else \
                [q.where(L.c.id.in_(part)).order_by(L.c.id) for part in chunks(ids)]
            for stmt in parts:
                out += [dict(r) for r in conn.execute(stmt).mappings()]
            found = [r["id"] for r in out]
            tags: dict[int, str] = {}
            for part in chunks(found):
                tags.update(conn.execute(first_tag.where(T.c.lora_id.in_(part))).all())
        for r in out:
            r["first_tag"] = tags.get(r["id"])
        return out


def merged_user(mine: dict[str, Any], theirs: list[dict[str, Any]]) -> dict[str, Any]:
    """The values to write onto `mine` (a user row) from the others' rows (pure)."""
    values: dict[str, Any] = {}
    if not mine.get("favorite") and any(t.get("favorite") for t in theirs):
        values["favorite"] = True
    ratings = [r for r in [mine.get("rating"), *(t.get("rating") for t in theirs)] if r is not None]
    if ratings and max(ratings) != mine.get("rating"):
        values["rating"] = max(ratings)
    notes = [mine.get("notes") or ""]
    for t in theirs:
        text = (t.get("notes") or "").strip()
        if text and not any(text in n for n in notes):
            notes.append(text)
    joined = "\n\n".join(n for n in notes if n.strip())
    if joined != (mine.get("notes") or ""):
        values["notes"] = joined
    for name, value in mine.items():  # trigger words, weights, negative text, ...: fill what is not set
        if name in ("lora_id", "updated_at", "favorite", "rating", "notes") or value is not None or name in values:
            continue
        given = next((t[name] for t in theirs if t.get(name) is not None), None)
        if given is not None:
            values[name] = given
    lo, hi = values.get("weight_min", mine.get("weight_min")), values.get("weight_max", mine.get("weight_max"))
    if lo is not None and hi is not None and lo > hi:
        values.pop("weight_min", None)
        values.pop("weight_max", None)
    return values


def _rebase_locations(conn, host: str, old: str, new: str) -> None:
    from .host_models import FileLocation

    FL = FileLocation.__table__
    prefix = old + os.sep
    rows = conn.execute(select(FL.c.lora_id, FL.c.path, FL.c.root).where(
        FL.c.host_id == host, FL.c.path.startswith(prefix, autoescape=True))).all()
    for lid, path, root in rows:
        new_path = new + path[len(old):]
        rel = os.path.relpath(os.path.dirname(new_path), root)
        conn.execute(update(FL).where(FL.c.lora_id == lid, FL.c.host_id == host).values(
            path=new_path, folder="" if rel == "." else rel.replace(os.sep, "/")))
