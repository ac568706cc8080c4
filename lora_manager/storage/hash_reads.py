"""The hashing pass's two reads, as plain driver SQL.

A pass reads the rows waiting for a hash (a thousand at a time) and, before each store, what storing checks on
them. Both run on the thread that feeds two hashing threads. Whatever Python it runs holds the interpreter's
lock, and a hashing thread that comes back from a digest's update waits for that lock: every millisecond spent
building a statement or a row object here can hold up both cores. Built with SQLAlchemy's expression language,
each call made and compiled its statement and made an object per row. Here each statement is one string, made
once; its rows come back as the driver gives them (docs/performance-hashing.md).

Both read the partial index `ix_loras_hash_pending` (models.py) on SQLite; its predicate is spelled as the index's.
"""

from __future__ import annotations

from .models import HASH_PENDING_SQL

HASHABLE = ("ok", "unsupported")  # the states whose files are hashed
# The state and size tests are wrapped so that no planner takes the state indexes instead of the partial one
# (SQLite keeps no statistics that would tell it better).
WAITING = (f"({HASH_PENDING_SQL}) AND coalesce(state, '') IN ({', '.join(repr(s) for s in HASHABLE)})"
           " AND coalesce(size, 0) > 0")
_PENDING = f"SELECT id, path, size FROM loras WHERE {WAITING} AND id > ? ORDER BY id LIMIT ?"
_CHECKS = f"SELECT id, size, mtime_ns, header_hash, prev_sha256 FROM loras WHERE {WAITING} AND id BETWEEN ? AND ?"


def _spelled(sql: str, dialect: str) -> str:
    return sql if dialect == "sqlite" else sql.replace("?", "%s")


def pending_rows(conn, dialect: str, after: int, limit: int) -> list[tuple[int, str, int]]:
    """Up to `limit` rows waiting for a hash with ids above `after`, by id: (id, path, size) each."""
    return [tuple(r) for r in conn.exec_driver_sql(_spelled(_PENDING, dialect), (after, limit))]


def waiting_checks(conn, dialect: str, ids) -> dict[int, object]:
    """{id: row} of the rows of `ids` still waiting for a hash; a row has id, size, mtime_ns, header_hash and
    prev_sha256. An id range rather than a list: SQLite then takes the partial index, not the table's rowids."""
    if not ids:
        return {}
    rows = conn.exec_driver_sql(_spelled(_CHECKS, dialect), (min(ids), max(ids))).all()
    return {row.id: row for row in rows if row.id in ids}
