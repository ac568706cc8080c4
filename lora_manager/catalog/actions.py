"""The library actions beyond one edit, together: folders, the trash for good and forgetting,
duplicates resolved, auto-organize, previews written; and the bulk action over all of them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import InvalidInput
from ..events import EventBus
from ..storage.catalog_store import CatalogStore
from ..storage.fileops_store import FileOpsStore
from .duplicates import Duplicates
from .fileops import FileOps
from .folders import Folders
from .organize import Organizer
from .previews import PreviewWriter
from .service import Catalog
from .trash import Trash

FILE_ACTIONS = ("move", "restore", "forget")  # bulk actions on files: each LoRA done or skipped with a reason


@dataclass
class Actions:
    catalog: Catalog
    folders: Folders
    trash: Trash
    duplicates: Duplicates
    organizer: Organizer
    previews: PreviewWriter

    def bulk(self, keys: list[str | int], action: str, value: Any = None) -> dict[str, Any]:
        """Every bulk action: user data through Catalog.bulk ({changed}), files here ({changed, skipped})."""
        if action not in FILE_ACTIONS:
            return {"changed": self.catalog.bulk(keys, action, value)}  # as before: none is skipped
        if action == "move" and (not isinstance(value, str) or not value.strip()):
            raise InvalidInput("move needs the folder as value (relative to each LoRA's root, or absolute inside one)")
        return self.trash.bulk(self.catalog.resolve_many(keys), action, value)


def build(files: FileOps, catalog: Catalog, catalog_store: CatalogStore, store: FileOpsStore,
          events: EventBus) -> Actions:
    return Actions(catalog=catalog, folders=Folders(files, store, events),
                   trash=Trash(files, catalog_store, store, events),
                   duplicates=Duplicates(files, catalog_store, store, events),
                   organizer=Organizer(files, catalog, store), previews=PreviewWriter(files, events))
