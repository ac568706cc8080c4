"""A first index into an empty SQLite library builds its secondary indexes once, after the rows
(storage/bulk_load.py): the library ends the same, and an interrupted load never leaves it without them."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys

import pytest
from sqlalchemy import text

from lora_manager.storage import bulk_load
from lora_manager.sync import scanner as scanner_mod

from .loras import write_lora

COUNT = 230  # three chunks of header reading, two batches of rows below


@pytest.fixture
def many(library):
    for i in range(COUNT):
        write_lora(library / f"f{i // 40}" / f"lora_{i:04d}.safetensors", family=("sd1", "xl")[i % 2], seed=i,
                   metadata={"modelspec.trigger_phrase": f"word{i}", "ss_output_name": f"Name {i}"})
    return library


@pytest.fixture
def small_batches(monkeypatch):
    """The thresholds of a 10k library, scaled to a test's: a cold load from 100 files, rows in batches of 100."""
    monkeypatch.setattr(scanner_mod, "COLD_LOAD_MIN", 100)
    monkeypatch.setattr(scanner_mod, "INSERT_BATCH", 100)


@pytest.fixture
def sqlite_app(tmp_path):
    """Apps on SQLite databases of their own (`name`), closed at the end."""
    from lora_manager.app import build
    from lora_manager.settings import Settings

    apps = []

    def _make(root, name="library"):
        app = build(Settings(lora_dirs=[str(root)], data_dir=str(tmp_path / f"data-{name}"),
                             db_url=f"sqlite:///{tmp_path}/{name}.db", scan_workers=2))
        apps.append(app)
        return app

    yield _make
    for app in apps:
        app.close()


def _indexes(engine) -> set[str]:
    """Every index of the LoRA tables (their hash rows too), by name (SQLite's own automatic ones included)."""
    if engine.dialect.name == "sqlite":
        q = ("SELECT name FROM sqlite_master WHERE type = 'index' "
             "AND tbl_name IN ('loras', 'lora_model_tags', 'lora_hashes')")
    else:
        q = "SELECT indexname FROM pg_indexes WHERE tablename IN ('loras', 'lora_model_tags', 'lora_hashes')"
    with engine.connect() as conn:
        return {r[0] for r in conn.execute(text(q))}


def _records(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT name, owner FROM deferred_indexes"))]


def _watch_inserts(app) -> list[set[str]]:
    """The indexes there were at each insert of the scan."""
    seen: list[set[str]] = []
    insert = app.scanner.scan_store.insert_files

    def watching(rows):
        seen.append(_indexes(app.db.engine))
        return insert(rows)

    app.scanner.scan_store.insert_files = watching
    return seen


def _listing(app):
    """What a user sees: the list by name (unique here) and its entries, a search, a filter, the other sorts' sizes
    (their ties fall on ids, which follow the order the header workers answered in)."""
    out = {"name": [e["path"] for e in app.catalog.list(sort="name", limit=1000).items]}
    out["entries"] = {e["path"]: (e["state"], e["base_model"], tuple(e["triggers"]))
                      for e in app.catalog.list(limit=1000).items}
    for sort in ("modified", "-size", "added", "id"):
        out[sort] = len(app.catalog.list(sort=sort, limit=1000).items)
    out["search"] = sorted(e["path"] for e in app.catalog.list(query="word17", limit=1000).items)
    out["triggers"] = app.catalog.list(has_triggers=True, limit=1).total
    return out


def test_a_first_index_builds_its_indexes_after_the_rows(make_app, many, small_batches, db_url):
    app = make_app(many, scan_workers=2)
    before = _indexes(app.db.engine)
    seen = _watch_inserts(app)
    report = app.scan(hash_after=False)
    assert report.new == COUNT
    assert len(seen) >= 2
    secondary = {n for n in before if n.startswith("ix_")}
    if app.db.dialect == "sqlite":
        assert {"ix_loras_sort_name", "ix_lora_hashes_pending", "ix_lora_model_tags_tag"} <= secondary
        # During the load: none of the secondary indexes; the unique ones (paths, keys) stay.
        assert all(s.isdisjoint(secondary) for s in seen)
        assert all(before - secondary <= s for s in seen)
    else:  # PostgreSQL is left alone
        assert all(s == before for s in seen)
    assert _indexes(app.db.engine) == before
    assert _records(app.db.engine) == []
    listing = _listing(app)
    assert len(listing["name"]) == COUNT and listing["search"] and listing["triggers"] == COUNT
    with app.db.engine.connect() as conn:
        if app.db.dialect == "sqlite":
            assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
            plan = " ".join(r[3] for r in conn.execute(text(
                "EXPLAIN QUERY PLAN SELECT id FROM loras ORDER BY sort_name, id LIMIT 5")))
            assert "ix_loras_sort_shown" in plan


def test_the_library_is_the_same_as_one_indexed_row_by_row(many, small_batches, sqlite_app, monkeypatch):
    bulk = sqlite_app(many, "bulk")
    bulk.scan(hash_after=False)
    monkeypatch.setattr(scanner_mod, "COLD_LOAD_MIN", 10**9)
    plain = sqlite_app(many, "plain")
    plain.scan(hash_after=False)
    assert _listing(bulk) == _listing(plain)
    assert _indexes(bulk.db.engine) == _indexes(plain.db.engine)


def test_a_rescan_that_finds_many_new_files_keeps_the_indexes(make_app, library, small_batches):
    write_lora(library / "first.safetensors", seed=1)
    app = make_app(library, scan_workers=2)
    app.scan(hash_after=False)
    for i in range(COUNT):
        write_lora(library / "more" / f"more_{i:04d}.safetensors", seed=100 + i)
    before = _indexes(app.db.engine)
    seen = _watch_inserts(app)
    assert app.scan(hash_after=False).new == COUNT
    assert seen and all(s == before for s in seen)


def test_a_load_that_fails_still_builds_the_indexes(make_app, many, small_batches):
    app = make_app(many, scan_workers=2)
    before = _indexes(app.db.engine)
    insert = app.scanner.scan_store.insert_files
    calls = []

    def failing(rows):
        calls.append(len(rows))
        if len(calls) == 2:
            raise RuntimeError("disk trouble")
        return insert(rows)

    app.scanner.scan_store.insert_files = failing
    with pytest.raises(RuntimeError):
        app.scan(hash_after=False)
    assert _indexes(app.db.engine) == before and _records(app.db.engine) == []
    app.scanner.scan_store.insert_files = insert
    assert app.scan(hash_after=False).new == COUNT - calls[0]  # the next scan adds the rest, indexes kept


def _left_by(url: str, owner: str) -> set[str]:
    """Indexes dropped as a loader does, recorded under `owner`, the database closed: a loader killed mid-load."""
    from lora_manager.storage.engine import make_engine

    engine = make_engine(url)
    try:
        assert bulk_load._drop(engine)
        with engine.begin() as conn:
            conn.execute(text("UPDATE deferred_indexes SET owner = :o"), {"o": owner})
        return {r[0] for r in _records(engine)}
    finally:
        engine.dispose()


def test_a_loader_killed_mid_load_leaves_the_indexes_to_the_next_open(sqlite_app, library, tmp_path, caplog):
    url = f"sqlite:///{tmp_path}/library.db"
    app = sqlite_app(library)
    before = _indexes(app.db.engine)
    app.close()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    left = _left_by(url, f"{socket.gethostname()}:{dead.pid}")
    assert left and left <= before
    with caplog.at_level(logging.WARNING, logger="lora_manager.storage.bulk_load"):
        again = sqlite_app(library)
    assert _indexes(again.db.engine) == before and _records(again.db.engine) == []
    assert "built %d indexes again" in caplog.records[-1].msg


def test_a_live_loader_keeps_its_indexes_until_it_ends(sqlite_app, library, tmp_path):
    """Another process of this machine still loading (a server's first scan) is left to build its own;
    a loader on another machine cannot be asked, so its records count as left."""
    url = f"sqlite:///{tmp_path}/library.db"
    app = sqlite_app(library)
    before = _indexes(app.db.engine)
    app.close()
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        _left_by(url, f"{socket.gethostname()}:{alive.pid}")
        other = sqlite_app(library)
        assert _indexes(other.db.engine) != before and _records(other.db.engine)
        other.close()
    finally:
        alive.kill()
        alive.wait()
    assert _indexes(sqlite_app(library).db.engine) == before
    _left_by(url, "another-machine:1")
    assert _indexes(sqlite_app(library).db.engine) == before


def test_no_index_is_dropped_once_the_library_has_rows(make_app, library):
    write_lora(library / "one.safetensors", seed=1)
    app = make_app(library)
    app.scan(hash_after=False)
    before = _indexes(app.db.engine)
    with bulk_load.indexes_deferred(app.db.engine) as dropped:
        assert dropped is False
        assert _indexes(app.db.engine) == before
    assert _records(app.db.engine) == []


def test_an_index_that_cannot_be_built_at_open_does_not_stop_the_library(sqlite_app, library, tmp_path, caplog):
    """Building what a killed loader left is best effort: the library opens without it (reads slower), the
    record stays for the next open."""
    app = sqlite_app(library)
    with app.db.engine.begin() as conn:
        conn.execute(text("INSERT INTO deferred_indexes (name, create_sql, owner) VALUES "
                          "('ix_gone', 'CREATE INDEX ix_gone ON no_such_table (x)', 'another-machine:1')"))
    app.close()
    with caplog.at_level(logging.WARNING, logger="lora_manager.storage.bulk_load"):
        again = sqlite_app(library)
    assert again.catalog.list(limit=1).total == 0
    assert _records(again.db.engine) == [("ix_gone", "another-machine:1")]
    assert "could not build the index %s" in caplog.records[-1].msg and caplog.records[-1].args[0] == "ix_gone"


def test_an_index_the_load_cannot_build_at_its_end_leaves_the_scan_and_the_others_whole(sqlite_app, many,
                                                                                     small_batches, caplog):
    """The load's own build, index by index: one that fails (its text damaged here, as a full disk would fail it)
    is a warning and stays recorded; the scan's rows stand and every other index is built."""
    app = sqlite_app(many)
    before = _indexes(app.db.engine)
    insert = app.scanner.scan_store.insert_files

    def damaging(rows):
        with app.db.engine.begin() as conn:
            conn.execute(text("UPDATE deferred_indexes SET create_sql = 'CREATE INDEX ix_loras_state ON nowhere (x)' "
                              "WHERE name = 'ix_loras_state'"))
        return insert(rows)

    app.scanner.scan_store.insert_files = damaging
    with caplog.at_level(logging.WARNING, logger="lora_manager.storage.bulk_load"):
        assert app.scan(hash_after=False).new == COUNT
    assert _indexes(app.db.engine) == before - {"ix_loras_state"}
    assert [r[0] for r in _records(app.db.engine)] == ["ix_loras_state"]
    assert any(r.args and r.args[0] == "ix_loras_state" for r in caplog.records)
    assert app.catalog.list(limit=1).total == COUNT
