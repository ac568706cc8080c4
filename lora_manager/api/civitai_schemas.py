"""Pydantic models of the Civitai routes (api/handlers/civitai.py; docs/civitai.md)."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field

from ..catalog.service import MAX_BULK

Key = Annotated[str, Field(max_length=300, pattern=r"^[^\x00]*[^\x00\s][^\x00]*$")]


class CivitaiFetchRequest(BaseModel):
    """LoRAs by key, or every hashed LoRA without a record (`all_missing`): one of the two."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"oneOf": [
        {"required": ["keys"], "properties": {"keys": {"minItems": 1}, "all_missing": {"const": False}}},
        {"required": ["all_missing"], "properties": {"keys": {"maxItems": 0}, "all_missing": {"const": True}}},
    ]})
    keys: list[Key] = Field(default_factory=list, max_length=MAX_BULK,
                            description="ids, prompt names, file names or hashes")
    all_missing: bool = Field(False, description="every hashed LoRA whose hash has no record (resumes a stopped run)")
    refresh: bool = Field(False, description="ask again about LoRAs that have a record")


class CivitaiRun(BaseModel):
    mode: Literal["ids", "all_missing"]
    refresh: bool
    reason: str
    started_at: float
    total: Optional[int] = None
    done: int
    found: int
    not_found: int
    failed: int
    requests: int
    retries: int
    current: Optional[int] = None
    last_error: Optional[str] = None
    status: Optional[Literal["finished", "stopped", "failed"]] = None
    stopped_reason: Optional[str] = None
    finished_at: Optional[float] = None
    error: Optional[str] = None


class CivitaiLibrary(BaseModel):
    found: int = Field(description="LoRAs on disk whose hash Civitai knows")
    not_found: int = Field(description="LoRAs on disk whose hash Civitai did not know when asked")
    lacking: int = Field(description="hashed LoRAs a bulk fetch would ask about")


class CivitaiStatus(BaseModel):
    running: bool
    progress: Optional[CivitaiRun] = None
    last_run: Optional[CivitaiRun] = None
    library: Optional[CivitaiLibrary] = None


class CivitaiImage(BaseModel):
    url: Optional[str] = None
    type: str
    nsfw_level: Optional[int] = None
    width: Optional[int] = None
    height: Optional[int] = None


class CivitaiExample(BaseModel):
    image_url: Optional[str] = None
    prompt: str
    negative_prompt: Optional[str] = None
    sampler: Optional[str] = None
    steps: Optional[int] = None
    cfg_scale: Optional[float] = None
    seed: Optional[int] = None
    size: Optional[str] = None
    clip_skip: Optional[int] = None
    loras: list[dict[str, Any]] = Field(default_factory=list)


class CivitaiFacts(BaseModel):
    """Civitai's facts about one LoRA, beside (never instead of) the user's own fields."""

    status: Literal["found", "not_found", "not_asked"]
    checked_at: Optional[str] = None
    fetched_at: Optional[str] = None
    matched_by: Optional[str] = None
    model_id: Optional[int] = None
    version_id: Optional[int] = None
    model_name: Optional[str] = None
    version_name: Optional[str] = None
    type: Optional[str] = None
    creator: Optional[str] = None
    base_model: Optional[str] = Field(None, description="Civitai's label: Pony, Illustrious, SDXL 1.0, ...")
    base_family: Optional[str] = Field(None, description="that label as our family (sd1, xl, f1, ...)")
    trained_words: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    description: Optional[str] = Field(None, description="the model's description as plain text")
    description_html: Optional[str] = Field(None, description="the same as safe HTML: formatting and links only")
    version_description: Optional[str] = None
    nsfw: Optional[bool] = None
    nsfw_level: Optional[int] = None
    images: list[CivitaiImage] = Field(default_factory=list)
    examples: list[CivitaiExample] = Field(default_factory=list)
    published_at: Optional[str] = None
    created_at: Optional[str] = None
    updated_at: Optional[str] = None
    download_url: Optional[str] = None
    page_url: Optional[str] = None
