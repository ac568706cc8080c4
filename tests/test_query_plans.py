"""Pages and searches that stay fast at 100k LoRAs: the plans SQLite picks, and the same answers.

The timings are in docs/performance-api.md (bench/bench_memory.py); here the
plans that make them are checked, and every way of asking gives the same rows."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from lora_manager.storage.catalog_store import LoraQuery
from lora_manager.storage.entries import LIST_FIELDS

from .conftest import scan
from .loras import write_lora

NAMES = [f"style_{i:02d}" for i in range(24)] + ["neon_one", "neon_two", "knight"]


@pytest.fixture
def core(make_app, library):
    for i, name in enumerate(NAMES):
        write_lora(library / f"{name}.safetensors", seed=i)
    app = make_app(library)
    scan(app)
    app.files.trash("style_03")
    return app


def _plans(core, run) -> list[str]:
    stmts: list = []
    listener = lambda conn, cur, stmt, params, *a: stmts.append((stmt, params))  # noqa: E731
    event.listen(core.db.engine, "before_cursor_execute", listener)
    try:
        run()
    finally:
        event.remove(core.db.engine, "before_cursor_execute", listener)
    out = []
    with core.db.engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        for stmt, params in stmts:
            if stmt.lstrip().upper().startswith("SELECT LORAS.ID"):
                out.append(" | ".join(r[3] for r in raw.execute("EXPLAIN QUERY PLAN " + stmt, params)))
    return out


def _walk(cat, **kw) -> list[str]:
    names, cursor = [], None
    while True:
        page = cat.list(LoraQuery(limit=5, cursor=cursor, fields="id,name", **kw))
        names += [e["name"] for e in page.items]
        cursor = page.next_cursor
        if cursor is None:
            return names


def test_cursor_pages_seek_and_descending_sorts_need_no_sort(core, db_url):
    if not db_url.startswith("sqlite"):
        pytest.skip("SQLite's plans")
    cat = core.catalog
    first = cat.list(LoraQuery(limit=5, sort="id", fields="id"))
    plans = _plans(core, lambda: cat.list(LoraQuery(limit=5, sort="id", cursor=first.next_cursor, fields=LIST_FIELDS)))
    assert plans and "INTEGER PRIMARY KEY (rowid>?)" in plans[0], plans
    for sort in ("-modified", "-name", "-size", "-added"):
        plans = _plans(core, lambda: cat.list(LoraQuery(limit=5, sort=sort, offset=3, fields=LIST_FIELDS)))
        assert plans and "TEMP B-TREE" not in plans[0], (sort, plans)


def test_every_way_of_paging_and_searching_gives_the_same_rows(core):
    cat = core.catalog
    for sort in ("name", "-name", "id", "-id", "size", "-modified", "added"):
        by_offset = [e["name"] for e in cat.list(LoraQuery(limit=100, sort=sort, fields="id,name")).items]
        assert _walk(cat, sort=sort) == by_offset and "style_03" not in by_offset and len(by_offset) == len(NAMES) - 1
    # "style" is a broad search (most of the library), "neon" a narrow one: both plans give all and only the matches
    for word, want in (("style", [n for n in NAMES if n.startswith("style") and n != "style_03"]),
                       ("neon", ["neon_one", "neon_two"])):
        page = cat.list(LoraQuery(query=word, limit=100, fields="id,name"))
        assert page.total == len(want) and sorted(e["name"] for e in page.items) == sorted(want)
        assert sorted(_walk(cat, query=word, sort="-modified")) == sorted(want)


def test_searches_read_the_full_text_indexes(core, db_url):
    """Matches come from the word and trigram indexes, rows by id: never a scan of the table."""
    if not db_url.startswith("sqlite"):
        pytest.skip("SQLite's plans")
    # "eon": two substring hits (a rank with many hits has its first pages from a walk of the sort's index, where
    # hits are dense enough for it to stop early: tests/test_first_rank.py)
    plans = _plans(core, lambda: core.catalog.list(LoraQuery(query="eon", limit=5, fields=LIST_FIELDS)))
    assert plans and "loras_fts VIRTUAL TABLE INDEX" in plans[0] and "loras_fts_tri VIRTUAL TABLE INDEX" in plans[0]
    assert "SCAN loras " not in plans[0] + " ", plans


def test_an_offset_page_by_id_walks_the_narrow_id_index(core, db_url):
    """Sorted by id at an offset, the ids come from `ix_loras_id_order` (8-byte entries), never a walk of the
    table's wide rows (migration 0020; 88 ms -> 9 ms near the end of 100k LoRAs)."""
    if not db_url.startswith("sqlite"):
        pytest.skip("SQLite's plans")
    cat = core.catalog
    for sort in ("id", "-id"):
        plans = _plans(core, lambda: cat.list(LoraQuery(limit=5, sort=sort, offset=10, fields=LIST_FIELDS)))
        # the rows skipped by the offset are never read: SQLite seeks a table row only for a column it returns
        assert plans and plans[0].startswith("SCAN loras USING INDEX ix_loras_id_order"), plans
    ids = [e["id"] for e in cat.list(LoraQuery(limit=100, sort="id", fields="id")).items]
    assert ids == sorted(ids)
    assert [e["id"] for e in cat.list(LoraQuery(limit=5, sort="id", offset=10, fields="id")).items] == ids[10:15]
