"""A LoRA's hashes move to a narrow table of their own, `lora_hashes`, one row per LoRA; the wide `loras` row is
no longer rewritten for each hash stored (docs/performance-hashing.md). Database triggers keep each hash row's
copy of its LoRA's size, mtime and state, so that the rows waiting for a hash stay a partial index.

Revision ID: 0022
Revises: 0021
"""

import sqlite3

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

# The same as HASH_PENDING_SQL and HASH_PENDING_COLUMNS in lora_manager/storage/hash_models.py at this revision.
PENDING = "hashed_size IS NULL OR hashed_size != size OR hashed_mtime_ns != mtime_ns"
PENDING_COLUMNS = ["lora_id", "state", "size", "mtime_ns", "hashed_size", "hashed_mtime_ns"]
HASHES = ["sha256", "tensor_sha256", "legacy_hash", "hashed_size", "hashed_mtime_ns", "hash_error", "header_hash_ok"]
FOLLOWED = ["size", "mtime_ns", "state"]  # the LoRA's columns its hash row keeps a copy of
OLD_INDEXES = ["ix_loras_hash_pending", "ix_loras_sha256", "ix_loras_tensor_sha256", "ix_loras_filters"]
FILTERS = ["state", "base_family", "preview_count", "network_type"]

SQLITE_TRIGGERS = [
    # OR REPLACE: a hash row left by a row that went without its delete taking it (never expected) is reset.
    "CREATE TRIGGER lora_hashes_ai AFTER INSERT ON loras BEGIN "
    "INSERT OR REPLACE INTO lora_hashes (lora_id, size, mtime_ns, state) VALUES (new.id, new.size, new.mtime_ns, "
    "new.state); END",
    "CREATE TRIGGER lora_hashes_au AFTER UPDATE OF size, mtime_ns, state ON loras "
    "WHEN old.size IS NOT new.size OR old.mtime_ns IS NOT new.mtime_ns OR old.state IS NOT new.state BEGIN "
    "UPDATE lora_hashes SET size = new.size, mtime_ns = new.mtime_ns, state = new.state WHERE lora_id = new.id; END",
    # The foreign key cascades too where foreign keys are on; a connection without them still takes the row.
    "CREATE TRIGGER lora_hashes_ad AFTER DELETE ON loras BEGIN DELETE FROM lora_hashes WHERE lora_id = old.id; END",
]
PG_FUNCTION = """
CREATE OR REPLACE FUNCTION lora_hashes_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO lora_hashes (lora_id, size, mtime_ns, state) VALUES (NEW.id, NEW.size, NEW.mtime_ns, NEW.state)
        ON CONFLICT (lora_id) DO UPDATE SET size = EXCLUDED.size, mtime_ns = EXCLUDED.mtime_ns,
            state = EXCLUDED.state, sha256 = NULL, tensor_sha256 = NULL, legacy_hash = NULL, hashed_size = NULL,
            hashed_mtime_ns = NULL, hash_error = NULL, header_hash_ok = NULL;
    ELSE
        UPDATE lora_hashes SET size = NEW.size, mtime_ns = NEW.mtime_ns, state = NEW.state WHERE lora_id = NEW.id;
    END IF;
    RETURN NULL;
END $$
"""
PG_TRIGGERS = [
    "CREATE TRIGGER lora_hashes_ai AFTER INSERT ON loras FOR EACH ROW EXECUTE FUNCTION lora_hashes_follow()",
    "CREATE TRIGGER lora_hashes_au AFTER UPDATE OF size, mtime_ns, state ON loras FOR EACH ROW "
    "WHEN (OLD.size IS DISTINCT FROM NEW.size OR OLD.mtime_ns IS DISTINCT FROM NEW.mtime_ns "
    "OR OLD.state IS DISTINCT FROM NEW.state) EXECUTE FUNCTION lora_hashes_follow()",
]


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.create_table(
        "lora_hashes",
        sa.Column("lora_id", sa.Integer(), sa.ForeignKey("loras.id", ondelete="CASCADE"), nullable=False),
        sa.Column("size", sa.BigInteger()),
        sa.Column("mtime_ns", sa.BigInteger()),
        sa.Column("state", sa.String(length=16)),
        sa.Column("sha256", sa.String(length=64)),
        sa.Column("tensor_sha256", sa.String(length=64)),
        sa.Column("legacy_hash", sa.String(length=8)),
        sa.Column("hashed_size", sa.BigInteger()),
        sa.Column("hashed_mtime_ns", sa.BigInteger()),
        sa.Column("hash_error", sa.Text()),
        sa.Column("header_hash_ok", sa.Boolean()),
        sa.PrimaryKeyConstraint("lora_id"),
    )
    cols = ", ".join(FOLLOWED + HASHES)
    op.execute(f"INSERT INTO lora_hashes (lora_id, {cols}) SELECT id, {cols} FROM loras")  # noqa: S608 - our names
    op.create_index("ix_lora_hashes_sha256", "lora_hashes", ["sha256"])
    op.create_index("ix_lora_hashes_tensor_sha256", "lora_hashes", ["tensor_sha256"])
    op.create_index("ix_lora_hashes_pending", "lora_hashes", PENDING_COLUMNS,
                    sqlite_where=sa.text(PENDING), postgresql_where=sa.text(PENDING))
    if sqlite:
        for sql in SQLITE_TRIGGERS:
            op.execute(sql)
        # A cold load's dropped indexes not built yet (0021) must not come back with a column that is gone.
        names = ", ".join(f"'{n}'" for n in OLD_INDEXES)
        op.execute(f"DELETE FROM deferred_indexes WHERE name IN ({names})")  # noqa: S608 - our names
    else:
        op.execute(PG_FUNCTION)
        for sql in PG_TRIGGERS:
            op.execute(sql)
    for name in OLD_INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    op.create_index("ix_loras_filters", "loras", FILTERS)
    if not sqlite or sqlite3.sqlite_version_info >= (3, 35, 0):
        for col in HASHES:  # SQLite rewrites the table for each: the seven took 1 s at 10k LoRAs (2026-12-07)
            op.drop_column("loras", col)
    else:  # no DROP COLUMN before SQLite 3.35: the columns stay, emptied, and nothing declares or reads them
        op.execute("UPDATE loras SET " + ", ".join(f"{c} = NULL" for c in HASHES))  # noqa: S608 - our names


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        for name in ("lora_hashes_ai", "lora_hashes_au", "lora_hashes_ad"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        for name in ("lora_hashes_ai", "lora_hashes_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON loras")
        op.execute("DROP FUNCTION IF EXISTS lora_hashes_follow()")
    have = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("loras")}
    types = {"sha256": sa.String(64), "tensor_sha256": sa.String(64), "legacy_hash": sa.String(8),
             "hashed_size": sa.BigInteger(), "hashed_mtime_ns": sa.BigInteger(), "hash_error": sa.Text(),
             "header_hash_ok": sa.Boolean()}
    for col in HASHES:
        if col not in have:
            op.add_column("loras", sa.Column(col, types[col]))
    sets = ", ".join(f"{c} = (SELECT h.{c} FROM lora_hashes h WHERE h.lora_id = loras.id)" for c in HASHES)
    op.execute(f"UPDATE loras SET {sets}")  # noqa: S608 - our names
    op.drop_index("ix_loras_filters", table_name="loras")
    op.create_index("ix_loras_filters", "loras", [*FILTERS, "sha256"])
    op.create_index("ix_loras_sha256", "loras", ["sha256"])
    op.create_index("ix_loras_tensor_sha256", "loras", ["tensor_sha256"])
    op.create_index("ix_loras_hash_pending", "loras",
                    ["id", "state", "size", "mtime_ns", "hashed_size", "hashed_mtime_ns", "header_hash", "prev_sha256"],
                    sqlite_where=sa.text(PENDING), postgresql_where=sa.text(PENDING))
    op.drop_table("lora_hashes")
