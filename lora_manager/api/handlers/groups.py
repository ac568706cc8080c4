"""LoRAs in groups: tags, collections, duplicates."""

from __future__ import annotations

from starlette.responses import Response

from ...catalog.service import Catalog
from ..responses import JSON


def tags(cat: Catalog) -> Response:
    return JSON(cat.tags())


def collections(cat: Catalog) -> Response:
    return JSON(cat.collections())


def duplicates(cat: Catalog) -> Response:
    return JSON(cat.duplicate_groups())
