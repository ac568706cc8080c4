"""Tables of Civitai update checks and downloads (migration 0010, docs/civitai.md).

`civitai_update_models` keeps each checked model's version list as summaries (newest first, as
Civitai gives them); `civitai_lora_updates` says, per LoRA, which version it is and how many newer
ones exist (what the list's filter reads); `civitai_downloads` is the download queue and its history.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .jsontext import JSONText
from .models import Base


class CivitaiUpdateModel(Base):
    __tablename__ = "civitai_update_models"

    model_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    name: Mapped[str | None] = mapped_column(Text)
    versions: Mapped[list[Any]] = mapped_column(JSONText, default=list)  # summaries, newest first
    etag: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))  # ok | not_found | failed
    error: Mapped[str | None] = mapped_column(Text)
    checked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CivitaiLoraUpdate(Base):
    __tablename__ = "civitai_lora_updates"

    lora_id: Mapped[int] = mapped_column(ForeignKey("loras.id", ondelete="CASCADE"), primary_key=True)
    model_id: Mapped[int] = mapped_column(BigInteger, index=True)
    version_id: Mapped[int | None] = mapped_column(BigInteger)
    newest_version_id: Mapped[int | None] = mapped_column(BigInteger)
    newer: Mapped[int] = mapped_column(Integer, default=0)  # versions newer than the LoRA's
    checked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CivitaiDownload(Base):
    __tablename__ = "civitai_downloads"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    ref: Mapped[str] = mapped_column(Text)  # what the user gave: a URL, a version id or an AIR
    state: Mapped[str] = mapped_column(String(16), index=True)  # queued running paused done failed cancelled
    model_id: Mapped[int | None] = mapped_column(BigInteger)
    version_id: Mapped[int | None] = mapped_column(BigInteger)
    model_name: Mapped[str | None] = mapped_column(Text)
    version_name: Mapped[str | None] = mapped_column(Text)
    file_name: Mapped[str | None] = mapped_column(Text)
    sha256: Mapped[str | None] = mapped_column(String(64))  # Civitai's, checked before the file lands
    size: Mapped[int | None] = mapped_column(BigInteger)
    done_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    folder: Mapped[str | None] = mapped_column(Text)  # the folder asked for (relative to a root, or absolute)
    target: Mapped[str | None] = mapped_column(Text)  # where the file landed
    update_of: Mapped[int | None] = mapped_column(Integer)  # the LoRA this is a newer version of
    replace: Mapped[bool] = mapped_column(Boolean, default=False)
    carry_user_data: Mapped[bool] = mapped_column(Boolean, default=False)
    lora_id: Mapped[int | None] = mapped_column(Integer)  # the new entry
    error_code: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
