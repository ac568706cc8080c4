"""partial index of the rows waiting for a hash, walked by id in batches by the hasher;
it carries what storing a hash checks

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# The same as HASH_PENDING_SQL and HASH_PENDING_COLUMNS in lora_manager/storage/models.py at this revision.
PENDING = "hashed_size IS NULL OR hashed_size != size OR hashed_mtime_ns != mtime_ns"
COLUMNS = ["id", "state", "size", "mtime_ns", "hashed_size", "hashed_mtime_ns", "header_hash", "prev_sha256"]


def upgrade() -> None:
    op.create_index("ix_loras_hash_pending", "loras", COLUMNS,
                    sqlite_where=sa.text(PENDING), postgresql_where=sa.text(PENDING))


def downgrade() -> None:
    op.drop_index("ix_loras_hash_pending", table_name="loras")
