"""Pydantic models of the recipe routes (api/handlers/recipes.py; docs/recipes.md). What a client sends is
recipes/model.py's `RecipeFields`; what it gets back is below."""

from __future__ import annotations

from typing import Any, Optional

from pydantic import BaseModel, ConfigDict, Field

from ..recipes.model import RecipeFields


class RecipeCreate(RecipeFields):
    """Every field optional; an empty recipe is allowed (a title is made up)."""


class RecipePatch(RecipeFields):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})


class ResultRef(BaseModel):
    """One image of a job result, as GET /results names it (`/results/{id}/images/{image}`)."""
    model_config = ConfigDict(extra="forbid")

    id: str = Field(..., pattern=r"^[0-9a-f]{12}$", description="the result's id (GET /results)")
    image: int = Field(0, ge=0, le=1000, description="which of its images")


class RecipeFromText(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(..., min_length=1, max_length=10_000, pattern=r"\S",
                      description="generation parameters (an infotext) or a prompt with <lora:...> tags")
    title: Optional[str] = Field(None, max_length=200)
    result: Optional[ResultRef] = Field(None, description="a job result of ours: its image becomes the cover")


class RecipeLoraOut(BaseModel):
    name: str
    weight: float
    te: Optional[float] = None
    unet: Optional[float] = None
    blocks: Optional[str] = None
    sha256: Optional[str] = None
    tensor_sha256: Optional[str] = None
    civitai_model_id: Optional[int] = None
    civitai_version_id: Optional[int] = None
    present: bool
    lora_id: Optional[int] = None
    prompt_name: Optional[str] = None
    state: Optional[str] = None
    base_model: Optional[str] = None
    matched_by: Optional[str] = None
    preview: bool = False
    civitai_url: Optional[str] = None
    note: Optional[str] = None


class Recipe(BaseModel):
    id: int
    title: str
    prompt: str
    negative_prompt: str
    loras: list[RecipeLoraOut]
    checkpoint: Optional[str] = None
    checkpoint_hash: Optional[str] = None
    base_model: Optional[str] = None
    sampler: Optional[str] = None
    scheduler: Optional[str] = None
    steps: Optional[int] = None
    cfg_scale: Optional[float] = None
    width: Optional[int] = None
    height: Optional[int] = None
    seed: Optional[int] = None
    params: dict[str, Any]
    tags: list[str]
    notes: str
    source: str
    has_cover: bool
    created_at: str
    updated_at: str
    warnings: list[str]


class RecipeFromImage(Recipe):
    dialect: str
    notes_read: list[str]


class RecipePage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[Recipe]


class RecipeTag(BaseModel):
    tag: str
    count: int


class RecipeDeleted(BaseModel):
    id: int
    deleted: bool


class RecipeImported(BaseModel):
    imported: int
    recipes: list[Recipe]


class RecipeSend(BaseModel):
    id: int
    infotext: str
    prompt: str
    negative_prompt: str
    settings: dict[str, Any]
    warnings: list[str]


class RecipeRun(BaseModel):
    id: str
    status: str
    recipe_id: int
    warnings: list[str]
