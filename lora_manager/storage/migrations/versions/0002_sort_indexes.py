"""indexes for the list sorts and header-hash lookups

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# A page of 100 sorted by name out of 100k rows must not sort the table.
INDEXES = {
    "ix_loras_sort_name": ["file_name", "id"],
    "ix_loras_sort_mtime": ["mtime_ns", "id"],
    "ix_loras_sort_added": ["added_at", "id"],
    "ix_loras_sort_size": ["size", "id"],
    # Lookups by the trainer's sshs_model_hash before a file is hashed.
    "ix_loras_header_hash": ["header_hash"],
}


def upgrade() -> None:
    for name, cols in INDEXES.items():
        op.create_index(name, "loras", cols)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="loras")
