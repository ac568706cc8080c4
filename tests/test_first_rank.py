"""A searched page read from its first rank alone (storage/first_rank.py) gives exactly the rows of the full ranked
statement, for every sort, offset, cursor and filter, and is the statement that runs when rank 0 fills the page."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from lora_manager.storage import catalog_store, first_rank
from lora_manager.storage.catalog_store import LoraQuery

from .conftest import scan
from .loras import write_lora

# rank 0: "neon" a whole word; rank 1: a word starting with "neon"; rank 2: "neon" inside a word only
WHOLE = [f"neon_{i:02d}" for i in range(14)]
STARTS = [f"neonlight_{i}" for i in range(4)]
INSIDE = [f"xneonx_{i}" for i in range(3)]
OTHER = ["knight", "castle"]
SORTS = ("name", "-name", "size", "-size", "-modified", "added", "id", "-id")


@pytest.fixture
def core(make_app, library):
    for i, name in enumerate(WHOLE + STARTS + INSIDE + OTHER):
        sub = "a" if i % 2 else "b"
        write_lora(library / sub / f"{name}.safetensors", seed=i, rank=4 + i % 3)
    app = make_app(library)
    scan(app)
    app.files.trash("neon_05")
    for name in ("neon_01", "neon_02", "neonlight_1", "xneonx_2"):
        app.catalog.edit(name, {"favorite": True})
    return app


def _ids(cat, q: LoraQuery) -> list[int]:
    return [e["id"] for e in cat.list(q).items]


def _walk(cat, limit: int, **kw) -> list[int]:
    ids, cursor = [], None
    while True:
        page = cat.list(LoraQuery(limit=limit, cursor=cursor, fields="id", **kw))
        ids += [e["id"] for e in page.items]
        if (cursor := page.next_cursor) is None:
            return ids


def _answers(cat, kw: dict) -> dict:
    out = {}
    for limit in (1, 3, 5):
        out[("walk", limit)] = _walk(cat, limit, **kw)
        for offset in range(0, 26, 2):
            out[(limit, offset)] = _ids(cat, LoraQuery(limit=limit, offset=offset, fields="id", **kw))
    out["total"] = cat.list(LoraQuery(limit=1, fields="id", **kw)).total
    return out


CASES = [{"query": w, "sort": s} for w in ("neon", "neo", "eon") for s in SORTS] + [
    {"query": "light"},
    {"query": "eonl", "sort": "-size"},
    {"query": "neo", "favorite": False},
    {"query": "neon", "favorite": True},
    {"query": "neon", "favorite": False, "sort": "-size"},
    {"query": "neon", "root": None, "folder": "a"},
    {"query": "neon", "favorites_first": True},
    {"query": "neon 0", "sort": "name"},
]


@pytest.fixture
def walks(monkeypatch):
    """A walk tried whenever the rank may fill the page (the library here is small)."""
    monkeypatch.setattr(first_rank, "SPARSE", 1)


def test_first_rank_pages_equal_the_full_ranked_statement(core, walks, monkeypatch):
    """"neon": rank 0 first (whole words), "neo": rank 1 first (word starts), "eon", "light": substrings only."""
    cat = core.catalog
    root = core.settings.lora_dirs[0]
    cases = [dict(c, root=root) if "folder" in c else c for c in CASES]
    fast = [_answers(cat, c) for c in cases]
    monkeypatch.setattr(catalog_store, "walkable", lambda order: False)  # the full ranked statement only
    for case, got in zip(cases, fast, strict=True):
        assert got == _answers(cat, case), case
    want = [i for i in _walk(cat, 100, query="neon") if i]
    names = [e["name"] for e in cat.list(LoraQuery(query="neon", limit=100, fields="id,name")).items]
    # the ranks hold: whole words, then word starts, then substrings; the trashed one is not listed
    assert names == sorted(n for n in WHOLE if n != "neon_05") + sorted(STARTS) + sorted(INSIDE) and len(want) == 20


def test_a_broad_search_first_page_walks_the_sort_index_not_every_hit(core, db_url, walks):
    """The first pages of a word most rows hold whole: one statement testing the whole-word hits, never the
    substring index nor the rank of every hit; a page past rank 0 still gets the ranked statement."""
    stmts: list[str] = []
    listener = lambda conn, cur, stmt, params, *a: stmts.append(stmt)  # noqa: E731
    event.listen(core.db.engine, "before_cursor_execute", listener)
    try:
        core.catalog.list(LoraQuery(query="neon", limit=5, fields="id"))  # the total is counted (and kept) here
        stmts.clear()
        page = core.catalog.list(LoraQuery(query="neon", limit=5, offset=5, fields="id"))
        assert len(page.items) == 5
        pages = [s for s in stmts if "ORDER BY" in s.upper() and "LIMIT" in s.upper()]
        assert len(pages) == 1 and "CASE" not in pages[0].upper(), pages
        assert ("loras_fts_tri" if db_url.startswith("sqlite") else "ILIKE") not in pages[0], pages
        stmts.clear()
        core.catalog.list(LoraQuery(query="neon", limit=5, offset=12, fields="id"))  # rank 0 holds 13 rows
        assert any("CASE" in s.upper() for s in stmts), stmts
        for word, rank in (("neo", 1), ("eon", 2)):  # no whole word: the first rank with hits is walked
            core.catalog.list(LoraQuery(query=word, limit=3, fields="id"))
            stmts.clear()
            page = core.catalog.list(LoraQuery(query=word, limit=3, offset=3, fields="id"))
            assert len(page.items) == 3 and not any("CASE" in s.upper() for s in stmts), (word, stmts)
            assert page.next_cursor is not None
            stmts.clear()
            core.catalog.list(LoraQuery(query=word, limit=3, cursor=page.next_cursor, fields="id"))
            assert not any("CASE" in s.upper() for s in stmts), (word, stmts)
    finally:
        event.remove(core.db.engine, "before_cursor_execute", listener)


def test_a_search_alone_is_counted_from_the_word_indexes_as_the_rows_count_it(core, db_url, monkeypatch):
    """SQLite, no other filter: the total comes from the ids the word indexes give (search.count_sqlite_matches),
    equal to the count over the rows and to the entries listed; trashed rows are left out."""
    if not db_url.startswith("sqlite"):
        pytest.skip("SQLite's word indexes")
    cat = core.catalog
    words = ["neon", "neo", "eon", "ne", "neon 0", "neon light", "xneonx", "eon 1", "knight", "zzz", "ne 0", "ght"]
    seen: list[str] = []
    monkeypatch.setattr(catalog_store, "count_sqlite_matches",
                        lambda conn, q, real=catalog_store.count_sqlite_matches: seen.append(q) or real(conn, q))
    fast = {w: cat.list(LoraQuery(query=w, limit=1, fields="id")).total for w in words}
    assert seen == words  # every one counted that way
    listed = {w: len(_walk(cat, 100, query=w)) for w in words}
    monkeypatch.setattr(catalog_store, "words_only", lambda *a: False)  # the count over the rows
    core.catalog.edit("knight", {"notes": "a write: the kept counts go"})
    rows = {w: cat.list(LoraQuery(query=w, limit=1, fields="id")).total for w in words}
    assert fast == rows == listed, (fast, rows, listed)
    assert fast["neon"] == 20 and fast["zzz"] == 0
