"""The SQL of several hosts on one library: heartbeats, shared roots and their scan locks, change
notices (PostgreSQL LISTEN/NOTIFY). See docs/several-hosts.md."""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from sqlalchemy import select, text

from .base import chunks, utcnow
from .db import Db
from .failures import retry_conflicts
from .host_models import FileLocation, LibraryHost, LibraryRoot

H = LibraryHost.__table__
R = LibraryRoot.__table__
FL = FileLocation.__table__
log = logging.getLogger(__name__)
NOTIFY_LIMIT = 7000  # PostgreSQL's payload limit is 8000 bytes


class HostStore:
    def __init__(self, db: Db):
        self.db = db
        self._channel: str | None = None

    # --- heartbeats ------------------------------------------------------------------------------
    @retry_conflicts
    def beat(self, host_id: str, values: dict[str, Any], *, started: bool = False) -> None:
        """Upsert this host's row (name, kind, roots, checkpoint, family, busy, queue_depth)."""
        now = utcnow()
        row = {"host_id": host_id, "last_seen": now, **values}
        with self.db.engine.begin() as conn:
            found = conn.execute(select(H.c.host_id).where(H.c.host_id == host_id).with_for_update()).first()
            if found is None:
                conn.execute(H.insert().values(started_at=now, **row))
            else:
                extra = {"started_at": now} if started else {}
                conn.execute(H.update().where(H.c.host_id == host_id).values(**row, **extra))

    def hosts(self) -> list[dict[str, Any]]:
        with self.db.engine.connect() as conn:
            return [dict(r) for r in conn.execute(select(H).order_by(H.c.last_seen.desc(), H.c.host_id)).mappings()]

    def stale_before(self, seconds: float):
        return utcnow() - timedelta(seconds=seconds)

    # --- shared roots ----------------------------------------------------------------------------
    @retry_conflicts
    def root_key(self, host_id: str, root: str, fingerprint: str) -> str:
        """The key of the shared root `root` is on this host: kept once given; first given by another
        host's root with the same listing, else by one holding the files this host found under it,
        else the listing's own fingerprint."""
        with self.db.engine.begin() as conn:
            kept = conn.execute(select(R.c.root_key).where(R.c.host_id == host_id, R.c.root == root)).scalar()
            if kept:
                return kept
            key = conn.execute(select(R.c.root_key).where(R.c.fingerprint == fingerprint, R.c.host_id != host_id)
                               .order_by(R.c.root_key).limit(1)).scalar()
            if key is None:
                key = self._key_by_files(conn, host_id, root)
            key = key or fingerprint
            conn.execute(R.insert().values(host_id=host_id, root=root, root_key=key, fingerprint=fingerprint))
            return key

    def _key_by_files(self, conn, host_id: str, root: str) -> str | None:
        mine = list(conn.execute(select(FL.c.lora_id).where(FL.c.host_id == host_id, FL.c.root == root)
                                 .limit(50)).scalars())
        for part in chunks(mine):
            theirs = conn.execute(select(R.c.root_key).select_from(FL.join(R, (R.c.host_id == FL.c.host_id)
                                                                           & (R.c.root == FL.c.root)))
                                  .where(FL.c.lora_id.in_(part), FL.c.host_id != host_id).limit(1)).scalar()
            if theirs:
                return theirs
        return None

    @contextlib.contextmanager
    def root_locks(self, keys: list[str], wait: float, poll: float = 0.5,
                   on_wait=None) -> Iterator[set[str]]:
        """Hold a PostgreSQL advisory lock per root key (in key order, on one connection) for the
        block; yields the keys that stayed locked by another host for `wait` seconds (skipped)."""
        import time

        skipped: set[str] = set()
        with self.db.engine.connect() as conn:
            conn.commit()  # session-level locks: no transaction is held open meanwhile
            schema = conn.execute(text("SELECT current_schema()")).scalar()
            held: list[int] = []
            try:
                for key in sorted(set(keys)):
                    lock = _lock_id(f"lora_manager.scan.{schema}.{key}")
                    deadline = time.monotonic() + wait
                    told = False
                    while True:
                        got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": lock}).scalar()
                        conn.commit()
                        if got:
                            held.append(lock)
                            break
                        if not told and on_wait is not None:
                            on_wait(key)
                            told = True
                        if time.monotonic() >= deadline:
                            skipped.add(key)
                            break
                        time.sleep(poll)
                yield skipped
            finally:
                for lock in held:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": lock})
                conn.commit()

    # --- change notices --------------------------------------------------------------------------
    def channel(self) -> str:
        """One channel per schema (several libraries may share a database)."""
        if self._channel is None:
            with self.db.engine.connect() as conn:
                schema = conn.execute(text("SELECT current_schema()")).scalar() or "public"
            self._channel = "lora_manager_" + hashlib.sha256(schema.encode()).hexdigest()[:16]
        return self._channel

    def notify(self, payload: str) -> None:
        with self.db.engine.begin() as conn:
            conn.execute(text("SELECT pg_notify(:c, :p)"), {"c": self.channel(), "p": payload[:NOTIFY_LIMIT]})

    def listen(self):
        """A connection of its own LISTENing on the channel (psycopg 3, autocommit): iterate
        `conn.notifies(timeout=...)`; the caller closes it."""
        import psycopg

        url = self.db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        conn = psycopg.connect(url, autocommit=True)
        conn.execute(f'LISTEN "{self.channel()}"')
        return conn


def _lock_id(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
