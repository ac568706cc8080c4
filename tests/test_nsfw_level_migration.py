"""Migration 0019 on a library indexed at 0018: the new `nsfw_level` column is filled from each row's `suggested`
JSON (the probe's rule: a positive integer, at most 32; anything else unknown), on SQLite and PostgreSQL, and the
list's `nsfw_max` filter works on the rows it filled; the way back drops the column alone."""

from __future__ import annotations

from sqlalchemy import inspect, text

from lora_manager.storage.engine import make_engine, migrate

from .conftest import scan
from .loras import write_lora
from .test_nsfw_level import lm_sidecar
from .test_query_side_migration import downgrade

# Rows whose `suggested` an older version wrote (set by hand at 0018) -> the level 0019 gives them.
ODD = {
    "big": ('{"nsfw_level": 1000}', 32),
    "word": ('{"nsfw_level": "mature"}', None),
    "zero": ('{"nsfw_level": 0}', None),
    "negative": ('{"nsfw_level": -4}', None),
    "half": ('{"nsfw_level": 4.5}', None),
    "yes": ('{"nsfw_level": true}', None),
    "nothing": ('{"nsfw_level": null}', None),
    "listed": ('[]', None),
    "mixed": ('{"preferred_weight": 0.8, "negative_text": "nsfw_level", "nsfw_level": 2}', 2),
}


def _columns(engine) -> set[str]:
    with engine.connect() as conn:
        return {c["name"] for c in inspect(conn).get_columns("loras")}


def test_rows_indexed_at_0018_get_their_level(app, library, db_url):
    for i, (name, level, nsfw) in enumerate((("pg", 1, False), ("x", 8, False), ("old", None, True))):
        lm_sidecar(write_lora(library / f"{name}.safetensors", seed=i), level, nsfw, [])
    write_lora(library / "plain.safetensors", seed=10)
    for i, name in enumerate(ODD):
        write_lora(library / "odd" / f"{name}.safetensors", seed=20 + i)
    scan(app)
    engine = make_engine(db_url)
    try:
        downgrade(engine, "0018")
        assert "nsfw_level" not in _columns(engine) and "nsfw" in _columns(engine)
        with engine.begin() as conn:
            levels = dict(conn.execute(text("SELECT prompt_name, suggested FROM loras WHERE prompt_name IN "
                                            "('pg', 'x', 'old')")).all())
            assert '"nsfw_level":1' in levels["pg"] and '"nsfw_level":8' in levels["x"]
            # `old` was read before the level was recorded: flagged NSFW, no level in its JSON
            conn.execute(text("UPDATE loras SET suggested = '{}' WHERE prompt_name = 'old'"))
            for name, (suggested, _) in ODD.items():
                conn.execute(text("UPDATE loras SET suggested = :s WHERE prompt_name = :n"),
                             {"s": suggested, "n": name})
        migrate(engine)
        assert "nsfw_level" in _columns(engine)
        with engine.connect() as conn:
            stored = dict(conn.execute(text("SELECT prompt_name, nsfw_level FROM loras")).all())
            flagged = set(conn.execute(text("SELECT prompt_name FROM loras WHERE nsfw")).scalars())
    finally:
        engine.dispose()
    assert stored == {"pg": 1, "x": 8, "old": None, "plain": None, **{n: lv for n, (_, lv) in ODD.items()}}
    assert flagged == {"old"}
    listed = sorted(e["name"] for e in app.catalog.list(nsfw_max=4, limit=50).items)
    # unknown levels kept, but not the flagged one; 8 and the capped 32 hidden
    assert listed == sorted(["pg", "plain", *(n for n, (_, lv) in ODD.items() if lv is None or lv <= 4)])
    assert "old" in [e["name"] for e in app.catalog.list(limit=50).items]


def test_the_way_back_drops_the_column_alone(db_url):
    engine = make_engine(db_url)
    try:
        migrate(engine)
        downgrade(engine, "0018")
        cols = _columns(engine)
        assert "nsfw_level" not in cols and {"suggested", "nsfw", "sort_name"} <= cols
        migrate(engine)
        assert "nsfw_level" in _columns(engine)
    finally:
        engine.dispose()
