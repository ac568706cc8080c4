"""The library as the faces see it: queries, one entry, edits and bulk edits by key."""

from __future__ import annotations

from typing import Any
from collections.abc import Iterable

from ..errors import InvalidInput, NotFound
from ..events import EventBus
from ..library.cover import read_cover
from ..library.header import read_header
from ..storage.catalog_store import CatalogStore, LoraQuery, Page
from ..storage.user_store import UserStore
from .disk_folders import DiskFolders
from .folder_tree import folder_tree
from .userdata import MAX_COLLECTION, check_text, normalise_tags, validate_edit

BULK_ACTIONS = ("tag", "untag", "favorite", "unfavorite", "set_base", "collect", "uncollect")
MAX_BULK = 10_000


class Catalog:
    def __init__(self, catalog_store: CatalogStore, user_store: UserStore, events: EventBus):
        self.catalog_store = catalog_store
        self.user_store = user_store
        self.events = events  # told the ids after user data changed (the recommender re-reads their text)
        self.disk_folders = DiskFolders()  # each root's walk, kept while its directories are unchanged

    def _edited(self, ids: list[int]) -> None:
        self.events.library_changed(ids)

    def list(self, q: LoraQuery | None = None, /, **kwargs) -> Page:
        return self.catalog_store.list_loras(q or LoraQuery(**kwargs))

    def get(self, key: str | int) -> dict[str, Any]:
        return self.catalog_store.get(key)

    def cover(self, key: str | int) -> tuple[str, bytes]:
        """(content type, bytes) of the cover image embedded in the LoRA's file."""
        entry = self.catalog_store.get(key)
        if not entry["cover"] or entry["state"] != "ok":
            raise NotFound("this LoRA has no embedded cover image")
        image = read_cover(read_header(entry["path"]).metadata)
        if image is None:
            raise NotFound("the embedded cover could not be decoded")
        return image

    def edit(self, key: str | int, fields: dict[str, Any]) -> dict[str, Any]:
        """Change user data of one LoRA; returns the entry as it now is."""
        values = validate_edit(fields)
        lid = self.catalog_store.resolve(key)
        if "weight_min" in values or "weight_max" in values:
            stored = self.user_store.user_weights(lid)
            lo = values.get("weight_min", stored[0])
            hi = values.get("weight_max", stored[1])
            if lo is not None and hi is not None and lo > hi:
                raise InvalidInput("weight_min must not be above weight_max", {"weight_min": lo, "weight_max": hi})
        self.user_store.edit([lid], values)
        self._edited([lid])
        return self.catalog_store.get(lid)

    def resolve_many(self, keys: Iterable[str | int]) -> list[int]:
        keys = list(keys)
        if not keys:
            raise InvalidInput("no LoRAs given")
        if len(keys) > MAX_BULK:
            raise InvalidInput(f"at most {MAX_BULK} LoRAs per bulk edit")
        return list(dict.fromkeys(self.catalog_store.resolve(k) for k in keys))

    def bulk(self, keys: Iterable[str | int], action: str, value: Any = None) -> int:
        """One action on many LoRAs: tag/untag (value: tags), favorite/unfavorite,
        set_base (value: family or null), collect/uncollect (value: collection name)."""
        if action not in BULK_ACTIONS:
            raise InvalidInput(f"unknown bulk action {action!r}", {"allowed": list(BULK_ACTIONS)})
        ids = self.resolve_many(keys)
        changed = self._bulk(ids, action, value)
        if changed and action in ("tag", "untag", "set_base"):
            self._edited(ids)
        return changed

    def _bulk(self, ids: list[int], action: str, value: Any) -> int:
        if action in ("tag", "untag"):
            tags = normalise_tags(value)
            if not tags:
                raise InvalidInput("no tags given")
            return self.user_store.add_tags(ids, tags) if action == "tag" else self.user_store.remove_tags(ids, tags)
        if action in ("favorite", "unfavorite"):
            return self.user_store.edit(ids, {"favorite": action == "favorite"})
        if action == "set_base":
            return self.user_store.edit(ids, validate_edit({"base_override": value}))
        if not isinstance(value, str) or not value.strip() or len(value) > MAX_COLLECTION:
            raise InvalidInput(f"a collection name (1-{MAX_COLLECTION} characters) is needed")
        check_text("collection", value)
        return self.user_store.collect(value.strip(), ids, add=action == "collect")

    def resolve(self, key: str | int) -> int:
        """The id of the LoRA known by `key` (id, prompt name, file name or hash); NotFound otherwise."""
        return self.catalog_store.resolve(key)

    def folders(self, roots: list[str], skip: tuple[str, ...] = ()) -> dict[str, Any]:
        """The folder tree of each root with counts (catalog/folder_tree.py); `skip`: folders not to list (data)."""
        return folder_tree(roots, self.catalog_store.folder_counts(), skip, self.disk_folders)

    def tags(self) -> list[dict[str, Any]]:
        return self.catalog_store.tag_counts()

    def collections(self) -> list[dict[str, Any]]:
        return self.user_store.collections()

    def duplicate_groups(self) -> list[dict[str, Any]]:
        """Files present at several paths with the same full hash, grouped."""
        return self.catalog_store.duplicate_groups()

    def counts(self) -> dict[str, int]:
        """LoRAs per state."""
        return self.catalog_store.counts()
