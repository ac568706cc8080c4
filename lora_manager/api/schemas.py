"""Pydantic models at the edge: request bodies and documented responses."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Literal, Optional, Union, get_origin, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, create_model

from ..catalog import entry
from ..catalog.actions import FILE_ACTIONS
from .civitai_schemas import CivitaiFacts
from .host_schemas import SharedQueue
from ..catalog.fileops import MAX_NAME
from ..catalog.service import BULK_ACTIONS, MAX_BULK
from ..catalog.userdata import (MAX_COLLECTION, MAX_DISPLAY_NAME, MAX_NOTES, MAX_RATING, MAX_TAG, MAX_TAGS,
                                MAX_TRIGGER, MAX_TRIGGERS, TEXT, WEIGHT_LIMIT, WORD)
from ..jobs.queue import JobRequest
from ..library.basemodel import FAMILIES
from ..sync.scanner import ScanReport as Counts

FOLDER = r"^(?!(.*[/\\])?\.\.([/\\]|$))[^\x00]*$"
FOLDER_GIVEN = r"^(?!(.*[/\\])?\.\.([/\\]|$))[^\x00]*[^\x00\s][^\x00]*$"  # the same, not blank
FILE_NAME = r'^\s*[^\x00-\x1f/\\:*?"<>|]*[^\x00-\x1f/\\:*?"<>|.\s]\s*$'
WEIGHT = {"ge": -WEIGHT_LIMIT, "le": WEIGHT_LIMIT}


def _from_dataclass(cls: type, **types: Any) -> dict[str, Any]:
    """Pydantic fields from a dataclass's own: its types (or those given), defaults, and the limits and
    description its fields' metadata hold. The dataclass is the one declaration of the shape."""
    hints = get_type_hints(cls)
    out: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else ...)
        out[f.name] = (types.get(f.name, hints[f.name]), Field(default, **f.metadata))
    return out


def _when_action(actions: tuple[str, ...], value: dict, required: bool = True) -> dict:
    """JSON Schema: for these bulk actions, `value` must match `value` (and be given, when required)."""
    then: dict[str, Any] = {"properties": {"value": value}}
    if required:
        then["required"] = ["value"]
    return {"if": {"properties": {"action": {"enum": list(actions)}}, "required": ["action"]}, "then": then}


class ErrorInfo(BaseModel):
    code: str = Field(description="machine-readable: not_found, invalid_input, conflict, unauthorized, ...")
    message: str = Field(description="what went wrong, for a person")
    details: dict[str, Any] = Field(default_factory=dict)


class ErrorBody(BaseModel):
    error: ErrorInfo


def _entry_fields(fields) -> dict[str, Any]:
    """Pydantic fields from the entry record: a list item may lack any field; a detail field is always there."""
    out: dict[str, Any] = {}
    for f in fields:
        if f.shown == "detail":
            out[f.name] = (f.type, Field(default_factory=get_origin(f.type), description=f.description))
        else:
            out[f.name] = (Optional[f.type], Field(None, description=f.description))
    return out


Lora = create_model("Lora", __doc__="One LoRA. A list with `fields` carries only the fields asked for.",
                    __module__=__name__, **_entry_fields(entry.FIELDS.values()))
_CIVITAI = next(f.description for f in entry.ENTRY if f.name == "civitai")
LoraDetail = create_model("LoraDetail", __base__=Lora, __module__=__name__,
                          **{**_entry_fields(f for f in entry.ENTRY if f.name in entry.DETAIL_FIELDS),
                             "civitai": (CivitaiFacts, Field(description=_CIVITAI))})


class LoraPage(BaseModel):
    total: int
    limit: int
    offset: int
    next_cursor: Optional[str] = Field(None, description="pass as `cursor` for the next page; null on the last")
    items: list[Lora]


class LoraEdit(BaseModel):
    """User data; only the fields sent change. null resets a field (favorite: false, tags: none)."""

    model_config = ConfigDict(extra="forbid")
    favorite: Optional[bool] = None
    rating: Optional[int] = Field(None, ge=0, le=MAX_RATING)
    notes: Optional[str] = Field(None, max_length=MAX_NOTES, pattern=TEXT)
    triggers: Optional[list[Annotated[str, Field(max_length=MAX_TRIGGER, pattern=TEXT)]]] = Field(
        None, max_length=MAX_TRIGGERS, description="your trigger words; null: back to the extracted ones")
    preferred_weight: Optional[float] = Field(None, **WEIGHT)
    weight_min: Optional[float] = Field(None, **WEIGHT, description="not above weight_max (given or stored): 422")
    weight_max: Optional[float] = Field(None, **WEIGHT, description="not below weight_min (given or stored): 422")
    negative_text: Optional[str] = Field(None, max_length=MAX_NOTES, pattern=TEXT)
    base_model: Optional[Union[Literal[FAMILIES], Literal[""]]] = Field(  # type: ignore[valid-type]
        None, description="override the base family; null or \"\": detected")
    tags: Optional[list[Annotated[str, Field(max_length=MAX_TAG, pattern=WORD)]]] = Field(None, max_length=MAX_TAGS)
    display_name: Optional[str] = Field(None, max_length=MAX_DISPLAY_NAME, pattern=TEXT,
                                        description="your own name for it; null or blank: the title again")


class BulkEdit(BaseModel):
    """`value`: needed by tag, untag (tags), collect, uncollect (a collection name); set_base takes a family or null."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"allOf": [
        _when_action(("tag", "untag"), {"anyOf": [
            {"type": "string", "pattern": r"^[^\x00]*[^\x00\s,][^\x00]*$"},
            {"type": "array", "minItems": 1, "items": {"type": "string", "pattern": WORD, "maxLength": MAX_TAG}}]}),
        _when_action(("collect", "uncollect"), {"type": "string", "pattern": WORD, "maxLength": MAX_COLLECTION}),
        _when_action(("set_base",), {"anyOf": [{"enum": [*FAMILIES, ""]}, {"type": "null"}]}, required=False),
        _when_action(("move",), {"type": "string", "pattern": FOLDER_GIVEN, "maxLength": 1000}),
    ]})
    keys: list[Union[int, str]] = Field(min_length=1, max_length=MAX_BULK, description="ids, prompt names or hashes")
    action: Literal[BULK_ACTIONS + FILE_ACTIONS]  # type: ignore[valid-type]
    value: Union[str, list[str], None] = Field(None, description="tags, base family, collection name or folder")


class BulkSkip(BaseModel):
    id: int
    reason: str


class BulkResult(BaseModel):
    changed: int
    skipped: list[BulkSkip] = Field(default_factory=list, description="move, restore, forget: LoRAs left as they were")


class MoveRequest(BaseModel):
    """A new folder, a new name, or both: at least one of them, not empty."""

    model_config = ConfigDict(extra="forbid", regex_engine="python-re", json_schema_extra={"anyOf": [
        {"required": ["folder"], "properties": {"folder": {"type": "string", "minLength": 1}}},
        {"required": ["name"], "properties": {"name": {"type": "string", "minLength": 1}}},
    ]})
    folder: Optional[str] = Field(None, max_length=1000, pattern=FOLDER,
                                  description="relative to the LoRA's root (no `..`), or absolute inside a root")
    name: Optional[str] = Field(None, max_length=MAX_NAME, pattern=FILE_NAME,
                                description="new base name: no path separators, control characters or trailing dots")


class TagCount(BaseModel):
    tag: str
    count: int = Field(description="LoRAs (not trashed) carrying it, as the user's tag or the model's own")
    user: int = Field(description="LoRAs carrying it as the user's tag")
    model: int = Field(description="LoRAs carrying it as the model's own tag (sidecars, metadata, Civitai)")


class DuplicateMember(BaseModel):
    id: int
    path: str
    prompt_name: str


class DuplicateGroup(BaseModel):
    sha256: str
    loras: list[DuplicateMember]


class Collection(BaseModel):
    id: int
    name: str
    lora_ids: list[int]


ScanReport = create_model(
    "ScanReport", __module__=__name__,
    status=(Literal["finished", "failed"], "finished"),
    error=(Optional[dict[str, Any]], Field(None, description="why a failed scan failed: {code, message}")),
    **_from_dataclass(Counts), finished_at=(float, ...), reason=(str, ...))


class ScanStatus(BaseModel):
    running: bool
    started_at: Optional[float] = None
    progress: Optional[dict[str, Any]] = None
    last_report: Optional[ScanReport] = None
    last_error: Optional[str] = None


class HashStatus(BaseModel):
    running: bool
    queued_files: int
    queued_bytes: int
    done_files: int
    done_bytes: int
    failed: int
    bytes_per_s: Optional[int] = None
    pending_files: int
    pending_bytes: int


class SystemInfo(BaseModel):
    version: str
    database: dict[str, Any]
    library: dict[str, int]
    roots: list[str]
    background: dict[str, Any]
    host: Optional[dict[str, Any]] = None


class Family(BaseModel):
    id: str = Field(description="as the host names it (sd_version): sd1, sd2, xl, ...")
    label: str = Field(description="for a person: SD 1.x, SDXL, FLUX.1, ...")


Names = list[str]


class FieldSets(BaseModel):
    card: Names = Field(description="what the tab's cards and rows show")
    list: Names = Field(description="a list page's fields when `fields` is not given")
    all: Names = Field(description="every field `fields` may name")


class JobsAvailability(BaseModel):
    available: bool = Field(description="jobs can run here (inside SDNext)")
    reason: Optional[str] = Field(None, description="why not, for a person")
    shared_queue: SharedQueue = Field(description="the queue shared by several hosts through Redis: on, reachable")


class Vocabulary(BaseModel):
    families: list[Family] = Field(description="base-model families, in the order to offer them")
    fields: FieldSets
    jobs: JobsAvailability


class FolderNode(BaseModel):
    path: str = Field(description="relative to the root, /-separated")
    name: str
    parent: str = Field(description="the parent's path; \"\" for the root")
    count: int = Field(description="LoRAs listed (not trashed) in it and below")
    direct: int = Field(description="LoRAs listed directly in it")


class FolderRoot(BaseModel):
    root: str
    count: int
    folders: list[FolderNode] = Field(description="every folder on disk (empty ones too), sorted by path")


class FolderTree(BaseModel):
    roots: list[FolderRoot]


class UsageLora(BaseModel):
    prompt_name: str
    lora_id: Optional[int] = None
    requested_weight: Optional[float] = None
    requested_te: Optional[float] = None
    requested_unet: Optional[float] = None
    schedule: Optional[str] = None
    applied: bool
    applied_te: Optional[float] = None
    applied_unet: Optional[float] = None
    status: Literal["applied", "not_found", "skipped", "not_applied"]


class UsageEvent(BaseModel):
    id: int
    started_at: str
    finished_at: Optional[str] = None
    duration_ms: Optional[int] = None
    outcome: Literal["done", "interrupted", "failed"]
    source: Optional[str] = None
    checkpoint: Optional[str] = None
    checkpoint_family: Optional[str] = None
    seed: Optional[int] = None
    steps: Optional[int] = None
    width: Optional[int] = None
    height: Optional[int] = None
    sampler: Optional[str] = None
    prompt: Optional[str] = None
    negative_prompt: Optional[str] = None
    error: Optional[str] = None
    loras: list[UsageLora]


class UsagePage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[UsageEvent]


class JobLora(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=300, pattern=TEXT, description="id, prompt name, file name or hash")
    weight: Optional[float] = Field(None, **WEIGHT, description="default: the LoRA's preferred weight, else 1")


JobCreate = create_model(
    "JobCreate", __module__=__name__, __doc__="A prompt (not only spaces), at least one LoRA, or both.",
    __config__=ConfigDict(extra="forbid", json_schema_extra={"anyOf": [
        {"required": ["prompt"], "properties": {"prompt": {"type": "string", "pattern": WORD}}},
        {"required": ["loras"], "properties": {"loras": {"type": "array", "minItems": 1}}},
    ], "allOf": [  # what each kind needs (jobs/request.validate_request)
        {"if": {"required": ["kind"], "properties": {"kind": {"const": "img2img"}}},
         "then": {"required": ["init_image"], "properties": {"init_image": {"type": "string"}}}},
        {"if": {"required": ["kind"], "properties": {"kind": {"const": "control"}}},
         "then": {"required": ["control_image", "control_model"],
                  "properties": {"control_image": {"type": "string"}, "control_model": {"type": "string"}}}},
    ]}),
    **_from_dataclass(JobRequest, loras=list[JobLora]))


class JobCreated(BaseModel):
    id: str
    status: str


class JobProgress(BaseModel):
    step: int
    total: int
    eta_s: Optional[float] = None


class JobOut(BaseModel):
    id: str
    status: Literal["queued", "running", "done", "failed", "cancelled"]
    prompt: str
    negative_prompt: str
    loras: list[dict[str, Any]]
    steps: int
    width: int
    height: int
    seed: int
    created_at: float
    started_at: Optional[float] = None
    finished_at: Optional[float] = None
    progress: JobProgress
    result: Optional[dict[str, Any]] = None
    error: Optional[str] = None
    warnings: list[str]
    host: Optional[str] = Field(None, description="the host running it (jobs shared through Redis)")
    kind: str = "txt2img"
    init_image: Optional[str] = None
    denoising_strength: Optional[float] = None
    resize_mode: Optional[int] = None
    control_image: Optional[str] = None
    control_model: Optional[str] = None
    group: Optional[str] = Field(None, description="the sweep it belongs to")
    purpose: Optional[dict[str, Any]] = Field(None, description="e.g. {\"preview_for\": LoRA id}")
