"""A cold index into an empty SQLite library: the secondary indexes of the LoRA tables are dropped for the
load and built once at its end (sorted, in one pass each), instead of being kept up to date row by row.

At 100k LoRAs the inserts took 16 s of CPU with every index kept and 11 s with them built afterwards
(docs/performance.md). Unique indexes and primary keys stay, so the load is as safe as before; while it
runs, reads are correct but slower (no sort or filter index).

Each dropped index is recorded (name, its `CREATE` text, the process that dropped it) in the same
transaction as the drop. The loader builds them again when it ends, however it ends; a process killed
meanwhile leaves the records, and the next one to open the database builds them (`restore_left`).
PostgreSQL is left alone: several hosts may share it, and its loads are not this module's concern.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

from sqlalchemy import Engine, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base

log = logging.getLogger(__name__)

TABLES = ("loras", "lora_model_tags", "lora_hashes")


class DeferredIndex(Base):
    """An index dropped for a cold load and not built again yet (migration 0021)."""

    __tablename__ = "deferred_indexes"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    create_sql: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(300))  # "host:pid" of the process that dropped it


def _me() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@contextmanager
def indexes_deferred(engine: Engine, lock=nullcontext()) -> Iterator[bool]:
    """Drop the secondary indexes while `loras` is empty (SQLite), build them again on the way out, both under
    `lock` (the writers' lock of this process). Yields whether it dropped any (False: not SQLite, rows already
    there, or another loader got there first)."""
    if engine.dialect.name != "sqlite":
        yield False
        return
    with lock:
        dropped = _drop(engine)
    try:
        yield dropped
    finally:
        if dropped:
            with lock:
                restore(engine, lambda owner: owner == _me())


def _drop(engine: Engine) -> bool:
    names = ", ".join(f"'{t}'" for t in TABLES)
    with engine.begin() as conn:
        if conn.execute(text("SELECT 1 FROM loras LIMIT 1")).first() is not None:
            return False
        found = conn.execute(text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "  # noqa: S608 - ours
            f"AND tbl_name IN ({names}) AND sql NOT LIKE 'CREATE UNIQUE%'")).all()
        if not found:
            return False
        me = _me()
        conn.execute(text("INSERT OR IGNORE INTO deferred_indexes (name, create_sql, owner) VALUES (:n, :s, :o)"),
                     [{"n": name, "s": sql, "o": me} for name, sql in found])
        for name, _sql in found:
            conn.execute(text(f'DROP INDEX IF EXISTS "{name}"'))
    return True


def restore(engine: Engine, whose=lambda owner: True) -> int:
    """Build the recorded indexes whose owner `whose` accepts, each in its own transaction with the removal of
    its record; returns how many. One that cannot be built (a full disk, say) is a warning: reads stay right,
    only slower, and its record stays for the next open."""
    if engine.dialect.name != "sqlite":
        return 0
    with engine.connect() as conn:
        left = [(n, s) for n, s, o in conn.execute(text("SELECT name, create_sql, owner FROM deferred_indexes"))
                if whose(o)]
    built = 0
    for name, sql in left:
        try:
            with engine.begin() as conn:
                conn.execute(text(_if_not_exists(sql)))
                conn.execute(text("DELETE FROM deferred_indexes WHERE name = :n"), {"n": name})
            built += 1
        except Exception as exc:
            log.warning("could not build the index %s (left for the next open): %s", name, exc)
    return built


def restore_left(engine: Engine) -> None:
    """At open: build the indexes a loader left when it was killed (its process is gone). A live loader on this
    machine keeps its own; one on another machine cannot be asked, so its records are taken as left."""
    count = restore(engine, lambda owner: not _loading_here(owner))
    if count:
        log.warning("built %d indexes again that an interrupted first scan had left out", count)


def _loading_here(owner: str) -> bool:
    """The owner (`_me()` of the loader) is another live process of this machine."""
    host, _, digits = owner.rpartition(":")
    try:
        pid = int(digits)
    except ValueError:
        return False
    if host != socket.gethostname() or pid <= 0 or pid == os.getpid():  # pid 0 or -1 would name a whole group
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # alive, another user's
        return True
    return True


def _if_not_exists(sql: str) -> str:
    head = "CREATE INDEX "
    return "CREATE INDEX IF NOT EXISTS " + sql[len(head):] if sql.upper().startswith(head) else sql
