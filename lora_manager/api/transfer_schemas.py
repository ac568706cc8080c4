"""Request and response bodies of the backup, restore, export, import and sidecar routes."""

from __future__ import annotations

from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field

Part = Literal["userdata", "collections", "recipes", "usage", "settings"]
Policy = Literal["keep", "theirs", "merge"]
BACKUP_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$"


class Backup(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str
    path: str
    created: Optional[str] = Field(None, description="ISO 8601, UTC")
    reason: Optional[str] = Field(None, description="manual, daily, pre-migration, pre-restore, pre-import")
    kind: str = Field(description="sqlite (a database file) or postgresql (a dump of our tables)")
    size: Optional[int] = None
    sha256: Optional[str] = None
    revision: Optional[str] = Field(None, description="schema revision of the copy")
    counts: dict[str, int] = Field(default_factory=dict,
                                   description="rows: loras, lora_user, lora_tags, collections, generations")


class BackupList(BaseModel):
    folder: str
    kind: str
    keep: list[int] = Field(
        description="[daily, weekly]: the retention rule (every backup of the last 24 h is kept too)"
    )
    items: list[Backup]


class RestoreRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(..., pattern=BACKUP_NAME, description="a backup's name in the backup folder (GET /backups)")
    dry_run: bool = Field(False, description="say what would be restored and kept; change nothing")


class RestoreReport(BaseModel):
    model_config = ConfigDict(extra="allow")
    dry_run: bool
    restored: bool
    backup: dict[str, Any]
    backup_counts: dict[str, int]
    backup_revision: Optional[str] = None
    current_ok: bool
    current_problem: Optional[str] = None
    current_counts: dict[str, int]
    migrates: bool
    kept_as: Optional[str] = Field(None, description="where the database as it was is kept")


class ExportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    what: list[Part] = Field(default_factory=list, max_length=5, description="parts; empty: all")
    include_previews: bool = False


class PeerImportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: Literal["sdnext", "lm", "civitai-helper"]
    dry_run: bool = True
    on_conflict: Policy = "keep"


class ImportReport(BaseModel):
    model_config = ConfigDict(extra="allow")
    source: str
    dry_run: bool
    on_conflict: str
    counts: dict[str, int] = Field(description="LoRAs added, updated, conflicting, unchanged, unmatched")
    loras: list[dict[str, Any]] = Field(description="per LoRA: status, how it matched, each change and conflict")
    collections: list[dict[str, Any]]
    usage: Optional[dict[str, int]] = None
    previews: Optional[dict[str, int]] = None
    settings: Optional[dict[str, Any]] = None
    recipes: Optional[dict[str, Any]] = Field(None, description="recipes in the archive: added, already here "
                                              "(the same fields, LoRAs and tags), updated, conflicting; covers; "
                                              "their LoRAs found by hash or missing; the recipes that change")
    problems: list[dict[str, Any]]
    backup: Optional[str] = Field(None, description="the backup taken before writing")
    written: Optional[dict[str, int]] = None


class SidecarWriteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dry_run: bool = False


class SidecarReport(BaseModel):
    dry_run: bool
    written: int
    unchanged: int
    skipped: int
    problems: list[dict[str, str]]
