"""Shown names, model tags and substring search: the user's display name, the shown name's sort key, the
text substring search reads (an FTS5 trigram index on SQLite, a pg_trgm GIN index on PostgreSQL), the NSFW
flag, and the model's own tags as rows

Revision ID: 0012
Revises: 0011
"""

import logging

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

SORT_TEXT = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")


def upgrade() -> None:
    # Plain ADD COLUMN (never a copy of the table: its full-text triggers stay); the defaults fill old rows.
    op.add_column("loras", sa.Column("sort_name", SORT_TEXT, nullable=False, server_default=""))
    op.add_column("loras", sa.Column("infix_text", sa.Text(), nullable=False, server_default=""))
    op.add_column("loras", sa.Column("nsfw", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("lora_user", sa.Column("display_name", sa.Text(), nullable=True))
    op.create_table(
        "lora_model_tags",
        sa.Column("lora_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["lora_id"], ["loras.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("lora_id", "tag"),
    )
    op.create_index("ix_lora_model_tags_tag", "lora_model_tags", ["tag"])
    _backfill()
    op.create_index("ix_loras_sort_shown", "loras", ["sort_name", "id"])
    _create_infix_index()


def _backfill() -> None:
    """Every existing row's derived columns and model tags (storage/derived.py), in parts by id."""
    from lora_manager.storage import db

    conn = op.get_bind()
    last = 0
    while True:
        ids = [r[0] for r in conn.execute(sa.text("SELECT id FROM loras WHERE id > :a ORDER BY id LIMIT 2000"),
                                          {"a": last})]
        if not ids:
            return
        # The hashes were in the LoRA's row at this revision (0022 moved them to a table of their own).
        old = sa.table("loras", sa.column("id"), sa.column("sha256"))
        db.refresh_search(conn, ids, part_size=2000, hashes=(old.c.id, old.c.sha256))
        last = ids[-1]


def _create_infix_index() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        # Substrings of three characters and more; kept in step as loras_fts is (migration 0001).
        op.execute("CREATE VIRTUAL TABLE loras_fts_tri USING fts5(infix_text, content='loras', content_rowid='id', "
                   "tokenize='trigram')")
        op.execute("INSERT INTO loras_fts_tri(loras_fts_tri) VALUES ('rebuild')")
        op.execute(
            "CREATE TRIGGER loras_fts_tri_ad AFTER DELETE ON loras BEGIN "
            "INSERT INTO loras_fts_tri(loras_fts_tri, rowid, infix_text) VALUES ('delete', old.id, old.infix_text); END"
        )
        op.execute(
            "CREATE TRIGGER loras_fts_tri_au AFTER UPDATE OF infix_text ON loras BEGIN "
            "INSERT INTO loras_fts_tri(loras_fts_tri, rowid, infix_text) VALUES ('delete', old.id, old.infix_text); "
            "INSERT INTO loras_fts_tri(rowid, infix_text) VALUES (new.id, new.infix_text); END"
        )
    elif conn.dialect.name == "postgresql":
        schema = _trgm_schema(conn)
        if schema is None:
            logging.getLogger(__name__).warning(
                "pg_trgm is not available: substring search works without its index (slower on large libraries)")
            return
        op.execute(f'CREATE INDEX ix_loras_search_infix ON loras USING gin (infix_text "{schema}".gin_trgm_ops)')


def _trgm_schema(conn) -> str | None:
    """The schema of the pg_trgm extension, created (in public) when it is missing and we may; None if neither."""
    find = sa.text("SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
                   "WHERE e.extname = 'pg_trgm'")
    schema = conn.execute(find).scalar()
    if schema is None:
        try:
            with conn.begin_nested():
                conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public"))
        except sa.exc.DBAPIError as exc:
            logging.getLogger(__name__).warning("could not create the pg_trgm extension: %s", exc)
            return None
        schema = conn.execute(find).scalar()
    return schema


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS loras_fts_tri_ad")
        op.execute("DROP TRIGGER IF EXISTS loras_fts_tri_au")
        op.execute("DROP TABLE IF EXISTS loras_fts_tri")
    elif conn.dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_loras_search_infix")
    op.drop_index("ix_loras_sort_shown", table_name="loras")
    op.drop_index("ix_lora_model_tags_tag", table_name="lora_model_tags")
    op.drop_table("lora_model_tags")
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+), never a copy of the table: its full-text triggers stay
    op.execute("ALTER TABLE lora_user DROP COLUMN display_name")
    for name in ("nsfw", "infix_text", "sort_name"):
        op.execute(f"ALTER TABLE loras DROP COLUMN {name}")
