"""A LoRA's hashes in a narrow table of their own (migration 0022)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String, Text, or_, text
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base

# A row whose file was never hashed, or changed since: one text for the partial index's predicate
# (migration 0022), and the same test as an expression (HASH_PENDING, below the table).
HASH_PENDING_SQL = "hashed_size IS NULL OR hashed_size != size OR hashed_mtime_ns != mtime_ns"
HASH_PENDING_COLUMNS = ("lora_id", "state", "size", "mtime_ns", "hashed_size", "hashed_mtime_ns")
# What the hasher writes (and a merged or split entry carries over).
HASH_COLUMNS = ("sha256", "tensor_sha256", "legacy_hash", "hashed_size", "hashed_mtime_ns", "hash_error",
                "header_hash_ok")


class LoraHash(Base):
    """A LoRA's hashes, and the file facts they were taken from: one row per `loras` row, narrow (migration 0022).

    The hasher writes here alone. A hash stored into the wide `loras` row rewrote the whole row (its metadata
    and training tags with it) and cost the hashing threads a third of their pace (docs/performance-hashing.md).
    `size`, `mtime_ns` and `state` follow the LoRA's row (database triggers, migration 0022), so that the rows
    waiting for a hash are a partial index of this table alone."""

    __tablename__ = "lora_hashes"

    lora_id: Mapped[int] = mapped_column(ForeignKey("loras.id", ondelete="CASCADE"), primary_key=True)
    size: Mapped[int | None] = mapped_column(BigInteger)  # the file's, as its LoRA row says now
    mtime_ns: Mapped[int | None] = mapped_column(BigInteger)
    state: Mapped[str | None] = mapped_column(String(16))
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    tensor_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    legacy_hash: Mapped[str | None] = mapped_column(String(8))
    hashed_size: Mapped[int | None] = mapped_column(BigInteger)  # the file's size and mtime when hashed
    hashed_mtime_ns: Mapped[int | None] = mapped_column(BigInteger)
    hash_error: Mapped[str | None] = mapped_column(Text)
    header_hash_ok: Mapped[bool | None] = mapped_column(Boolean)

    __table_args__ = (
        # Rows waiting for a hash, in id order: the hasher's keyset walk and what storing a hash checks.
        Index("ix_lora_hashes_pending", *HASH_PENDING_COLUMNS,
              sqlite_where=text(HASH_PENDING_SQL), postgresql_where=text(HASH_PENDING_SQL)),
    )


_H = LoraHash.__table__
HASH_PENDING = or_(
    _H.c.hashed_size.is_(None), _H.c.hashed_size != _H.c.size, _H.c.hashed_mtime_ns != _H.c.mtime_ns
).self_group()
