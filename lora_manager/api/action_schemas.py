"""Schemas of the library actions: folders, the trash, forget, previews, duplicates resolved, organize."""

from __future__ import annotations

from typing import Optional, Union

from pydantic import BaseModel, ConfigDict, Field

from ..catalog.fileops import MAX_NAME
from ..catalog.folders import MAX_PATH
from ..catalog.organize import MAX_TEMPLATE, PLACEHOLDERS, TEMPLATE_PATTERN
from ..catalog.service import MAX_BULK
from .schemas import TEXT

# A folder below a root: names joined by `/`, none of them `..`, `.` or blank, no control characters.
_PART = r'[^\x00-\x1f/\\:*?"<>|]*[^\x00-\x1f/\\:*?"<>|.\s]'
_NAME = rf"(?![\s.]){_PART}"  # no leading dot: a hidden folder, which scans skip
RELATIVE = rf"^/?{_NAME}(/{_NAME})*/?$"
ROOT = r"^[^\x00]+$"  # any other path than a root's: 404
ROOT_DESC = "a library root, as an absolute path (GET /folders names them)"
NEW_NAME = rf"^\s*(?![\s.]){_PART}\s*$"


class FolderCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", regex_engine="python-re")
    root: str = Field(max_length=4096, pattern=ROOT, description=ROOT_DESC)
    path: str = Field(max_length=MAX_PATH, pattern=RELATIVE, description="the new folder, relative to the root")


class FolderCreated(BaseModel):
    root: str
    path: str


class FolderRename(BaseModel):
    model_config = ConfigDict(extra="forbid", regex_engine="python-re")
    root: str = Field(max_length=4096, pattern=ROOT, description=ROOT_DESC)
    path: str = Field(max_length=MAX_PATH, pattern=RELATIVE, description="the folder, relative to the root")
    new_name: str = Field(max_length=MAX_NAME, pattern=NEW_NAME, description="its new name (same parent)")


class FolderRenamed(BaseModel):
    moved: int = Field(description="entries under the folder that moved with it")


class Forgotten(BaseModel):
    forgotten: int


class Deleted(BaseModel):
    deleted: int = Field(description="the id deleted for good (DELETE /loras/{key}) or how many (DELETE /trash)")


class PreviewFromJob(BaseModel):
    model_config = ConfigDict(extra="forbid")
    job_id: str = Field(min_length=1, max_length=64, pattern=TEXT)
    index: int = Field(0, ge=0, le=1000)
    replace: bool = False


class DuplicateResolve(BaseModel):
    model_config = ConfigDict(extra="forbid")
    keep: Union[int, str] = Field(description="the LoRA to keep (id, prompt name, file name or hash)")


class Skipped(BaseModel):
    id: int
    reason: str
    to: Optional[str] = None


class DuplicateResolved(BaseModel):
    kept: int
    trashed: list[int]
    skipped: list[Skipped] = Field(default_factory=list)


class OrganizeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", regex_engine="python-re")
    template: str = Field(min_length=1, max_length=MAX_TEMPLATE, pattern=TEMPLATE_PATTERN,
                          description="folders below each LoRA's root; placeholders: "
                                      + ", ".join(f"{{{p}}}" for p in PLACEHOLDERS))
    keys: Optional[list[Union[int, str]]] = Field(None, min_length=1, max_length=MAX_BULK,
                                                  description="these LoRAs; null: every present one")
    dry_run: bool = Field(True, description="plan only: list every move, change nothing")


class OrganizeMove(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    id: int
    from_: str = Field(alias="from")
    to: str


class OrganizeReport(BaseModel):
    dry_run: bool
    moves: list[OrganizeMove] = Field(description="planned (dry run) or done")
    skipped: list[Skipped]
    moved: int
    unchanged: int = Field(description="LoRAs already in their template's folder")
