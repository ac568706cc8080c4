"""Civitai's records, kept beside the library's own tables (migration 0009, docs/civitai.md).

A lookup is keyed by the file's SHA-256: duplicates share it, and a changed file (a new hash) is
looked up afresh. "not_found" is a fact with its date (asked again after the recheck window); a
network failure is never stored. Versions and models keep Civitai's JSON as it came.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from .jsontext import JSONText
from .models import Base


class CivitaiLookup(Base):
    __tablename__ = "civitai_lookups"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))  # found | not_found
    version_id: Mapped[int | None] = mapped_column(BigInteger)
    matched_by: Mapped[str | None] = mapped_column(String(16))  # sha256 | autov2
    checked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CivitaiVersion(Base):
    __tablename__ = "civitai_versions"

    version_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    model_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSONText)  # GET /model-versions/{id} as Civitai gave it
    etag: Mapped[str | None] = mapped_column(String(200))
    fetched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CivitaiModel(Base):
    __tablename__ = "civitai_models"

    model_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    # GET /models/{id}, its versions kept as summaries (no files or images: those are the versions' own)
    data: Mapped[dict[str, Any]] = mapped_column(JSONText)
    etag: Mapped[str | None] = mapped_column(String(200))
    fetched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
