"""LoRAs in groups: tags, folders, collections, duplicates."""

from __future__ import annotations

from starlette.responses import Response

from ...catalog.service import Catalog
from ..responses import JSON


def tags(cat: Catalog) -> Response:
    return JSON(cat.tags())


def folders(core) -> Response:
    """The tree of each root (the data folder, with the trash, left out)."""
    return JSON(core.catalog.folders(core.settings.lora_dirs, skip=(core.settings.data_dir,)))


def collections(cat: Catalog) -> Response:
    return JSON(cat.collections())


def duplicates(cat: Catalog) -> Response:
    return JSON(cat.duplicate_groups())
