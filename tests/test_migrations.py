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
    # The full-text index and SQLite's id-order index (0020) are dialect-specific SQL the models cannot describe.
    search_parts = ("loras_fts", "ix_loras_search", "ix_loras_id_order")
    assert [d for d in diff if not (isinstance(d, tuple) and any(p in str(d[1]) for p in search_parts))] == []
    assert {"loras", "lora_user", "lora_tags", "collections", "collection_items", "alembic_version"} <= tables


def test_the_fast_schema_check_agrees_with_alembic(db_url):
    """`is_current` skips Alembic only when Alembic itself would find nothing to do."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from lora_manager.storage.engine import MIGRATIONS, make_engine, migrate
    from lora_manager.storage.schema_version import head_revision, is_current

    cfg = Config()
    cfg.set_main_option("script_location", MIGRATIONS)
    assert head_revision() == ScriptDirectory.from_config(cfg).get_current_head()
    engine = make_engine(db_url)
    try:
        assert not is_current(engine)  # a new database
        migrate(engine)
        assert is_current(engine)
        with engine.begin() as conn:
            conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0001'")
        assert not is_current(engine)  # behind: the real migration runs
    finally:
        engine.dispose()


def test_short_commands_do_not_import_alembic(tmp_path):
    import subprocess
    import sys

    from .loras import write_lora

    write_lora(tmp_path / "lib" / "a.safetensors")
    dirs = ["--lora-dir", str(tmp_path / "lib"), "--data-dir", str(tmp_path / "data")]
    subprocess.run([sys.executable, "-m", "lora_manager", "scan", *dirs], check=True, capture_output=True)
    code = ("import sys; from lora_manager.cli import main; main(['list', *sys.argv[1:]]); "
            "print('ALEMBIC' if 'alembic' in sys.modules else 'NONE')")
    out = subprocess.run([sys.executable, "-c", code, *dirs], check=True, capture_output=True, text=True).stdout
    assert out.strip().endswith("NONE"), out
