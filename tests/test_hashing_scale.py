"""Hashing costs the same per file however large the library (issue 14.1): the pending rows are
walked once per pass, by id, in batches, through the partial index of rows waiting for a hash."""

from __future__ import annotations

import os

import pytest

from lora_manager.sync import hasher as hasher_mod

from .loras import file_sha256, write_lora


def test_each_pending_row_is_handed_out_once_per_pass_in_batches(app, library, monkeypatch):
    monkeypatch.setattr(hasher_mod, "BATCH", 4)
    paths = [write_lora(library / f"f{i:02d}.safetensors", seed=i) for i in range(10)]
    app.scan(hash_after=False)
    asked, handed = [], []
    real = app.hasher.scan_store.pending_hashes

    def spy(limit=1000, after=0):
        rows = real(limit, after)
        asked.append((limit, after))
        handed.extend(r[0] for r in rows)
        return rows

    monkeypatch.setattr(app.hasher.scan_store, "pending_hashes", spy)
    app.hasher.wake()
    assert app.hasher.wait(30)
    assert len(handed) == len(set(handed)) == 10
    assert [limit for limit, _ in asked] == [4, 4, 4] and asked[0][1] == 0
    assert [a for _, a in asked[1:]] == sorted(handed)[3:8:4]  # each call starts after the last id handed out
    for p in paths:
        assert app.catalog.get(os.path.basename(p)[: -len(".safetensors")])["sha256"] == file_sha256(p)


def test_pending_rows_come_from_the_partial_index_without_a_sort(make_app, library, db_url):
    if not db_url.startswith("sqlite"):
        pytest.skip("the plan is checked on SQLite, which has no statistics to choose by")
    app = make_app(library)
    store = app.hasher.scan_store
    with app.db.engine.connect() as conn:
        for read in (store._pending, store._waiting):  # as they run: in one step (storage/at_once.py)
            sql, args = read.sqlite_statement(app.db.engine.dialect, after=5, limit=1000, lo=5, hi=50)
            plan = " | ".join(r[-1] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, args))
            assert "ix_lora_hashes_pending" in plan and "TEMP B-TREE" not in plan, plan
