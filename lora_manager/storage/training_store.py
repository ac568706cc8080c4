"""Training tags and metadata read after a scan: the rows whose tags are not read yet, and both once read.

A large scan's header workers leave `training_tags` and `meta` as JSON null (`library/probe.py`; the
tags' null marks the row as waiting); the background pass of `sync/training.py` reads them from the
files and writes them here. A row is written only if
it still waits and still describes the header that was read (same size and header bytes), so a
rescan that rewrote it meanwhile always wins. With several hosts, each reads the files where it sees them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import orjson
from sqlalchemy import Text, and_, func, select, type_coerce

from ..library.records import NOT_READ as NOT_READ_JSON, LeftOut
from .base import L
from .host_models import FileLocation
from .db import Db
from .failures import retry_conflicts
from .scan_store import ON_DISK

FL = FileLocation.__table__
NOT_READ = NOT_READ_JSON.decode()  # the stored text of training tags not read yet


@dataclass(frozen=True, slots=True)
class TrainingTodo:
    """A row waiting for its training tags, and the file it describes."""

    id: int
    path: str
    size: int
    mtime_ns: int
    header_digest: str | None


class TrainingTagStore(ABC):
    @abstractmethod
    def waiting(self, after: int = 0, limit: int = 500) -> list[TrainingTodo]:
        """Up to `limit` rows on disk whose training tags are not read yet, by id, with ids above `after`
        (keyset: a pass walks the table once)."""

    @abstractmethod
    def waiting_count(self) -> int:
        """How many rows on disk wait for their training tags."""

    @abstractmethod
    def save(self, done: list[tuple[TrainingTodo, LeftOut]]) -> list[int]:
        """Store each row's training tags and metadata where the row still waits and has the todo's size
        and header digest (the header read); return the ids written."""


class SqlTrainingTagStore(TrainingTagStore):
    def __init__(self, db: Db):
        self.db = db

    @staticmethod
    def _waits():
        # Compared as the stored text (the column's own type would write the literal as JSON).
        return and_(type_coerce(L.c.training_tags, Text) == NOT_READ, L.c.state.in_(ON_DISK))

    def waiting(self, after: int = 0, limit: int = 500) -> list[TrainingTodo]:
        if self.db.host is None:
            q = select(L.c.id, L.c.path, L.c.size, L.c.mtime_ns, L.c.header_digest).where(self._waits())
        else:  # several hosts: the file where this host sees it (the row holds the last writer's path)
            q = (select(L.c.id, FL.c.path, FL.c.size, FL.c.mtime_ns, L.c.header_digest)
                 .select_from(L.join(FL, and_(FL.c.lora_id == L.c.id, FL.c.host_id == self.db.host)))
                 .where(type_coerce(L.c.training_tags, Text) == NOT_READ, FL.c.state.in_(ON_DISK)))
        q = q.where(L.c.id > after).order_by(L.c.id).limit(limit)
        with self.db.engine.connect() as conn:
            return [TrainingTodo(*r) for r in conn.execute(q)]

    def waiting_count(self) -> int:
        with self.db.engine.connect() as conn:
            return int(conn.execute(select(func.count()).where(self._waits())).scalar() or 0)

    @retry_conflicts
    def save(self, done: list[tuple[TrainingTodo, LeftOut]]) -> list[int]:
        if not done:
            return []
        ph = "?" if self.db.dialect == "sqlite" else "%s"
        # Straight to the driver, as the hashes are written.
        # The tags come from the header alone: the same size and header bytes are the same tags (the
        # mtime is not asked: it differs between hosts that each have a copy).
        sql = (f"UPDATE loras SET training_tags = {ph}, meta = {ph} WHERE id = {ph} AND training_tags = '{NOT_READ}' "
               f"AND size = {ph} AND header_digest IS NOT DISTINCT FROM {ph}")
        if self.db.dialect == "sqlite":
            sql = sql.replace("IS NOT DISTINCT FROM", "IS")
        done = sorted(done, key=lambda d: d[0].id)
        written: list[int] = []
        with self.db.engine.begin() as conn:  # SQLite: in our writer's turn (retry_conflicts)
            for t, (tags, meta) in done:
                p = (orjson.dumps(tags).decode(), orjson.dumps(meta).decode(), t.id, t.size, t.header_digest)
                if conn.exec_driver_sql(sql, p).rowcount:
                    written.append(t.id)
        return written
