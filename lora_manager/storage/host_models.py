"""Tables of one library shared by several hosts (migration 0015, docs/several-hosts.md).

`file_locations`: where each host sees each LoRA (a LoRA is one file by identity: its full hash, and
before hashing its size and header bytes); the path, folder and state a host shows are its own.
`library_hosts`: one heartbeat row per host. `library_roots`: each host's roots and the key of the
shared root they are (what a scan's advisory lock is taken on).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .jsontext import JSONText
from .models import Base


class FileLocation(Base):
    __tablename__ = "file_locations"

    lora_id: Mapped[int] = mapped_column(ForeignKey("loras.id", ondelete="CASCADE"), primary_key=True)
    host_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    path: Mapped[str] = mapped_column(Text)
    root: Mapped[str] = mapped_column(Text)
    folder: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(16))
    size: Mapped[int] = mapped_column(BigInteger)
    mtime_ns: Mapped[int] = mapped_column(BigInteger)
    companion_sig: Mapped[int] = mapped_column(BigInteger, default=0)
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_file_locations_host_path", "host_id", "path", unique=True),)


class LibraryHost(Base):
    __tablename__ = "library_hosts"

    host_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(32))  # sdnext, standalone, cli
    roots: Mapped[list[Any]] = mapped_column(JSONText, default=list)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    checkpoint: Mapped[str | None] = mapped_column(Text)
    family: Mapped[str | None] = mapped_column(String(32))
    busy: Mapped[bool] = mapped_column(Boolean, default=False)
    queue_depth: Mapped[int] = mapped_column(Integer, default=0)


class LibraryRoot(Base):
    __tablename__ = "library_roots"

    host_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    root: Mapped[str] = mapped_column(Text, primary_key=True)
    root_key: Mapped[str] = mapped_column(String(64), index=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
