"""Tables of recipes (migration 0013, docs/recipes.md).

`recipes` holds one saved generation setup; `recipe_loras` its LoRA stack in order (name, weights,
the hashes that identify each LoRA, Civitai ids when known); `recipe_tags` its tags (the list filters
by LoRA and by tag read these two).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .jsontext import JSONText
from .models import Base


class Recipe(Base):
    __tablename__ = "recipes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    prompt: Mapped[str] = mapped_column(Text, default="")  # without its <lora:...> tags (they are the stack)
    negative_prompt: Mapped[str] = mapped_column(Text, default="")
    checkpoint: Mapped[str | None] = mapped_column(Text)
    checkpoint_hash: Mapped[str | None] = mapped_column(String(64))
    base_model: Mapped[str | None] = mapped_column(String(32))  # the family it was made for (sd1, xl, ...)
    sampler: Mapped[str | None] = mapped_column(String(64))
    scheduler: Mapped[str | None] = mapped_column(String(64))
    steps: Mapped[int | None] = mapped_column(Integer)
    cfg_scale: Mapped[float | None] = mapped_column(Float)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    seed: Mapped[int | None] = mapped_column(BigInteger)
    params: Mapped[dict[str, Any]] = mapped_column(JSONText, default=dict)  # other settings (clip skip, ...)
    notes: Mapped[str] = mapped_column(Text, default="")
    cover: Mapped[str | None] = mapped_column(String(80))  # a file name in <data dir>/recipe-covers
    source: Mapped[str] = mapped_column(String(16))  # manual | image | text | result | event | import
    search: Mapped[str] = mapped_column(Text, default="")  # lower-cased title, prompt, tags, LoRA names
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RecipeLora(Base):
    __tablename__ = "recipe_loras"

    recipe_id: Mapped[int] = mapped_column(ForeignKey("recipes.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text, index=True)  # the prompt name as written
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    te: Mapped[float | None] = mapped_column(Float)
    unet: Mapped[float | None] = mapped_column(Float)
    blocks: Mapped[str | None] = mapped_column(Text)  # in=/mid=/out= block weights as the prompt writes them
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)  # full file hash (or its AutoV2 prefix)
    tensor_sha256: Mapped[str | None] = mapped_column(String(64))  # tensor hash (or its AutoV3/short prefix)
    civitai_model_id: Mapped[int | None] = mapped_column(BigInteger)
    civitai_version_id: Mapped[int | None] = mapped_column(BigInteger)


class RecipeTag(Base):
    __tablename__ = "recipe_tags"

    recipe_id: Mapped[int] = mapped_column(ForeignKey("recipes.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(100), primary_key=True, index=True)
