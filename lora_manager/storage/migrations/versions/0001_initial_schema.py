"""initial schema

Revision ID: 0001
Revises: 
"""

from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('collections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('loras',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('root', sa.Text(), nullable=False),
    sa.Column('folder', sa.Text(), nullable=False),
    sa.Column('file_name', sa.Text(), nullable=False),
    sa.Column('prompt_name', sa.Text(), nullable=False),
    sa.Column('ext', sa.String(length=16), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('mtime_ns', sa.BigInteger(), nullable=False),
    sa.Column('companion_sig', sa.BigInteger(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('header_digest', sa.String(length=64), nullable=True),
    sa.Column('header_hash', sa.String(length=64), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('tensor_sha256', sa.String(length=64), nullable=True),
    sa.Column('legacy_hash', sa.String(length=8), nullable=True),
    sa.Column('hashed_size', sa.BigInteger(), nullable=True),
    sa.Column('hashed_mtime_ns', sa.BigInteger(), nullable=True),
    sa.Column('hash_error', sa.Text(), nullable=True),
    sa.Column('header_hash_ok', sa.Boolean(), nullable=True),
    sa.Column('title', sa.Text(), nullable=True),
    sa.Column('alias', sa.Text(), nullable=True),
    sa.Column('network_type', sa.String(length=32), nullable=True),
    sa.Column('rank', sa.Integer(), nullable=True),
    sa.Column('alpha', sa.Float(), nullable=True),
    sa.Column('base_family', sa.String(length=32), nullable=True),
    sa.Column('base_label', sa.Text(), nullable=True),
    sa.Column('base_source', sa.String(length=32), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('author', sa.Text(), nullable=True),
    sa.Column('trained_started', sa.String(length=64), nullable=True),
    sa.Column('trained_finished', sa.String(length=64), nullable=True),
    sa.Column('resolution', sa.String(length=32), nullable=True),
    sa.Column('cover_mime', sa.String(length=32), nullable=True),
    sa.Column('triggers', sa.Text(), nullable=False),
    sa.Column('training_tags', sa.Text(), nullable=False),
    sa.Column('source_tags', sa.Text(), nullable=False),
    sa.Column('meta', sa.Text(), nullable=False),
    sa.Column('sidecars', sa.Text(), nullable=False),
    sa.Column('previews', sa.Text(), nullable=False),
    sa.Column('preview_count', sa.Integer(), nullable=False),
    sa.Column('suggested', sa.Text(), nullable=False),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('missing_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('offline', sa.Boolean(), nullable=False),
    sa.Column('moved_from', sa.Text(), nullable=True),
    sa.Column('prev_sha256', sa.String(length=64), nullable=True),
    sa.Column('trash_path', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('path')
    )
    with op.batch_alter_table('loras', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_loras_header_digest'), ['header_digest'], unique=False)
        batch_op.create_index(batch_op.f('ix_loras_network_type'), ['network_type'], unique=False)
        batch_op.create_index(batch_op.f('ix_loras_prompt_name'), ['prompt_name'], unique=False)
        batch_op.create_index(batch_op.f('ix_loras_sha256'), ['sha256'], unique=False)
        batch_op.create_index('ix_loras_size_digest', ['size', 'header_digest'], unique=False)
        batch_op.create_index(batch_op.f('ix_loras_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_loras_tensor_sha256'), ['tensor_sha256'], unique=False)

    op.create_table('collection_items',
    sa.Column('collection_id', sa.Integer(), nullable=False),
    sa.Column('lora_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['collection_id'], ['collections.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['lora_id'], ['loras.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('collection_id', 'lora_id')
    )
    with op.batch_alter_table('collection_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_collection_items_lora_id'), ['lora_id'], unique=False)

    op.create_table('lora_tags',
    sa.Column('lora_id', sa.Integer(), nullable=False),
    sa.Column('tag', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['lora_id'], ['loras.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('lora_id', 'tag')
    )
    with op.batch_alter_table('lora_tags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lora_tags_tag'), ['tag'], unique=False)

    op.create_table('lora_user',
    sa.Column('lora_id', sa.Integer(), nullable=False),
    sa.Column('favorite', sa.Boolean(), nullable=False),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('triggers', sa.Text(), nullable=True),
    sa.Column('preferred_weight', sa.Float(), nullable=True),
    sa.Column('weight_min', sa.Float(), nullable=True),
    sa.Column('weight_max', sa.Float(), nullable=True),
    sa.Column('negative_text', sa.Text(), nullable=True),
    sa.Column('base_override', sa.String(length=32), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['lora_id'], ['loras.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('lora_id')
    )
    with op.batch_alter_table('lora_user', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lora_user_favorite'), ['favorite'], unique=False)



    _create_search()


def _create_search() -> None:
    """Full-text search over `loras.search_text` (name, alias, triggers, tags, description).

    SQLite: an FTS5 index with external content, kept in step by triggers that
    fire only when search_text changes, so stat-only updates cost nothing.
    New rows are added to it by the store in one INSERT ... SELECT per batch:
    a per-row insert trigger made a cold scan's inserts twice as slow.
    PostgreSQL: a GIN index over the 'simple' tsvector (no stemming: LoRA
    names and trigger words are not English prose).
    """
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE loras_fts USING fts5(search_text, content='loras', content_rowid='id', "
            "tokenize=\"unicode61 remove_diacritics 2\", prefix='2 3')"
        )
        op.execute(
            "CREATE TRIGGER loras_fts_ad AFTER DELETE ON loras BEGIN "
            "INSERT INTO loras_fts(loras_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text); END"
        )
        op.execute(
            "CREATE TRIGGER loras_fts_au AFTER UPDATE OF search_text ON loras BEGIN "
            "INSERT INTO loras_fts(loras_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text); "
            "INSERT INTO loras_fts(rowid, search_text) VALUES (new.id, new.search_text); END"
        )
    elif dialect == "postgresql":
        op.execute("CREATE INDEX ix_loras_search ON loras USING gin (to_tsvector('simple', search_text))")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS loras_fts")
    with op.batch_alter_table('lora_user', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lora_user_favorite'))

    op.drop_table('lora_user')
    with op.batch_alter_table('lora_tags', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lora_tags_tag'))

    op.drop_table('lora_tags')
    with op.batch_alter_table('collection_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_collection_items_lora_id'))

    op.drop_table('collection_items')
    with op.batch_alter_table('loras', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_loras_tensor_sha256'))
        batch_op.drop_index(batch_op.f('ix_loras_state'))
        batch_op.drop_index('ix_loras_size_digest')
        batch_op.drop_index(batch_op.f('ix_loras_sha256'))
        batch_op.drop_index(batch_op.f('ix_loras_prompt_name'))
        batch_op.drop_index(batch_op.f('ix_loras_network_type'))
        batch_op.drop_index(batch_op.f('ix_loras_header_digest'))

    op.drop_table('loras')
    op.drop_table('collections')
