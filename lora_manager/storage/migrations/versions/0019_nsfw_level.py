"""The NSFW level as a column: the preview's rating (a Civitai browsing-level bit: 1 PG, 2 PG-13, 4 R, 8 X,
16 XXX), until now only inside the `suggested` JSON, so that the list filters on it (`nsfw_max`). Null: unknown.
Existing rows are filled from their `suggested` JSON in one statement per dialect, with the probe's rule
(library/probe.py `level_column`): a positive integer, at most 32; anything else stays unknown.

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

MAX_LEVEL = 32  # library/probe.py MAX_NSFW_LEVEL, as it was when this revision was written

# SQLite: a CASE, so that the JSON functions only ever read valid JSON (CASE evaluates in order).
_SQLITE_FILL = f"""
UPDATE loras SET nsfw_level = MIN(json_extract(CAST(suggested AS TEXT), '$.nsfw_level'), {MAX_LEVEL})
WHERE suggested LIKE '%nsfw_level%'
  AND CASE WHEN json_valid(CAST(suggested AS TEXT))
           THEN json_type(CAST(suggested AS TEXT), '$.nsfw_level') = 'integer'
                AND json_extract(CAST(suggested AS TEXT), '$.nsfw_level') >= 1
           ELSE 0 END
"""

# PostgreSQL (`suggested` is text): the number read only where JSON says it is one (CASE, in order).
_PG_FILL = f"""
WITH levels AS (
    SELECT id, CASE WHEN jsonb_typeof(j -> 'nsfw_level') = 'number' THEN (j ->> 'nsfw_level')::numeric END AS v
    FROM (SELECT id, suggested::jsonb AS j FROM loras WHERE suggested LIKE '%nsfw_level%') AS s
)
UPDATE loras SET nsfw_level = LEAST(levels.v, {MAX_LEVEL})::integer
FROM levels
WHERE loras.id = levels.id AND levels.v >= 1 AND levels.v = trunc(levels.v)
"""


def upgrade() -> None:
    # Plain ADD COLUMN (never a copy of the table: its full-text triggers stay); null for every row first.
    op.add_column("loras", sa.Column("nsfw_level", sa.Integer(), nullable=True))
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        conn.execute(sa.text(_SQLITE_FILL))
    elif conn.dialect.name == "postgresql":
        conn.execute(sa.text(_PG_FILL))


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+), never a copy of the table: its full-text triggers stay
    op.execute("ALTER TABLE loras DROP COLUMN nsfw_level")
