"""usage rollups for the analytics dashboard, filled from the events recorded so far

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "usage_lora_totals",
        sa.Column("prompt_name", sa.String(length=500), nullable=False),
        sa.Column("lora_id", sa.Integer(), nullable=True),
        *[sa.Column(c, sa.Integer(), nullable=False) for c in
          ("requests", "uses", "done", "interrupted", "failed", "not_found", "not_applied")],
        sa.Column("first_used", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sum_ms", sa.BigInteger(), nullable=False),
        sa.Column("timed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("prompt_name"),
    )
    op.create_table(
        "usage_lora_weights",
        sa.Column("prompt_name", sa.String(length=500), nullable=False),
        sa.Column("weight", sa.String(length=16), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("prompt_name", "weight"),
    )
    op.create_table(
        "usage_lora_families",
        sa.Column("prompt_name", sa.String(length=500), nullable=False),
        sa.Column("family", sa.String(length=32), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("prompt_name", "family"),
    )
    op.create_table(
        "usage_pairs",
        sa.Column("a", sa.String(length=500), nullable=False),
        sa.Column("b", sa.String(length=500), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("a", "b"),
    )
    op.create_table(
        "usage_slots",
        sa.Column("slot", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("family", sa.String(length=32), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("sum_ms", sa.BigInteger(), nullable=False),
        sa.Column("timed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("slot", "outcome", "family"),
    )
    op.create_index("ix_usage_pairs_n", "usage_pairs", ["n"])
    op.create_index("ix_usage_lora_totals_uses", "usage_lora_totals", ["uses"])
    op.create_index("ix_usage_lora_totals_lora_id", "usage_lora_totals", ["lora_id"])
    _backfill()


def _backfill() -> None:
    """Fold the events recorded before this revision into the rollups, in chunks."""
    from lora_manager.storage import rollups
    from lora_manager.usage.rollup_fold import aggregate
    from lora_manager.storage.usage_store import G, GL

    conn = op.get_bind()
    last = 0
    while True:
        gens = [dict(r._mapping) for r in conn.execute(
            sa.select(G).where(G.c.id > last).order_by(G.c.id).limit(5000))]
        if not gens:
            return
        ids = [g["id"] for g in gens]
        loras = [dict(r._mapping) for r in conn.execute(sa.select(GL).where(GL.c.generation_id.in_(ids)))]
        # only this revision's tables: later revisions backfill their own
        rollups.apply(conn, conn.dialect.name, aggregate(gens, loras),
                      only={"totals", "weights", "families", "pairs", "slots"})
        last = ids[-1]


def downgrade() -> None:
    for table in ("usage_slots", "usage_pairs", "usage_lora_families", "usage_lora_weights", "usage_lora_totals"):
        op.drop_table(table)
