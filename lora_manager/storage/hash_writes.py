"""Storing a batch of hashes in one statement.

The hasher stores about 1,000 hashes at a time while two threads hash beside it. An `executemany` runs one
statement per row, and between rows the storing thread takes the GIL back (binding the next row), each time
waiting for the hashing threads; measured, that waiting cost more than the writes (docs/performance-hashing.md).
On SQLite the whole batch goes as one JSON parameter to one `UPDATE ... FROM json_each(?)`: one step of the
statement, the GIL released for all of it. PostgreSQL (psycopg) keeps `executemany`.
"""

from __future__ import annotations

import sqlite3

import orjson

_SET = ("hashed_size = {0}, hashed_mtime_ns = {1}, hash_error = NULL, sha256 = {2}, tensor_sha256 = {3}, "
        "legacy_hash = {4}, header_hash_ok = {5}")
# UPDATE ... FROM: SQLite 3.33; json_each built in by default: 3.38.
ONE_STATEMENT = sqlite3.sqlite_version_info >= (3, 38, 0)


def write_hashes(conn, dialect: str, rows: list[tuple]) -> None:
    """`rows`: (size, mtime_ns, sha256, tensor_sha256, legacy, header_hash_ok, id) each."""
    if not rows:
        return
    if dialect == "sqlite" and ONE_STATEMENT:
        cols = [f"json_extract(j.value, '$[{i}]')" for i in range(6)]
        conn.exec_driver_sql(
            f"UPDATE loras SET {_SET.format(*cols)} FROM json_each(?) AS j "
            f"WHERE loras.id = json_extract(j.value, '$[6]')",
            (orjson.dumps(rows).decode(),),
        )
        return
    ph = "?" if dialect == "sqlite" else "%s"
    conn.exec_driver_sql(f"UPDATE loras SET {_SET.format(*[ph] * 6)} WHERE id = {ph}", rows)
