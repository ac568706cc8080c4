"""Typed SQLAlchemy mappings. File facts and user data live in separate tables:
a rescan rewrites facts and never touches what the user said."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from .jsontext import JSONText

# Sort keys compare byte by byte on both databases (PostgreSQL's locale collations skip spaces and signs).
SORT_TEXT = Text().with_variant(Text(collation="C"), "postgresql")
STATES = ("ok", "broken", "unsupported", "other", "missing", "trashed")
# Left out of the library's list unless asked for by state: trashed files, and files that are not LoRAs.
UNLISTED_STATES = ("trashed", "other")


class Base(DeclarativeBase):
    pass


class Lora(Base):
    __tablename__ = "loras"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(Text, unique=True)
    root: Mapped[str] = mapped_column(Text)
    folder: Mapped[str] = mapped_column(Text, default="")
    file_name: Mapped[str] = mapped_column(Text)
    prompt_name: Mapped[str] = mapped_column(Text, index=True)
    ext: Mapped[str] = mapped_column(String(16))
    size: Mapped[int] = mapped_column(BigInteger)
    mtime_ns: Mapped[int] = mapped_column(BigInteger)
    companion_sig: Mapped[int] = mapped_column(BigInteger, default=0)
    state: Mapped[str] = mapped_column(String(16), index=True)
    error: Mapped[str | None] = mapped_column(Text)
    header_digest: Mapped[str | None] = mapped_column(String(64), index=True)
    header_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    title: Mapped[str | None] = mapped_column(Text)
    alias: Mapped[str | None] = mapped_column(Text)
    network_type: Mapped[str | None] = mapped_column(String(32), index=True)
    rank: Mapped[int | None] = mapped_column(Integer)
    alpha: Mapped[float | None] = mapped_column(Float)
    base_family: Mapped[str | None] = mapped_column(String(32))
    base_label: Mapped[str | None] = mapped_column(Text)
    base_source: Mapped[str | None] = mapped_column(String(32))
    description: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(Text)
    trained_started: Mapped[str | None] = mapped_column(String(64))
    trained_finished: Mapped[str | None] = mapped_column(String(64))
    resolution: Mapped[str | None] = mapped_column(String(32))
    cover_mime: Mapped[str | None] = mapped_column(String(32))
    triggers: Mapped[list[Any]] = mapped_column(JSONText, default=list)
    training_tags: Mapped[list[Any]] = mapped_column(JSONText, default=list)
    source_tags: Mapped[list[Any]] = mapped_column(JSONText, default=list)
    meta: Mapped[dict[str, Any]] = mapped_column(JSONText, default=dict)
    sidecars: Mapped[list[Any]] = mapped_column(JSONText, default=list)
    previews: Mapped[list[Any]] = mapped_column(JSONText, default=list)
    preview_count: Mapped[int] = mapped_column(Integer, default=0)
    suggested: Mapped[dict[str, Any]] = mapped_column(JSONText, default=dict)
    # The preview's rating as a Civitai browsing-level bit (1 PG, 2 PG-13, 4 R, 8 X, 16 XXX), `suggested`'s
    # "nsfw_level" as a column the list filters on (`nsfw_max`); null: unknown. Written by the probe (migration 0019).
    nsfw_level: Mapped[int | None] = mapped_column(Integer)
    search_text: Mapped[str] = mapped_column(Text, default="")
    # Derived at write time (storage/derived.py, migration 0012): the shown name's sort key (natural,
    # case- and accent-insensitive; compared byte by byte), the text substring search reads, NSFW flag.
    sort_name: Mapped[str] = mapped_column(SORT_TEXT, default="")
    infix_text: Mapped[str] = mapped_column(Text, default="")
    nsfw: Mapped[bool] = mapped_column(Boolean, default=False)
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    missing_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Missing because its root is offline (a drive unplugged): its file may still exist.
    offline: Mapped[bool] = mapped_column(Boolean, default=False)
    moved_from: Mapped[str | None] = mapped_column(Text)
    prev_sha256: Mapped[str | None] = mapped_column(String(64))
    trash_path: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_loras_size_digest", "size", "header_digest"),
        Index("ix_loras_sort_name", "file_name", "id"),
        Index("ix_loras_sort_shown", "sort_name", "id"),
        Index("ix_loras_sort_mtime", "mtime_ns", "id"),
        Index("ix_loras_sort_added", "added_at", "id"),
        Index("ix_loras_sort_size", "size", "id"),
        Index("ix_loras_filters", "state", "base_family", "preview_count", "network_type"),
        Index("ix_loras_state_size", "state", "size"),  # count and bytes of LoRAs on disk, index only
        Index("ix_loras_place", "root", "folder", "state"),  # a root's or folder's count, index only (0018)
    )


class LoraUser(Base):
    """What the user said about a LoRA. Never written by a scan."""

    __tablename__ = "lora_user"

    lora_id: Mapped[int] = mapped_column(ForeignKey("loras.id", ondelete="CASCADE"), primary_key=True)
    favorite: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    rating: Mapped[int | None] = mapped_column(Integer)
    notes: Mapped[str | None] = mapped_column(Text)
    triggers: Mapped[list[Any] | None] = mapped_column(JSONText)  # None: not edited, extracted ones apply
    preferred_weight: Mapped[float | None] = mapped_column(Float)
    weight_min: Mapped[float | None] = mapped_column(Float)
    weight_max: Mapped[float | None] = mapped_column(Float)
    negative_text: Mapped[str | None] = mapped_column(Text)
    base_override: Mapped[str | None] = mapped_column(String(32))
    display_name: Mapped[str | None] = mapped_column(Text)  # the user's own title; a rescan never touches it
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LoraTag(Base):
    __tablename__ = "lora_tags"

    lora_id: Mapped[int] = mapped_column(ForeignKey("loras.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(200), primary_key=True, index=True)


class LoraModelTag(Base):
    """The model's own tags (source_tags: sidecars, metadata, Civitai), one row each, normalised as user tags
    are: what tag filters and tag counts read beside the user's (kept by storage/derived.py)."""

    __tablename__ = "lora_model_tags"

    lora_id: Mapped[int] = mapped_column(ForeignKey("loras.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(200), primary_key=True, index=True)


class Collection(Base):
    __tablename__ = "collections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CollectionItem(Base):
    __tablename__ = "collection_items"

    collection_id: Mapped[int] = mapped_column(ForeignKey("collections.id", ondelete="CASCADE"), primary_key=True)
    lora_id: Mapped[int] = mapped_column(ForeignKey("loras.id", ondelete="CASCADE"), primary_key=True, index=True)


class Generation(Base):
    """One generation the host ran (UI, API or one of our jobs), as recorded."""

    __tablename__ = "generations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(16), index=True)  # done | interrupted | failed
    source: Mapped[str | None] = mapped_column(String(32))  # ui | api | job
    checkpoint: Mapped[str | None] = mapped_column(Text)
    checkpoint_family: Mapped[str | None] = mapped_column(String(32))
    seed: Mapped[int | None] = mapped_column(BigInteger)
    steps: Mapped[int | None] = mapped_column(Integer)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    sampler: Mapped[str | None] = mapped_column(String(64))
    prompt: Mapped[str | None] = mapped_column(Text)
    negative_prompt: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)


class GenerationLora(Base):
    """A LoRA a generation asked for, and what the host really applied."""

    __tablename__ = "generation_loras"

    generation_id: Mapped[int] = mapped_column(ForeignKey("generations.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    prompt_name: Mapped[str] = mapped_column(Text, index=True)
    lora_id: Mapped[int | None] = mapped_column(ForeignKey("loras.id", ondelete="SET NULL"), index=True)
    requested_weight: Mapped[float | None] = mapped_column(Float)
    requested_te: Mapped[float | None] = mapped_column(Float)
    requested_unet: Mapped[float | None] = mapped_column(Float)
    schedule: Mapped[str | None] = mapped_column(Text)
    applied: Mapped[bool] = mapped_column(Boolean, default=False)
    applied_te: Mapped[float | None] = mapped_column(Float)
    applied_unet: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16))  # applied | not_found | skipped | not_applied


class UsageLoraTotal(Base):
    """All-time figures per LoRA, kept up to date as events are recorded (rollup)."""

    __tablename__ = "usage_lora_totals"

    prompt_name: Mapped[str] = mapped_column(String(500), primary_key=True)
    lora_id: Mapped[int | None] = mapped_column(Integer)
    requests: Mapped[int] = mapped_column(Integer, default=0)
    uses: Mapped[int] = mapped_column(Integer, default=0, index=True)
    done: Mapped[int] = mapped_column(Integer, default=0)
    interrupted: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    not_found: Mapped[int] = mapped_column(Integer, default=0)
    not_applied: Mapped[int] = mapped_column(Integer, default=0)
    first_used: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sum_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    timed: Mapped[int] = mapped_column(Integer, default=0)

    # never-used counts probe this from the LoRAs' side without reading the rows
    __table_args__ = (Index("ix_usage_lora_totals_lora_uses", "lora_id", "uses"),)


class UsageLoraWeight(Base):
    __tablename__ = "usage_lora_weights"

    prompt_name: Mapped[str] = mapped_column(String(500), primary_key=True)
    weight: Mapped[str] = mapped_column(String(16), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)


class UsageLoraFamily(Base):
    __tablename__ = "usage_lora_families"

    prompt_name: Mapped[str] = mapped_column(String(500), primary_key=True)
    family: Mapped[str] = mapped_column(String(32), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)


class UsagePair(Base):
    __tablename__ = "usage_pairs"

    a: Mapped[str] = mapped_column(String(500), primary_key=True)
    b: Mapped[str] = mapped_column(String(500), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0, index=True)


class UsageSlot(Base):
    """Generations per UTC quarter hour, outcome and family: the timeline in any time zone."""

    __tablename__ = "usage_slots"

    slot: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(16), primary_key=True)
    family: Mapped[str] = mapped_column(String(32), primary_key=True)  # "" when unknown
    n: Mapped[int] = mapped_column(Integer, default=0)
    sum_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    timed: Mapped[int] = mapped_column(Integer, default=0)


class RecommendFeedback(Base):
    """What one user said about suggestions of one LoRA (accept, dismiss, thumbs down), as counters."""

    __tablename__ = "recommend_feedback"

    user: Mapped[str] = mapped_column(String(200), primary_key=True)  # "" where the host has no users
    lora_id: Mapped[int] = mapped_column(ForeignKey("loras.id", ondelete="CASCADE"), primary_key=True, index=True)
    accepts: Mapped[int] = mapped_column(Integer, default=0)
    dismisses: Mapped[int] = mapped_column(Integer, default=0)
    downs: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class UsageHour(Base):
    """Generations per UTC hour, outcome and family: long timelines read these."""

    __tablename__ = "usage_hours"

    hour: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(16), primary_key=True)
    family: Mapped[str] = mapped_column(String(32), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)
    sum_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    timed: Mapped[int] = mapped_column(Integer, default=0)


class UsageDay(Base):
    """Generations per UTC day, outcome and family."""

    __tablename__ = "usage_days"

    day: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(16), primary_key=True)
    family: Mapped[str] = mapped_column(String(32), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)
    sum_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    timed: Mapped[int] = mapped_column(Integer, default=0)


class UsageLoraDay(Base):
    """Per LoRA and UTC day: what ranged figures add up (the totals' columns, per day)."""

    __tablename__ = "usage_lora_days"

    day: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    prompt_name: Mapped[str] = mapped_column(String(500), primary_key=True)
    lora_id: Mapped[int | None] = mapped_column(Integer)
    requests: Mapped[int] = mapped_column(Integer, default=0)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    interrupted: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    not_found: Mapped[int] = mapped_column(Integer, default=0)
    not_applied: Mapped[int] = mapped_column(Integer, default=0)
    first_used: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sum_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    timed: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (Index("ix_usage_lora_days_lora", "lora_id", "day", "uses"),)


class UsageLoraDayWeight(Base):
    __tablename__ = "usage_lora_day_weights"

    day: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    prompt_name: Mapped[str] = mapped_column(String(500), primary_key=True)
    weight: Mapped[str] = mapped_column(String(16), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)


class UsageLoraDayFamily(Base):
    __tablename__ = "usage_lora_day_families"

    day: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    prompt_name: Mapped[str] = mapped_column(String(500), primary_key=True)
    family: Mapped[str] = mapped_column(String(32), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)


class UsageDayPair(Base):
    __tablename__ = "usage_day_pairs"

    day: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    a: Mapped[str] = mapped_column(String(500), primary_key=True)
    b: Mapped[str] = mapped_column(String(500), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)


class UsageTrigger(Base):
    """Trigger words of applied LoRAs found in the prompt, all time."""

    __tablename__ = "usage_triggers"

    word: Mapped[str] = mapped_column(String(200), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0, index=True)


class UsageDayTrigger(Base):
    __tablename__ = "usage_day_triggers"

    day: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    word: Mapped[str] = mapped_column(String(200), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)


class UsageRetention(Base):
    """One row: raw events before `raw_since` were compacted away (only the rollups hold them)."""

    __tablename__ = "usage_retention"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    raw_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# Civitai's tables live in their own module; importing it here puts them in Base.metadata.
from . import civitai_models  # noqa: E402,F401
# The tables of Civitai update checks and downloads live in their own module; importing it here
# puts them in Base.metadata.
from . import civitai_dl_models  # noqa: E402,F401
# The images of jobs shared by several hosts (migration 0017).
from . import job_images_models  # noqa: E402,F401
# Recipes (a prompt, settings and a LoRA stack, saved) live in their own module.
from . import recipe_models  # noqa: E402,F401
from . import host_models  # noqa: E402,F401
from . import bulk_load  # noqa: E402,F401  (deferred_indexes: a cold load's dropped indexes, 0021)
from . import hash_models  # noqa: E402,F401  (lora_hashes: a LoRA's hashes, 0022)
