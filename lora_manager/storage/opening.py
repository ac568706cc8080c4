"""Opening a database without ever losing one: what a file must be before we touch it.

- A `sqlite:///` URL whose folder does not exist, a read-only or unreadable
  place: one clear error, nothing created.
- An existing file that is empty, is not SQLite, or fails SQLite's quick
  check: "the database is damaged", never set up as a new library.
- A new SQLite database is built and migrated under a private name, then
  linked into place in one step: a `library.db` that exists is always a
  complete database, so an empty one can only be damage.
See docs/data-safety.md.
"""

from __future__ import annotations

import errno
import os
import uuid
from collections.abc import Callable

from sqlalchemy import Engine

from ..errors import DatabaseUnusable
from .bulk_load import restore_left
from .engine import make_engine, migrate, sqlite_file
from .new_schema import build_in_child, build_schema
from .schema_version import is_current
from .failures import damaged

SQLITE_MAGIC = b"SQLite format 3\x00"
# PRAGMA quick_check reads the whole file (~0.1 s for 60 MB, a 10k library, warm);
# above this size it is left to the errors met in use, which say the same.
QUICK_CHECK_MAX_BYTES = 256 << 20


def check_location(url: str, *, will_create: str | None = None) -> None:
    """Refuse a SQLite URL that cannot work, before anything is created.
    `will_create` is a folder the caller creates itself (the data directory)."""
    path = sqlite_file(url)
    if path is None:
        return
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        if will_create and os.path.abspath(will_create) == folder:
            return
        raise DatabaseUnusable(f"the folder for the database does not exist: {folder} (create it, or give another "
                               f"--db / LORA_MANAGER_DB); nothing was created", {"folder": folder})
    if os.path.isdir(path):
        raise DatabaseUnusable(f"the database path is a folder, not a file: {path}", {"path": path})
    if os.path.exists(path):
        _check_existing(path)
        if not os.access(path, os.W_OK) or not os.access(folder, os.W_OK):
            raise DatabaseUnusable(f"the database {path} or its folder is read-only: it needs to write there (its "
                                   f"journal lives next to it); make it writable or give another --data-dir / --db",
                                   {"path": path})
    elif not os.access(folder, os.W_OK):
        raise DatabaseUnusable(f"the folder {folder} is read-only: cannot create the database there; give a writable "
                               f"--data-dir or --db", {"folder": folder})


def _check_existing(path: str) -> None:
    try:
        with open(path, "rb") as f:
            head = f.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise DatabaseUnusable(f"cannot read the database {path}: {exc.strerror or exc}", {"path": path}) from None
    if not head:
        raise damaged(path, "is empty (0 bytes), so it is not set up as a new library")
    if head != SQLITE_MAGIC:
        raise damaged(path, "is not a SQLite database (wrong file header; is --db / LORA_MANAGER_DB the right file?)")


def open_engine(url: str, before_migrate: Callable[[Engine], None] | None = None, *,
                schema_in_child: bool = False) -> Engine:
    """A ready engine: checked, created atomically when new, migrated under a lock, quick-checked.
    `before_migrate(engine)` runs before an existing database is migrated (a backup: transfer/backups.py).
    `schema_in_child`: a new SQLite database's schema is built in a child process (new_schema.py: `serve`)."""
    check_location(url)
    path = sqlite_file(url)
    if path is not None and not os.path.exists(path):
        _create_sqlite(path, schema_in_child)
    engine = make_engine(url)
    try:
        if path is not None:
            quick_check(engine, path)
        if not is_current(engine):  # the common case needs no Alembic import at all
            if before_migrate is not None:
                before_migrate(engine)
            migrate(engine)
        if path is not None:
            restore_left(engine)  # indexes an interrupted first scan left out (storage/bulk_load.py)
    except BaseException:
        engine.dispose()
        raise
    return engine


def quick_check(engine: Engine, path: str) -> None:
    if os.path.getsize(path) > QUICK_CHECK_MAX_BYTES:
        return
    with engine.connect() as conn:
        # The check reads every page once: through a small page cache, so that the pooled connection does not
        # keep 16 MiB of them for the life of the process (the host's, in SDNext).
        size = conn.exec_driver_sql("PRAGMA cache_size").scalar()
        conn.exec_driver_sql("PRAGMA cache_size=-256")
        try:
            rows = [r[0] for r in conn.exec_driver_sql("PRAGMA quick_check(3)")]
        finally:
            conn.exec_driver_sql(f"PRAGMA cache_size={int(size)}")
    if rows != ["ok"]:
        raise damaged(path, f"fails SQLite's integrity check ({'; '.join(rows)[:300]})")


def _create_sqlite(path: str, in_child: bool = False) -> None:
    """Build and migrate the new database under a private name (`in_child`: in a child process), then link it
    into place. If another process got there first, its database stands and ours is dropped."""
    tmp = f"{path}.new-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        (build_in_child if in_child else build_schema)(tmp)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process created it meanwhile: that one is complete too
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP):
                raise
            if not os.path.exists(path):  # no hard links here: a rename, checked just before
                os.rename(tmp, path)
    finally:
        for suffix in ("", "-wal", "-shm", "-journal"):
            try:
                os.unlink(tmp + suffix)
            except FileNotFoundError:
                pass
