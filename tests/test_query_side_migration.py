"""Migration 0012 on a library indexed before it: every row gets its sort key, substring text, NSFW flag and
model tags; the display name column starts empty; and the way back (downgrade) leaves the older schema whole."""

from __future__ import annotations

from sqlalchemy import text

from lora_manager.storage.engine import make_engine, migrate

from .conftest import scan
from .loras import write_lora


def downgrade(engine, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    from lora_manager.storage.engine import MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", MIGRATIONS)
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)
        conn.commit()


def test_rows_indexed_before_0012_get_their_derived_columns(app, library, db_url):
    write_lora(library / "v10.safetensors", seed=1, metadata={"modelspec.title": "Élan v10",
                                                              "modelspec.tags": "Tree, Forest"})
    write_lora(library / "plain.safetensors", seed=2, metadata={"modelspec.trigger_phrase": "1girl"})
    scan(app)
    engine = make_engine(db_url)
    try:
        downgrade(engine, "0011")
        with engine.connect() as conn:
            cols = {r[1] for r in conn.execute(text("PRAGMA table_info(loras)"))} if "sqlite" in db_url else set()
            triggers = set(conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars()) \
                if "sqlite" in db_url else {"loras_fts_au", "loras_fts_ad"}
        assert not cols & {"sort_name", "infix_text", "nsfw"}
        assert {"loras_fts_au", "loras_fts_ad"} <= triggers, "the word index's triggers stay"
        migrate(engine)
        with engine.connect() as conn:
            rows = {r[0]: r[1:] for r in conn.execute(text("SELECT prompt_name, sort_name, infix_text FROM loras"))}
            tags = sorted(conn.execute(text("SELECT tag FROM lora_model_tags")).scalars())
    finally:
        engine.dispose()
    assert rows["v10"][0] == "elan v0210" and "Élan v10" in rows["v10"][1]
    assert rows["plain"][0] == "plain" and "1girl" in rows["plain"][1]
    assert tags == ["forest", "tree"]
    c = app.catalog
    assert [e["name"] for e in c.list(query="girl").items] == ["plain"]  # the substring index was filled
    assert [e["name"] for e in c.list(query="fores").items] == ["v10"]  # and the word index kept
    assert [e["name"] for e in c.list(tags=["tree"]).items] == ["v10"]
    assert [e["shown_name"] for e in c.list(sort="name").items] == ["Élan v10", "plain"]


def test_substring_search_has_its_index(db):
    """SQLite: the trigram table and its triggers; PostgreSQL: the pg_trgm GIN index (the extension is there)."""
    with db.engine.connect() as conn:
        if db.dialect == "sqlite":
            names = set(conn.execute(text("SELECT name FROM sqlite_master")).scalars())
            assert {"loras_fts_tri", "loras_fts_tri_ad", "loras_fts_tri_au", "ix_loras_sort_shown"} <= names
        else:
            names = set(conn.execute(text("SELECT indexname FROM pg_indexes WHERE tablename = 'loras' "
                                          "AND schemaname = current_schema()")).scalars())
            assert {"ix_loras_search_infix", "ix_loras_sort_shown"} <= names
