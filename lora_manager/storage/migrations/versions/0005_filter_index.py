"""a narrow index covering the list filters

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Rows carry the whole header's metadata, so a filtered count that reads the table
# walks overflow pages (106 ms for a base filter over 10k rows). Counting from this
# index (and finding duplicate hashes by a covering scan) reads a few pages instead.
COLUMNS = ["state", "base_family", "preview_count", "network_type", "sha256"]


def upgrade() -> None:
    op.create_index("ix_loras_filters", "loras", COLUMNS)


def downgrade() -> None:
    op.drop_index("ix_loras_filters", table_name="loras")
