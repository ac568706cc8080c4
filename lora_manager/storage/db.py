"""One database: its engine, what this process knows of its writes and health, and the
write helpers every store shares (search text, inserts, user rows, row locks).

Stores are built over one `Db` (composition: each store holds it); `open_db` is the one
way in (checks, creation and migrations in opening.py).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from sqlalchemy import Engine, bindparam, event, select, text, update

from . import derived
from .base import H, L, U, chunks, utcnow
from .hash_models import HASH_COLUMNS
from .health import StorageHealth
from .opening import open_engine


class Db:
    def __init__(self, engine: Engine):
        self.engine = engine
        self.dialect = engine.dialect.name
        self._sqlite_plan = None
        self.write_version = 0
        # SQLite has one writer: in this process writers queue on this lock (woken the moment it is
        # free) instead of polling SQLite's busy handler, which sleeps up to 100 ms between tries and
        # let a scan's back-to-back parts starve an edit (docs/performance-api.md).
        self.writer_turn = threading.Lock() if self.dialect == "sqlite" else None
        # Every commit through this engine moves the version, which drops cached reads (ttl_cache.py).
        event.listen(engine, "commit", self._bump)
        self.health = StorageHealth(engine)
        # This host's id when several hosts share the library (hosts/identity.py): reads show its own
        # file locations (location_store.overlay). None: one host, the rows as they are.
        self.host: str | None = None

    @property
    def kind(self) -> str:
        return self.dialect

    def _bump(self, _conn) -> None:
        self.write_version += 1

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(select(1))

    def close(self) -> None:
        self.engine.dispose()

    # --- write helpers, inside a caller's transaction ------------------------------------------
    def refresh_search(self, conn, ids: Iterable[int]) -> None:
        """Recompute search_text for `ids` (see `refresh_search` below)."""
        refresh_search(conn, ids)

    def insert_rows(self, conn, rows: list[dict]) -> list[int]:
        """Insert lora rows with their derived columns and model tags, and add them to the full-text
        indexes (SQLite). A row's hashes (`HASH_COLUMNS`, an entry split from another) go to its hash row, which
        the database made with the row (migration 0022)."""
        hashes = [{k: row.pop(k) for k in HASH_COLUMNS if k in row} for row in rows]
        for row in rows:
            if "sort_name" not in row:
                derived.fill(row)
        if self.dialect == "sqlite":
            ids = self._sqlite_insert(conn, rows)
        else:
            ids = [r[0] for r in conn.execute(L.insert().returning(L.c.id, sort_by_parameter_order=True), rows)]
        if ids and self.dialect == "sqlite":
            # One writer holds the database inside this transaction, so the
            # batch's ids are exactly those between its first and last.
            for table, column in (("loras_fts", "search_text"), ("loras_fts_tri", "infix_text")):
                conn.execute(
                    text(f"INSERT INTO {table}(rowid, {column}) "  # noqa: S608 - our own names
                         f"SELECT id, {column} FROM loras WHERE id BETWEEN :a AND :b"),
                    {"a": min(ids), "b": max(ids)},
                )
        carried = [{**h, "_id": i} for i, h in zip(ids, hashes, strict=True) if any(v is not None for v in h.values())]
        for cols in {tuple(h) for h in carried}:
            conn.execute(update(H).where(H.c.lora_id == bindparam("_id")),
                         [h for h in carried if tuple(h) == cols])
        derived.insert_model_tags(conn, self.insert_ignore, ids, rows)
        return ids

    def _sqlite_insert(self, conn, rows: list[dict]) -> list[int]:
        """executemany on the driver with the columns' own bind processors.

        A cold scan inserts every file; SQLAlchemy's per-row parameter
        handling cost as much as SQLite's own work, in the process that also
        feeds the header workers. Same types, same values, less overhead.
        """
        plan = self._sqlite_plan
        if plan is None:
            dialect = self.engine.dialect
            cols = [c for c in L.c if c.name != "id"]
            procs = [c.type.dialect_impl(dialect).bind_processor(dialect) for c in cols]
            defaults = [c.default.arg if c.default is not None and not callable(c.default.arg) else None for c in cols]
            sql = f"INSERT INTO loras ({', '.join(c.name for c in cols)}) VALUES ({', '.join('?' * len(cols))})"
            plan = self._sqlite_plan = (cols, procs, defaults, sql)
        cols, procs, defaults, sql = plan
        names = [c.name for c in cols]
        params = []
        for row in rows:
            values = []
            for name, proc, default in zip(names, procs, defaults, strict=False):
                value = row.get(name, default)
                values.append(proc(value) if proc is not None and value is not None else value)
            params.append(tuple(values))
        cursor = conn.connection.driver_connection.cursor()
        first = conn.execute(text("SELECT COALESCE(MAX(id), 0) FROM loras")).scalar()
        cursor.executemany(sql, params)
        cursor.close()
        # Fresh ids are max+1 ... max+n: one writer holds the database here.
        return list(range(first + 1, first + 1 + len(rows)))

    def insert_ignore(self, table):
        """INSERT that skips rows whose key exists (several writers, one library)."""
        return _insert_ignore(self.dialect, table)

    def ensure_user(self, conn, ids: Iterable[int]) -> None:
        """A user row for each of `ids` (user data lives in its own table, made on first edit)."""
        ids = list(ids)
        if not ids:
            return
        have = set(conn.execute(select(U.c.lora_id).where(U.c.lora_id.in_(ids))).scalars())
        missing = [{"lora_id": i, "favorite": False, "updated_at": utcnow()} for i in ids if i not in have]
        if missing:
            conn.execute(self.insert_ignore(U), missing)

    def existing_ids(self, conn, ids: Iterable[int]) -> list[int]:
        """The ids that exist, their `loras` rows locked in id order (PostgreSQL; SQLite has one writer).

        Every write takes its `loras` rows first and in id order, then the
        user tables: two writers on one set of rows queue instead of
        deadlocking (docs/data-safety.md)."""
        ids = sorted(set(ids))
        found: list[int] = []
        for part in chunks(ids):
            found += conn.execute(select(L.c.id).where(L.c.id.in_(part)).order_by(L.c.id).with_for_update()).scalars()
        return found


def open_db(url: str, before_migrate=None, *, schema_in_child: bool = False) -> Db:
    """Check the database, make the engine, run migrations (see opening.py; `before_migrate(engine)`
    first, when a migration is due: a backup; `schema_in_child`: a new SQLite library's schema built in a
    child process), hand back the `Db`."""
    return Db(open_engine(url, before_migrate, schema_in_child=schema_in_child))


def refresh_search(conn, ids: Iterable[int], part_size: int = 500, hashes=None) -> None:
    """Recompute search_text and the other derived columns (sort key, substring text, NSFW flag, model tags;
    storage/derived.py) for `ids` from facts plus user tags, triggers and display name, inside the caller's
    transaction: rows read and written in id order (docs/data-safety.md), the changed ones of each part in one
    executemany (an import may touch 100k LoRAs; SQLite's triggers keep the full-text indexes in step)."""
    derived.refresh(conn, lambda table: _insert_ignore(conn.dialect.name, table), ids, part_size, hashes)


def _insert_ignore(dialect: str, table):
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table).on_conflict_do_nothing()
