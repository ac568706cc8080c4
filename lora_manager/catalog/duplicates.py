"""Resolve a group of duplicates (files with the same full hash): keep one, the others go to the trash,
their user data merged into the kept one first (so nothing the user said is lost, and the trashed
ones keep theirs until deleted for good)."""

from __future__ import annotations

from typing import Any

from ..errors import Conflict, LoraManagerError
from ..events import EventBus
from ..storage.catalog_store import CatalogStore
from ..storage.fileops_store import FileOpsStore
from ..storage.scan_store import PRESENT
from .fileops import FileOps


class Duplicates:
    def __init__(self, files: FileOps, catalog_store: CatalogStore, store: FileOpsStore, events: EventBus):
        self.files = files
        self.catalog_store = catalog_store
        self.store = store
        self.events = events

    def resolve(self, keep: str | int) -> dict[str, Any]:
        entry = self.catalog_store.get(keep)
        lid = entry["id"]
        if entry["state"] not in PRESENT:
            raise Conflict(f"the LoRA to keep is {entry['state']}", {"state": entry["state"]})
        if not entry.get("sha256"):
            raise Conflict("the LoRA to keep is not hashed yet; its duplicates are known once it is")
        others = [d["id"] for d in entry["duplicates"]]
        if not others:
            raise Conflict("no other file shares its hash: nothing to resolve", {"sha256": entry["sha256"]})
        self.store.merge_user(lid, others)
        self.events.library_changed([lid])
        trashed, skipped = [], []
        for other in others:
            try:
                self.files.trash(other)
                trashed.append(other)
            except LoraManagerError as exc:
                skipped.append({"id": other, "reason": exc.message})
        return {"kept": lid, "trashed": trashed, "skipped": skipped}
