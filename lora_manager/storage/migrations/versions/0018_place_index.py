"""an index of each row's root, folder and state: a whole root's or a folder's count reads the index, not
the wide rows (docs/performance.md, the tab's folders)

Revision ID: 0018
Revises: 0017
"""

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_loras_place", "loras", ["root", "folder", "state"])


def downgrade() -> None:
    op.drop_index("ix_loras_place", table_name="loras")
