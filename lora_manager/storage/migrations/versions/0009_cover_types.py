"""stored cover types follow the one cover reader (library/cover.py): aliases named, unserved types cleared

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# COVER_TYPES of lora_manager/library/cover.py at this revision. Rows scanned before it may say
# image/svg+xml (never served) or image/jpg; a file is read again only when it changes, so the
# stored fact is brought in line here: what the route serves and what an entry says agree.
COVER_TYPES = ("image/png", "image/jpeg", "image/webp", "image/gif", "image/avif")


def upgrade() -> None:
    op.execute(sa.text("UPDATE loras SET cover_mime = 'image/jpeg' WHERE cover_mime IN ('image/jpg', 'image/pjpeg')"))
    op.execute(sa.text("UPDATE loras SET cover_mime = NULL WHERE cover_mime IS NOT NULL AND cover_mime NOT IN :types")
               .bindparams(sa.bindparam("types", COVER_TYPES, expanding=True)))


def downgrade() -> None:
    pass  # the cleared types were never served: nothing to bring back
