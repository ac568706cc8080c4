"""The indexes a cold load into an empty SQLite library dropped and has not built again yet (storage/bulk_load.py):
recorded with the drop, so that a process killed during the load leaves them for the next one to build.

Revision ID: 0021
Revises: 0020
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deferred_indexes",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("create_sql", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(length=300), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("deferred_indexes")
