"""One library for several hosts: file locations per host, host heartbeats, shared roots

Revision ID: 0015
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "file_locations",
        sa.Column("lora_id", sa.Integer(), nullable=False),
        sa.Column("host_id", sa.String(length=200), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("root", sa.Text(), nullable=False),
        sa.Column("folder", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("mtime_ns", sa.BigInteger(), nullable=False),
        sa.Column("companion_sig", sa.BigInteger(), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["lora_id"], ["loras.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("lora_id", "host_id"),
    )
    op.create_index("ix_file_locations_host_path", "file_locations", ["host_id", "path"], unique=True)
    op.create_table(
        "library_hosts",
        sa.Column("host_id", sa.String(length=200), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("roots", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checkpoint", sa.Text(), nullable=True),
        sa.Column("family", sa.String(length=32), nullable=True),
        sa.Column("busy", sa.Boolean(), nullable=False),
        sa.Column("queue_depth", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("host_id"),
    )
    op.create_index("ix_library_hosts_last_seen", "library_hosts", ["last_seen"])
    op.create_table(
        "library_roots",
        sa.Column("host_id", sa.String(length=200), nullable=False),
        sa.Column("root", sa.Text(), nullable=False),
        sa.Column("root_key", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("host_id", "root"),
    )
    op.create_index("ix_library_roots_root_key", "library_roots", ["root_key"])


def downgrade() -> None:
    op.drop_index("ix_library_roots_root_key", table_name="library_roots")
    op.drop_table("library_roots")
    op.drop_index("ix_library_hosts_last_seen", table_name="library_hosts")
    op.drop_table("library_hosts")
    op.drop_index("ix_file_locations_host_path", table_name="file_locations")
    op.drop_table("file_locations")
