"""Alembic migrations give exactly the schema the models describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from lora_manager.storage.engine import make_engine, migrate
from lora_manager.storage.models import Base


def test_migrated_schema_matches_models(db_url):
    engine = make_engine(db_url)
    migrate(engine)
    migrate(engine)  # idempotent: a second start changes nothing
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        tables = set(inspect(conn).get_table_names())
    engine.dispose()
    # The full-text index is dialect-specific SQL the models cannot describe.
    search_parts = ("loras_fts", "ix_loras_search")
    assert [d for d in diff if not (isinstance(d, tuple) and any(p in str(d[1]) for p in search_parts))] == []
    assert {"loras", "lora_user", "lora_tags", "collections", "collection_items", "alembic_version"} <= tables
