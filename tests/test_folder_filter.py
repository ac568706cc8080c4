"""A root or folder filter (the tab's folder tree, issue 17): on SQLite it is said as a range of the unique path
index, so a folder's count and a small folder's page read only the folder's own rows. The lists it gives
must be the same as the root and folder columns say, for folder names that sort next to each other, for both ways
a page is read (a small folder from its range, a large one by a walk of the sort's index) and for the trashed
(whose paths are in the trash). On PostgreSQL the columns are used; the same checks run there."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import func, select, text

from lora_manager.storage.base import L
from lora_manager.storage.catalog_filters import conditions, under_path
from lora_manager.storage.catalog_store import LoraQuery

from .conftest import scan
from .loras import write_lora

# Folder names that sort beside "a": a space, "-" and "." sort before "/", "0" right after it, upper case,
# accents; "big" holds most of the library (its page is read by the walk of the sort's index).
FOLDERS = ["a", "a/b", "a/b/c", "a b", "a-b", "a.b", "a0", "ab", "A", "é", "é/ü", "big"]
BIG = 40


@pytest.fixture
def lib(app, library):
    n = 0
    for folder in FOLDERS:
        for i in range(BIG if folder == "big" else 2):
            write_lora(library / folder / f"{folder.replace('/', '_')}_{i}.safetensors", seed=n)
            n += 1
    write_lora(library / "top.safetensors", seed=n)
    scan(app)
    return app


def by_columns(app, root: str, folder: str) -> list[str]:
    """What the root and folder columns say, read row by row from every entry."""
    every = app.catalog.list(LoraQuery(limit=1000, fields="id,path,folder,root")).items
    below = [e for e in every if not folder or e["folder"] == folder or e["folder"].startswith(folder + "/")]
    return sorted(e["path"] for e in below if e["root"] == root)


def paths(app, **kw) -> list[str]:
    return sorted(e["path"] for e in app.catalog.list(LoraQuery(limit=1000, fields="id,path", **kw)).items)


def walk(app, **kw) -> list[str]:
    """Every page of 3, by cursor."""
    out, cursor = [], None
    while True:
        page = app.catalog.list(LoraQuery(limit=3, cursor=cursor, fields="id,path", **kw))
        out += [e["path"] for e in page.items]
        if not page.next_cursor:
            return out
        cursor = page.next_cursor


def test_each_folder_lists_what_its_columns_say(lib):
    root = lib.settings.lora_dirs[0]
    for folder in ["", *FOLDERS, "a/", "/a", "missing", "a/b/c/d"]:
        want = by_columns(lib, root, folder.strip("/"))
        page = lib.catalog.list(LoraQuery(root=root, folder=folder, limit=1000, fields="id,path"))
        assert sorted(e["path"] for e in page.items) == want, folder
        assert page.total == len(want), folder
    assert len(by_columns(lib, root, "a")) == 6 and len(by_columns(lib, root, "é")) == 4
    assert paths(lib, root=root + "x") == [] and paths(lib, root=os.path.dirname(root)) == []


@pytest.mark.parametrize("sort", ["name", "-name", "size", "-modified", "id"])
def test_pages_of_a_small_and_a_large_folder(lib, sort):
    root = lib.settings.lora_dirs[0]
    for folder in ("a", "big", ""):  # a's 6 rows from its range; big's 40 and the root's 65 by the walk
        want = by_columns(lib, root, folder)
        got = walk(lib, root=root, folder=folder, sort=sort)
        assert sorted(got) == want and len(got) == len(set(got)), (folder, sort)
        offsets = [e["path"] for off in range(0, len(want), 4) for e in lib.catalog.list(
            LoraQuery(root=root, folder=folder, sort=sort, limit=4, offset=off, fields="id,path")).items]
        assert offsets == got, (folder, sort)


def test_with_other_filters_and_the_trash(lib):
    root = lib.settings.lora_dirs[0]
    tagged = lib.catalog.list(LoraQuery(root=root, folder="a/b", fields="id,path")).items[0]
    lib.catalog.edit(tagged["id"], {"tags": ["mark"]})
    assert paths(lib, root=root, folder="a", tags=["mark"]) == [tagged["path"]]
    assert tagged["path"] not in paths(lib, root=root, folder="a", exclude_tags=["mark"])
    assert len(paths(lib, root=root, folder="a", exclude_tags=["mark"])) == 5
    gone = lib.files.trash(tagged["id"])
    assert gone["state"] == "trashed"
    assert len(paths(lib, root=root, folder="a")) == 5
    # the trashed row's path is the file in the trash: listed by its folder all the same
    trashed = lib.catalog.list(LoraQuery(root=root, folder="a/b", state="trashed", fields="id,path,folder")).items
    assert [e["id"] for e in trashed] == [tagged["id"]] and trashed[0]["folder"] == "a/b"
    assert tagged["id"] in [e["id"] for e in lib.catalog.list(
        LoraQuery(root=root, folder="a", missing=False, limit=1000, fields="id")).items]


def test_a_folder_count_reads_the_path_index_on_sqlite(lib):
    root = lib.settings.lora_dirs[0]
    q = LoraQuery(root=root, folder="a")
    dialect = lib.db.dialect
    below = under_path(q, dialect)
    if dialect != "sqlite":
        assert below is None  # PostgreSQL's index follows the collation: the columns are used
        return
    assert under_path(LoraQuery(root=root, folder="a", state="trashed"), dialect) is None
    assert under_path(LoraQuery(folder="a"), dialect) is None and under_path(q, dialect, host="h1") is None
    assert under_path(LoraQuery(root=root, folder=""), dialect) is None  # a whole root: the table in its order
    with lib.db.engine.connect() as conn:
        for by_path in (False, True):
            stmt = select(func.count()).select_from(L).where(*conditions(q, dialect, by_path=by_path))
            sql = stmt.compile(dialect=lib.db.engine.dialect, compile_kwargs={"literal_binds": True})
            plan = " ".join(r[3] for r in conn.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
            assert ("INDEX sqlite_autoindex_loras_1 (path>? AND path<?)" in plan) is by_path, plan
            assert ("COVERING INDEX ix_loras_place" in plan) is not by_path, plan  # the columns: their index
            assert "SCAN loras" not in plan, plan  # never every row of the table
            assert conn.execute(stmt).scalar_one() == 6


def test_totals_with_tags_left_out(lib):
    """A total with tags left out is the rows without that filter less those carrying one of the tags: the same
    as the rows listed, with folders, included tags, the model's own tags and a tag on no LoRA."""
    root = lib.settings.lora_dirs[0]
    every = lib.catalog.list(LoraQuery(limit=1000, fields="id,folder")).items
    tags = {"x": [e["id"] for e in every[::3]], "y": [e["id"] for e in every[::5]], "z": [e["id"] for e in every[:2]]}
    for tag, ids in tags.items():
        for lid in ids:
            lib.catalog.edit(lid, {"tags": sorted({*lib.catalog.get(lid)["tags"], tag})})
    cases = [dict(exclude_tags=["x"]), dict(exclude_tags=["x", "Y "]), dict(exclude_tags=["nowhere"]),
             dict(tags=["y"], exclude_tags=["x"]), dict(root=root, folder="big", exclude_tags=["x", "z"]),
             dict(root=root, folder="a", tags=["x"], exclude_tags=["y"]), dict(exclude_tags=["x", "y", "z"])]
    for kw in cases:
        page = lib.catalog.list(LoraQuery(limit=1000, fields="id,tags", **kw))
        gone = {t.strip().lower() for t in kw["exclude_tags"]}
        assert not [e for e in page.items if gone & set(e["tags"])], kw
        kept = lib.catalog.list(LoraQuery(limit=1000, fields="id", **{**kw, "exclude_tags": []})).items
        want = [e["id"] for e in kept if not any(e["id"] in tags.get(t, []) for t in gone)]
        assert sorted(e["id"] for e in page.items) == sorted(want), kw
        assert page.total == len(want) and page.total < len(kept) or kw["exclude_tags"] == ["nowhere"], kw


def test_a_whole_root_is_counted_by_its_index_and_paged_by_the_sort_walk(lib):
    """A root holding most of the library: its count reads `ix_loras_place` (no wide row), its page walks the
    sort's index and stops after a page (never every row of the root read and sorted); a search in it is
    found by the words' index. The lists are the same as the columns say."""
    from sqlalchemy import event

    root = lib.settings.lora_dirs[0]
    seen: list[tuple[str, object]] = []

    def keep(conn, cursor, statement, params, context, executemany):
        if "FROM loras" in statement and not statement.startswith("EXPLAIN"):
            seen.append((statement, params))

    event.listen(lib.db.engine, "before_cursor_execute", keep)
    try:
        whole = lib.catalog.list(LoraQuery(root=root, limit=5, fields="id,name"))
        found = lib.catalog.list(LoraQuery(root=root, query="big", limit=5, fields="id,name"))
    finally:
        event.remove(lib.db.engine, "before_cursor_execute", keep)
    every = lib.catalog.list(LoraQuery(limit=1000, fields="id,name")).items
    assert whole.total == len(every) and [e["id"] for e in whole.items] == [e["id"] for e in every[:5]]
    assert found.total == BIG
    if lib.db.dialect != "sqlite":
        return  # PostgreSQL's planner chooses by its statistics
    plans = []
    with lib.db.engine.connect() as conn:
        for statement, params in seen:
            plans.append(" ".join(r[3] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params)))
    [count, page] = [p for p, (s, _) in zip(plans, seen, strict=True) if "root" in s and "MATCH" not in s]
    assert "COVERING INDEX ix_loras_place (root=?)" in count, count
    assert "SCAN loras USING INDEX ix_loras_sort_shown" in page and "TEMP B-TREE" not in page, page
    for plan in [p for p, (s, _) in zip(plans, seen, strict=True) if "MATCH" in s]:
        assert "ix_loras_place" not in plan, plan  # the words find the rows; the root is only checked
