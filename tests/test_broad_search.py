"""A search whose matches are a large part of the library ("ight" in 34k of 100k names) is counted and paged from
the name index on SQLite (storage/catalog_filters.py, broad_search): the same entries, total and order as the rows
would give, trashed entries left out, other filters still applied; a narrow search keeps reading the rows."""

from __future__ import annotations

from sqlalchemy import event

from lora_manager.storage.catalog_store import LoraQuery

from .conftest import scan
from .loras import write_lora


def _statements(app, run):
    seen: list[tuple[str, object]] = []

    def keep(conn, cursor, statement, params, context, executemany):
        if statement.startswith("SELECT") and "FROM loras" in statement:
            seen.append((statement, params))

    event.listen(app.db.engine, "before_cursor_execute", keep)
    try:
        out = run()
    finally:
        event.remove(app.db.engine, "before_cursor_execute", keep)
    return out, seen


def test_a_broad_search_reads_the_name_index_and_gives_what_the_rows_give(app, library):
    names = [f"Night Owl v{i}" for i in range(1, 15)] + [f"lights_{i}" for i in range(8)] + ["Other", "Plain"]
    for i, name in enumerate(names):
        write_lora(library / f"{name.replace(' ', '_')}.safetensors", seed=i, metadata={"ss_output_name": name})
    scan(app)
    app.files.trash("lights_3")
    app.catalog.edit("Night_Owl_v2", {"favorite": True})
    q = dict(query="ight", limit=7, fields="id,name")
    page, seen = _statements(app, lambda: app.catalog.list(LoraQuery(**q)))
    # The same list read from the rows: a filter that tests each row (nothing is NSFW here) turns the path off.
    rows = app.catalog.list(LoraQuery(**q, nsfw=False))
    assert page.total == rows.total == 21  # 14 + 8 - the trashed one
    assert [e["id"] for e in page.items] == [e["id"] for e in rows.items]
    every = app.catalog.list(LoraQuery(query="ight", limit=100, fields="id,name"))
    # every hit a substring hit: by the shown name, case-blind
    assert [e["name"] for e in every.items][:3] == ["lights_0", "lights_1", "lights_2"]
    deeper = app.catalog.list(LoraQuery(**{**q, "offset": 7}))
    assert [e["id"] for e in deeper.items] == [e["id"] for e in every.items[7:14]]
    cursor = app.catalog.list(LoraQuery(**{**q, "cursor": page.next_cursor}))
    assert [e["id"] for e in cursor.items] == [e["id"] for e in every.items[7:14]]
    favs = app.catalog.list(LoraQuery(query="ight", favorite=True, fields="id,name"))
    assert [e["name"] for e in favs.items] == ["Night_Owl_v2"] and favs.total == 1
    if app.db.dialect != "sqlite":
        return
    with app.db.engine.connect() as conn:
        plans = [" ".join(r[3] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + s, p)) for s, p in seen]
    assert any("sort_name >=" in s for s, _ in seen)
    assert all("COVERING INDEX ix_loras_sort_shown" in plan for (s, _), plan in zip(seen, plans, strict=True)
               if "sort_name >=" in s), plans
    _, narrow = _statements(app, lambda: app.catalog.list(LoraQuery(query="Plain", fields="id")))
    assert not any("sort_name >=" in s for s, _ in narrow)  # 1 match of 24: the rows
