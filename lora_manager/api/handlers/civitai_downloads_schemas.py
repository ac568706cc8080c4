"""Bodies and answers of the Civitai update and download routes (docs/api.md)."""

from __future__ import annotations

from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field

from ...civitai.refs import PATTERN as REF
from ..schemas import FOLDER, TEXT

STATES = Literal["queued", "running", "paused", "done", "failed", "cancelled", "cancelling"]


class UpdateOf(BaseModel):
    """The installed LoRA this download is a newer version of (docs/civitai.md, "Updating a LoRA")."""

    model_config = ConfigDict(extra="forbid")
    of: str = Field(..., min_length=1, max_length=300, pattern=TEXT, description="id, prompt name, file name or hash")
    replace: bool = Field(False,
                          description="the old version goes to the trash and the user's data moves to the new one")
    carry_user_data: bool = Field(False, description="beside the old version: copy the user's data to the new one")


class DownloadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", regex_engine="python-re")
    ref: str = Field(..., max_length=2000, pattern=REF,
                     description="a civitai.com model or download URL, a version id, or an AIR "
                                 "(urn:air:sdxl:lora:civitai:MODEL@VERSION)")
    folder: Optional[str] = Field(None, max_length=1000, pattern=FOLDER,
                                  description="relative to the first root (no `..`), or absolute inside a root; "
                                              "default: the folder template, or the updated LoRA's folder")
    update: Optional[UpdateOf] = None


class DownloadJob(BaseModel):
    id: str
    ref: str
    state: STATES
    model_id: Optional[int] = None
    version_id: Optional[int] = None
    model_name: Optional[str] = None
    version_name: Optional[str] = None
    file_name: Optional[str] = None
    sha256: Optional[str] = Field(None, description="Civitai's, checked before the file lands")
    size: Optional[int] = Field(None, description="bytes (Civitai's estimate until the download starts)")
    done_bytes: int = 0
    progress: Optional[float] = Field(None, description="0..1")
    folder: Optional[str] = None
    target: Optional[str] = Field(None, description="where the file lands (or landed)")
    update_of: Optional[int] = None
    replace: bool = False
    carry_user_data: bool = False
    lora_id: Optional[int] = Field(None, description="the new LoRA, once done")
    error_code: Optional[str] = Field(None, description="gated, not_found, disk_full, hash_mismatch, unreachable, "
                                                         "not_a_lora, no_file, no_hash, exists, stopped, ...")
    error: Optional[str] = Field(None, description="what went wrong and what to do; on a done job: warnings")
    created_at: Optional[str] = None
    updated_at: Optional[str] = None


class DownloadList(BaseModel):
    items: list[DownloadJob]
    workers: int = Field(description="downloads at once (LORA_MANAGER_CIVITAI_DOWNLOADS)")


class VersionSummary(BaseModel):
    id: int
    name: Optional[str] = None
    base_model: Optional[str] = None
    published_at: Optional[str] = None
    file_name: Optional[str] = None
    size_kb: Optional[float] = None


class UpdateLora(BaseModel):
    id: int
    prompt_name: str
    file_name: str
    path: str


class UpdateItem(BaseModel):
    lora: UpdateLora
    model_id: int
    model_name: Optional[str] = None
    version_id: Optional[int] = Field(None, description="the LoRA's version (None: unknown, never an update)")
    version_name: Optional[str] = None
    newer: list[VersionSummary] = Field(description="versions newer than the LoRA's, newest first")
    versions: list[VersionSummary] = Field(description="every published version, newest first")
    checked_at: str


class UpdateStatus(BaseModel):
    running: bool
    progress: Optional[dict[str, int]] = None
    last_checked_at: Optional[str] = None
    next_check_at: Optional[str] = None
    every_hours: float
    last: Optional[dict[str, Any]] = Field(None, description="the last check in this process: models, loras, "
                                                             "failed, with_updates, error, finished_at")


class UpdatesPage(BaseModel):
    status: UpdateStatus
    items: list[UpdateItem]
