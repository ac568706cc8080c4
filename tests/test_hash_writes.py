"""A batch of hashes stored in one statement (SQLite: UPDATE ... FROM json_each) or row by row gives the same
rows: 64-bit mtimes, missing legacy hashes and the three states of header_hash_ok survive the JSON."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import text

from lora_manager.library.probe import probe_many
from lora_manager.library.walker import entry_for
from lora_manager.storage import hash_writes
from lora_manager.storage.scan_store import SqlScanStore

from .loras import write_lora

COLS = "hashed_size, hashed_mtime_ns, hash_error, sha256, tensor_sha256, legacy_hash, header_hash_ok"


def _rows(ids: list[int]) -> list[tuple]:
    big = 1_767_225_600_123_456_789  # a 2026 mtime in ns: past 2**53, where a float would round it
    oks = (True, False, None)
    return [(1000 + i, big + i, f"{i:02x}" * 32, f"{i + 1:02x}" * 32, None if i % 2 else f"{i:08x}", oks[i % 3], lid)
            for i, lid in enumerate(ids)]


def _read(db, ids: list[int]) -> list[tuple]:
    with db.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(f"SELECT {COLS} FROM lora_hashes "
                                                    f"WHERE lora_id IN ({','.join(map(str, ids))}) ORDER BY lora_id"))]


@pytest.mark.parametrize("one_statement", [True, False])
def test_a_batch_of_hashes_is_stored_whole(db, library, monkeypatch, one_statement):
    if db.dialect != "sqlite" and one_statement:
        pytest.skip("one statement is SQLite's way; PostgreSQL stores row by row")
    paths = [write_lora(library / f"l{i}.safetensors", seed=i) for i in range(6)]
    SqlScanStore(db).insert_files([r.as_row() for r in probe_many([entry_for(p, str(library)) for p in paths])])
    with db.engine.connect() as conn:
        ids = [r[0] for r in conn.execute(text("SELECT id FROM loras ORDER BY id"))]
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE lora_hashes SET hash_error = 'old error'"))
    monkeypatch.setattr(hash_writes, "ONE_STATEMENT", one_statement)
    rows = _rows(ids[:5])  # the sixth stays as it was
    with db.engine.begin() as conn:
        hash_writes.write_hashes(conn, db.dialect, rows)
    got = _read(db, ids)
    want = [(s, m, None, sha, tensor, legacy, ok) for s, m, sha, tensor, legacy, ok, _ in rows]
    assert [g[:6] for g in got[:5]] == [w[:6] for w in want]
    assert [None if g[6] is None else bool(g[6]) for g in got[:5]] == [w[6] for w in want]
    assert got[5][2] == "old error" and got[5][3] is None


def test_a_first_hashing_skips_the_look_ups_nothing_can_answer(make_app, library):
    """No Civitai record found and no entry missing (a new library): a batch of hashes is stored without looking
    its hashes up among either. With one of each, both look-ups run, and a changed file loses its old record's
    tags."""
    from sqlalchemy import event

    from lora_manager.storage.base import utcnow
    from lora_manager.storage.civitai_store import SqlCivitaiStore, Stored

    from .loras import file_sha256

    paths = [write_lora(library / f"l{i}.safetensors", seed=i) for i in range(3)]
    app = make_app(library, embed_model="off")
    app.scan(hash_after=False)
    seen: list[str] = []
    event.listen(app.db.engine, "before_cursor_execute", lambda *a: seen.append(" ".join(a[2].split()).lower()))

    def hashing() -> list[str]:
        seen.clear()
        app.hasher.wake()
        assert app.hasher.wait(60)
        return [s for s in seen if s.startswith("select")]

    looked = hashing()
    assert app.hasher.pending_totals() == (0, 0)
    assert not [s for s in looked if "join civitai_lookups" in s or ("state = " in s and ".sha256 in" in s)], looked

    # One record found for a hash, and one entry missing (its file deleted); then the record's file changes.
    SqlCivitaiStore(app.db).save_found(file_sha256(paths[0]), "sha256",
                                       Stored({"id": 11, "modelId": 7, "name": "v1"}, None, utcnow()),
                                       Stored({"id": 7, "name": "Alice", "tags": ["Character"]}, None, utcnow()))
    assert [e["name"] for e in app.catalog.list(tags=["character"]).items] == ["l0"]
    os.remove(paths[2])
    write_lora(paths[0], seed=5)
    app.scan(hash_after=False)
    looked = hashing()
    assert [s for s in looked if "join civitai_lookups" in s], looked
    assert [s for s in looked if "state = " in s and ".sha256 in" in s], looked
    assert app.catalog.list(tags=["character"]).items == []  # the new hash has no record: its tags went
    assert app.catalog.counts()["missing"] == 1
