"""Storing a batch of hashes in one statement.

The hasher stores about 1,000 hashes at a time while two threads hash beside it. An `executemany` runs one
statement per row, and between rows the storing thread takes the GIL back (binding the next row), each time
waiting for the hashing threads; measured, that waiting cost more than the writes (docs/performance-hashing.md).
On SQLite the whole batch goes as one JSON parameter to one `UPDATE ... FROM json_each(?)`: one step of the
statement, the GIL released for all of it. PostgreSQL (psycopg) keeps `executemany`.

A LoRA's model tags include those of the Civitai model stored for its hash (storage/derived.py). A record may
be stored before the hash is (a download or a fetch, then the hasher): the rows whose new hash has a "found"
lookup, or whose old one had, are recomputed in the same transaction: the rows' old records read before the write
and the new hashes' after it, by primary key (most hashed rows have no record and cost nothing more).

On PostgreSQL a hash write and a Civitai record write may run at once (two threads, or two hosts): each would
read before the other's commit (the record its hash's holders, the hashes their records) and a LoRA given that
hash beside it would miss the record's tags until a refresh. Both take `tags_turn` first, so the second reads
what the first committed (SQLite has one writer at a time already).
"""

from __future__ import annotations

import sqlite3

import orjson
from sqlalchemy import and_, select

from .base import H, L, chunks
from .civitai_models import CivitaiLookup

LK = CivitaiLookup.__table__

_SET = ("hashed_size = {0}, hashed_mtime_ns = {1}, hash_error = NULL, sha256 = {2}, tensor_sha256 = {3}, "
        "legacy_hash = {4}, header_hash_ok = {5}")
# UPDATE ... FROM: SQLite 3.33; json_each built in by default: 3.38.
ONE_STATEMENT = sqlite3.sqlite_version_info >= (3, 38, 0)


# The key of the transaction-level advisory lock of `tags_turn` (any constant of our own: "LoRA" in ASCII).
TAGS_LOCK = 0x4C6F5241


def tags_turn(conn, dialect: str) -> None:
    """Wait for the other writers of hashes and Civitai records to commit (PostgreSQL; held to this commit)."""
    if dialect == "postgresql":
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (TAGS_LOCK,))


def write_hashes(conn, dialect: str, rows: list[tuple]) -> None:
    """`rows`: (size, mtime_ns, sha256, tensor_sha256, legacy, header_hash_ok, id) each."""
    if not rows:
        return
    if dialect == "sqlite" and ONE_STATEMENT:
        cols = [f"json_extract(j.value, '$[{i}]')" for i in range(6)]
        conn.exec_driver_sql(
            f"UPDATE lora_hashes SET {_SET.format(*cols)} FROM json_each(?) AS j "
            f"WHERE lora_hashes.lora_id = json_extract(j.value, '$[6]')",
            (orjson.dumps(rows).decode(),),
        )
        return
    ph = "?" if dialect == "sqlite" else "%s"
    conn.exec_driver_sql(f"UPDATE lora_hashes SET {_SET.format(*[ph] * 6)} WHERE lora_id = {ph}", rows)


def any_found(conn) -> bool:
    """Whether any hash has a "found" Civitai lookup. Without one, no hash written changes a LoRA's model tags, and
    a batch skips both look-ups below (a new library's first hashing: a tenth of storing its hashes)."""
    return conn.execute(select(LK.c.sha256).where(LK.c.status == "found").limit(1)).first() is not None


# An entry a new file with its hash may turn out to be, moved: missing, and not on an offline root (the original
# may still be there). The probe below, the batch's look-up and the adoption itself (scan_store.py) share it.
ADOPTABLE = and_(L.c.state == "missing", L.c.offline.is_(False))


def any_missing(conn) -> bool:
    """Whether an entry that a moved file may turn out to be exists (`ADOPTABLE`). Without one, a batch skips
    looking its hashes up among the missing."""
    return conn.execute(select(L.c.id).where(ADOPTABLE).limit(1)).first() is not None


def found_lookups(conn, ids: list[int]) -> dict[int, str]:
    """{id: sha256} of the rows of `ids` whose hash has a "found" Civitai lookup."""
    out: dict[int, str] = {}
    found = H.join(LK, and_(LK.c.sha256 == H.c.sha256, LK.c.status == "found"))
    for part in chunks(sorted(ids)):
        out.update(conn.execute(select(H.c.lora_id, H.c.sha256).select_from(found).where(H.c.lora_id.in_(part))).all())
    return out


def civitai_changed(conn, written: dict[int, str], before: dict[int, str]) -> list[int]:
    """The rows whose Civitai model tags the hashes `written` ({id: sha256}) change, given `found_lookups` of
    them read before the write: a record for the new hash, or one for an old hash that is not the new one.
    The new hashes' records are read from the lookups alone (the rows were just written)."""
    found: set[str] = set()
    for part in chunks(sorted(set(written.values()))):
        found.update(conn.execute(select(LK.c.sha256).where(LK.c.sha256.in_(part), LK.c.status == "found")).scalars())
    return sorted({i for i, sha in written.items() if sha in found and before.get(i) != sha}
                  | {i for i, sha in before.items() if written.get(i) != sha})
