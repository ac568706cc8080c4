"""The cover image some trainers embed in a LoRA's metadata (modelspec.thumbnail, ssmd_cover_images)."""

from __future__ import annotations

import base64
import re

import orjson

from ..library.header import read_header

_DATA_URL = re.compile(r"^data:(image/(?:png|jpeg|webp|gif));base64,(.+)$", re.S)


def read_cover(path: str) -> tuple[str, bytes] | None:
    """(content type, image bytes) of the file's embedded cover, or None when it cannot be decoded."""
    return embedded_cover(read_header(path).metadata)


def embedded_cover(meta: dict[str, str]) -> tuple[str, bytes] | None:
    m = _DATA_URL.match(meta.get("modelspec.thumbnail", ""))
    try:
        if m:
            return m.group(1), base64.b64decode(m.group(2), validate=False)
        covers = orjson.loads(meta.get("ssmd_cover_images") or "null")
        if isinstance(covers, list) and covers and isinstance(covers[0], str):
            data = base64.b64decode(covers[0], validate=False)
            return ("image/png" if data[:4] == b"\x89PNG" else "image/jpeg"), data
    except (ValueError, orjson.JSONDecodeError):
        return None
    return None
