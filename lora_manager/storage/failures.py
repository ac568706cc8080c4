"""Database failures a person can act on, and bounded retries of write conflicts.

Driver errors that mean "damaged", "disk full" or "read-only" become our own
errors (errors.py) at the engine, so the CLI and every route say so in one
line. Conflicts between writers (PostgreSQL deadlocks and serialisation
failures, SQLite "database is locked") are retried a few times with backoff.
See docs/data-safety.md.
"""

from __future__ import annotations

import contextvars
import functools
import logging
import os
import random
import shutil
import time
from typing import Any, TypeVar
from collections.abc import Callable

from ..errors import DatabaseBusy, DatabaseDamaged, DatabaseUnusable, DiskFull

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])

ADVICE = ("Nothing was changed. Keep this file as it is (copy it somewhere safe), then put back a backup copy of it, "
          "or move it aside to start a new, empty library.")
RETRY_SQLSTATES = {"40001", "40P01"}  # serialization_failure, deadlock_detected
ATTEMPTS = 6
FIRST_WAIT_S = 0.05
MAX_WAIT_S = 1.0


def damaged(path: str, why: str) -> DatabaseDamaged:
    return DatabaseDamaged(f"the database is damaged: {path} {why}. {ADVICE}", {"path": path})


def free_bytes(folder: str) -> int | None:
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None


def disk_full(folder: str | None) -> DiskFull:
    if folder is None:
        return DiskFull("disk full: the database server has no space left (SQLSTATE 53100); free space on its disk, "
                        "then try again. Reads still work.")
    free = free_bytes(folder)
    shown = "unknown" if free is None else f"{free / 1048576:.1f} MiB"
    return DiskFull(f"disk full: no space left on the device holding {folder} (errno ENOSPC, {shown} free); "
                    f"free some space, then try again. Reads still work.", {"folder": folder, "free_bytes": free})


def translate(original: BaseException, sqlite_path: str | None) -> Exception | None:
    """Our error for a driver error, or None to let it pass as it is."""
    name = str(getattr(original, "sqlite_errorname", "") or "")
    state = getattr(original, "sqlstate", None)
    folder = os.path.dirname(sqlite_path) if sqlite_path else None
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")):
        return damaged(sqlite_path or "the database file", f"cannot be read as a database ({original})")
    if name.startswith("SQLITE_FULL") or state == "53100":
        return disk_full(folder)
    if name.startswith("SQLITE_IOERR") and folder is not None:
        free = free_bytes(folder)
        if free is not None and free < (1 << 20):  # "disk I/O error" on a full disk: say what it is
            return disk_full(folder)
    if name.startswith("SQLITE_READONLY") or name == "SQLITE_CANTOPEN":
        where = folder or "its folder"
        return DatabaseUnusable(
            f"cannot write the database {sqlite_path}: it or {where} is read-only or not accessible "
            f"({original}); give a writable --data-dir or --db",
            {"path": sqlite_path},
        )
    return None


def retryable(exc: BaseException) -> bool:
    """A conflict between writers that a fresh transaction may not meet again."""
    orig = getattr(exc, "orig", None)
    if orig is None:
        return False
    if getattr(orig, "sqlstate", None) in RETRY_SQLSTATES:
        return True
    name = str(getattr(orig, "sqlite_errorname", "") or "")
    return name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED"))


_inside = contextvars.ContextVar("lora_manager_retrying", default=False)


def retry_conflicts(fn: F) -> F:
    """Run a write method again when another writer made it fail, a bounded number of times.

    The method must do its work in its own transaction(s) and be safe to run
    again from the start (each of ours is). Nested calls retry only at the
    outermost level.
    """

    @functools.wraps(fn)
    def run(*args, **kwargs):
        if _inside.get():
            return fn(*args, **kwargs)
        token = _inside.set(True)
        # SQLite: one writer of ours at a time (the store's Db holds the turn)
        turn = getattr(getattr(args[0], "db", None), "writer_turn", None) if args else None
        try:
            for attempt in range(1, ATTEMPTS + 1):
                try:
                    if turn is None:
                        return fn(*args, **kwargs)
                    with turn:
                        return fn(*args, **kwargs)
                except Exception as exc:
                    if not retryable(exc):
                        raise
                    if attempt == ATTEMPTS:
                        raise DatabaseBusy(f"another writer kept the rows busy through {ATTEMPTS} tries; try again "
                                           f"({type(exc.orig).__name__})") from exc
                    wait = min(MAX_WAIT_S, FIRST_WAIT_S * 2 ** (attempt - 1)) * (0.5 + random.random())
                    log.info("%s met another writer (%s); try %d of %d in %.2f s", fn.__name__,
                             type(exc.orig).__name__, attempt + 1, ATTEMPTS, wait)
                    time.sleep(wait)
        finally:
            _inside.reset(token)

    return run  # type: ignore[return-value]
