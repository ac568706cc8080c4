"""partial index of the rows waiting for a hash, walked by id in batches by the hasher

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# The same text as HASH_PENDING_SQL in lora_manager/storage/models.py at this revision.
PENDING = "hashed_size IS NULL OR hashed_size != size OR hashed_mtime_ns != mtime_ns"


def upgrade() -> None:
    op.create_index("ix_loras_hash_pending", "loras", ["id"],
                    sqlite_where=sa.text(PENDING), postgresql_where=sa.text(PENDING))


def downgrade() -> None:
    op.drop_index("ix_loras_hash_pending", table_name="loras")
