"""What a client names things with: the base-model families (with labels for people) and the
entry's field sets. Served by GET /meta and written into the tab's mount point (ui/tab.py), so
the tab draws its menus and asks for its fields from the server's own lists."""

from __future__ import annotations

from typing import Any

from ..library.basemodel import FAMILIES
from .entry import ALL_FIELDS, CARD_FIELDS, LIST_FIELDS

FAMILY_LABELS = {
    "sd1": "SD 1.x", "sd2": "SD 2.x", "xl": "SDXL", "sd3": "SD 3", "sc": "Cascade", "f1": "FLUX.1", "f2": "FLUX.2",
    "hv": "Hunyuan", "chroma": "Chroma", "zimage": "Z-Image", "anima": "Anima", "qwen": "Qwen",
}


def vocabulary() -> dict[str, Any]:
    return {
        "families": [{"id": f, "label": FAMILY_LABELS.get(f, f)} for f in FAMILIES],
        "fields": {"card": list(CARD_FIELDS), "list": list(LIST_FIELDS), "all": list(ALL_FIELDS)},
    }
