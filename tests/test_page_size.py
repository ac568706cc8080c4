"""A new SQLite database is made with 16 KiB pages (storage/engine.py); a database made before keeps its own page
and works as it did: its rows are read, written and hashed."""

from __future__ import annotations

import sqlite3

from lora_manager.app import build
from lora_manager.settings import Settings
from lora_manager.storage.db import open_db
from lora_manager.storage.engine import PAGE_SIZE

from .loras import file_sha256, write_lora


def _pragma(path, name: str):
    with sqlite3.connect(path) as conn:
        return conn.execute(f"PRAGMA {name}").fetchone()[0]


def test_a_new_database_is_made_with_16k_pages_in_wal_mode(tmp_path):
    path = tmp_path / "new.db"
    db = open_db(f"sqlite:///{path}")
    db.close()
    assert PAGE_SIZE == 16384
    assert _pragma(path, "page_size") == PAGE_SIZE
    assert _pragma(path, "journal_mode") == "wal"


def test_a_database_made_with_4k_pages_keeps_them_and_everything_in_it(tmp_path):
    lib = tmp_path / "lib"
    paths = [write_lora(lib / f"l{i}.safetensors", seed=i, metadata={"ss_output_name": f"l{i}"}) for i in range(4)]
    path = tmp_path / "old.db"
    settings = Settings(lora_dirs=[str(lib)], data_dir=str(tmp_path / "data"), db_url=f"sqlite:///{path}",
                        embed_model="off")
    app = build(settings)
    app.scan(hash_after=False)
    app.close()
    # What an earlier version made: the same database with 4 KiB pages (the page changes only through VACUUM
    # outside WAL mode).
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.execute("PRAGMA page_size=4096")
        conn.execute("VACUUM")
        conn.execute("PRAGMA journal_mode=WAL")
    assert _pragma(path, "page_size") == 4096

    app = build(settings)
    try:
        assert app.catalog.list(limit=10).total == 4
        app.hasher.wake()
        assert app.hasher.wait(60)
        got = sorted(e["sha256"] for e in app.catalog.list(limit=10).items)
        assert got == sorted(file_sha256(p) for p in paths)
    finally:
        app.close()
    assert _pragma(path, "page_size") == 4096
    assert _pragma(path, "integrity_check") == "ok"
