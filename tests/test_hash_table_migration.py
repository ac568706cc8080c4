"""Migration 0022 on a library hashed at 0021: every LoRA's hashes move to `lora_hashes` (one row per LoRA) with
nothing lost, the wide row no longer carries them, and the database keeps each hash row's copy of its LoRA's
size, mtime and state (triggers), so that a file changed or added is waiting for its hash again; the way back
puts the hashes in the LoRA's row as they were. On SQLite and PostgreSQL."""

from __future__ import annotations

import os

from sqlalchemy import inspect, text

from lora_manager.storage.engine import make_engine, migrate
from lora_manager.storage.hash_models import HASH_PENDING_SQL as PENDING

from .conftest import scan
from .loras import file_sha256, write_lora
from .test_query_side_migration import downgrade

HASHES = ("sha256", "tensor_sha256", "legacy_hash", "hashed_size", "hashed_mtime_ns", "hash_error", "header_hash_ok")


def _columns(engine, table: str) -> set[str]:
    with engine.connect() as conn:
        return {c["name"] for c in inspect(conn).get_columns(table)}


def _old_rows(engine) -> dict[str, tuple]:
    with engine.connect() as conn:
        return {r[0]: tuple(r[1:]) for r in conn.execute(text(f"SELECT prompt_name, {', '.join(HASHES)} FROM loras"))}


def test_hashes_stored_at_0021_move_to_their_own_table_and_back(app, library, db_url):
    paths = [write_lora(library / f"l{i}.safetensors", seed=i) for i in range(4)]
    scan(app)
    engine = make_engine(db_url)
    try:
        downgrade(engine, "0021")
        assert "lora_hashes" not in inspect(engine).get_table_names()
        before = _old_rows(engine)
        assert {r[0] for r in before.values()} == {file_sha256(p) for p in paths}  # the way back kept every hash
        with engine.begin() as conn:  # one file whose hashing failed, as 0021 recorded it
            conn.execute(text("UPDATE loras SET sha256 = NULL, hashed_size = NULL, hash_error = 'cannot read' "
                              "WHERE prompt_name = 'l3'"))
        before = _old_rows(engine)
        migrate(engine)
        assert not set(HASHES) & _columns(engine, "loras") or engine.dialect.name == "sqlite" and _sqlite_keeps()
        with engine.connect() as conn:
            moved = {r[0]: tuple(r[1:]) for r in conn.execute(text(
                f"SELECT l.prompt_name, {', '.join('h.' + c for c in HASHES)} FROM loras l "
                "JOIN lora_hashes h ON h.lora_id = l.id"))}
            facts = conn.execute(text("SELECT count(*) FROM loras l JOIN lora_hashes h ON h.lora_id = l.id WHERE "
                                      "h.size = l.size AND h.mtime_ns = l.mtime_ns AND h.state = l.state")).scalar()
        assert moved == before and facts == len(paths)
        downgrade(engine, "0021")
        assert _old_rows(engine) == before and "lora_hashes" not in inspect(engine).get_table_names()
        migrate(engine)
    finally:
        engine.dispose()
    # the library reads them where they are now: by hash, and the failed one waits for its file to change
    assert app.catalog.get(file_sha256(paths[0])[:10])["prompt_name"] == "l0"
    assert app.catalog.get("l3")["hash_state"] == "error"  # and it waits, as it did in its row (retried later)
    assert app.hasher.pending_totals() == (1, os.path.getsize(paths[3]))


def _sqlite_keeps() -> bool:
    import sqlite3

    return sqlite3.sqlite_version_info < (3, 35, 0)


def test_the_database_keeps_each_hash_row_in_step_with_its_lora(app, library, db_url):
    """Whatever writes a LoRA's row (a scan, a file operation, a hand edit), its hash row follows: a new row has
    one, a changed size or mtime makes it wait for a hash, a state is copied, a deleted row takes it along."""
    a = write_lora(library / "a.safetensors", seed=1)
    write_lora(library / "b.safetensors", seed=2)
    scan(app)
    assert app.hasher.pending_totals() == (0, 0)
    with app.db.engine.begin() as conn:
        ids = dict(conn.execute(text("SELECT prompt_name, id FROM loras")).all())
        conn.execute(text("UPDATE loras SET mtime_ns = mtime_ns + 1 WHERE id = :i"), {"i": ids["a"]})
        conn.execute(text("UPDATE loras SET state = 'missing' WHERE id = :i"), {"i": ids["b"]})
        # read in the same transaction: a hasher woken meanwhile would put `a` right again (its file is as it was)
        rows = {r.lora_id: r for r in conn.execute(text(
            f"SELECT lora_id, size, mtime_ns, state, {PENDING} AS waits FROM lora_hashes"))}
        facts = {r.id: r for r in conn.execute(text("SELECT id, size, mtime_ns, state FROM loras"))}
    assert {i: (r.size, r.mtime_ns, r.state) for i, r in rows.items()} == {
        i: (r.size, r.mtime_ns, r.state) for i, r in facts.items()}
    assert bool(rows[ids["a"]].waits) and rows[ids["b"]].state == "missing"
    assert os.path.getsize(a) == facts[ids["a"]].size
    with app.db.engine.begin() as conn:
        conn.execute(text("DELETE FROM loras WHERE id = :i"), {"i": ids["b"]})
        left = conn.execute(text("SELECT lora_id FROM lora_hashes ORDER BY lora_id")).scalars().all()
    assert left == [ids["a"]]
    write_lora(library / "c.safetensors", seed=3)
    scan(app)
    with app.db.engine.connect() as conn:
        rows = conn.execute(text("SELECT count(*) FROM loras l JOIN lora_hashes h ON h.lora_id = l.id "
                                 "WHERE h.sha256 IS NOT NULL AND h.hashed_size = l.size")).scalar()
    assert rows == 3  # b is back as a new row (its file is still there), a hashed again, c new
