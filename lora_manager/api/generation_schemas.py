"""Request and response models of generation beyond one job: init images, control models, sweeps, preview
generation, and the results kept on disk."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field

from ..catalog.userdata import TEXT, WEIGHT_LIMIT
from .schemas import JobCreate

Weight = Annotated[float, Field(ge=-WEIGHT_LIMIT, le=WEIGHT_LIMIT)]
Seed = Annotated[int, Field(ge=-1, le=2**32 - 1)]
LORA_KEY = Field(max_length=300, pattern=TEXT, description="id, prompt name, file name or hash")


class InitImage(BaseModel):
    id: str = Field(description="name it as init_image or control_image of a job")
    width: int
    height: int


class ControlModels(BaseModel):
    available: bool = Field(description="false: the host has no control pipeline (or there is no host)")
    models: list[str]


class SweepAxis(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lora: str = LORA_KEY
    weights: list[Weight] = Field(min_length=1, max_length=16, description="one column (x) or row (y) per weight")


class SweepCreate(BaseModel):
    """At most 64 cells (columns x rows)."""

    model_config = ConfigDict(extra="forbid")
    job: JobCreate = Field(description="the job every cell runs; the axes' LoRAs get their weights (added when "
                                       "not in the stack)")
    x: SweepAxis
    y: Optional[SweepAxis] = Field(None, description="an X/Y sweep over a second LoRA's weights, at one seed")
    seeds: Optional[list[Seed]] = Field(None, min_length=1, max_length=16,
                                       description="rows when there is no y (default: the job's seed; -1 random)")


class SweepOut(BaseModel):
    id: str
    status: Literal["running", "drawing", "done", "failed"]
    created_at: float
    jobs: list[list[str]] = Field(description="job ids, by row then column")
    columns: list[str]
    rows: list[str]
    grid: Optional[str] = Field(None, description="the grid's result id, once drawn (GET /results/{id}/images/0)")
    prompt: str


class PreviewGenerate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    loras: Optional[list[str]] = Field(None, max_length=500,
                                       description="LoRAs by key; none: every LoRA without a preview")
    replace: bool = Field(False, description="also LoRAs with a preview (theirs go to the trash folder)")
    steps: int = Field(20, ge=1, le=150)
    width: int = Field(512, ge=64, le=4096, multiple_of=8)
    height: int = Field(512, ge=64, le=4096, multiple_of=8)
    seed: int = Field(-1, ge=-1, le=2**32 - 1)
    weight: Optional[float] = Field(None, ge=-WEIGHT_LIMIT, le=WEIGHT_LIMIT,
                                    description="default: the LoRA's preferred weight")


class PreviewQueued(BaseModel):
    lora: str
    id: int
    job: str


class PreviewSkipped(BaseModel):
    lora: str
    id: Optional[int] = None
    reason: str


class PreviewsGenerated(BaseModel):
    queued: list[PreviewQueued]
    skipped: list[PreviewSkipped]


class Result(BaseModel):
    id: str = Field(description="the job's id (or a sweep's, for its grid)")
    kind: str = Field(description="txt2img, img2img, control or grid")
    created_at: float
    finished_at: Optional[float] = None
    params: dict[str, Any]
    prompt: str
    seed: Optional[int] = None
    infotexts: list[str]
    images: int = Field(description="how many images: GET /results/{id}/images/{index}")
    group: Optional[str] = Field(None, description="the sweep it belongs to")
    purpose: Optional[dict[str, Any]] = None
    used_as_preview: list[str] = Field(description="LoRA files it is the preview of: kept by the cleanup")


class ResultPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[Result]


class SetPreview(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lora: str = LORA_KEY
    replace: bool = Field(False, description="replace a preview the LoRA has (moved to the trash folder)")


class PreviewSet(BaseModel):
    lora: str
    written: Optional[str] = Field(None, description="the file written beside the LoRA")
    kept: Optional[str] = Field(None, description="why nothing was written")


class CleanupRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    keep_days: Optional[float] = Field(None, ge=0, le=100_000, description="default: the setting")
    keep_gb: Optional[float] = Field(None, ge=0, le=1_000_000, description="default: the setting")
    dry_run: bool = False


class CleanupReport(BaseModel):
    deleted: int
    freed_bytes: int
    kept_in_use: int
    remaining_bytes: int
    dry_run: bool


class Deleted(BaseModel):
    deleted: int
    freed_bytes: int
