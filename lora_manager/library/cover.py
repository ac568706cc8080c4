"""The cover image a LoRA carries in its own metadata: one reader for the scan's "has a cover"
fact and for the route that serves it, so the two never disagree (docs/formats.md).

Where: `modelspec.thumbnail`, a data URL whose type is stated; else (none, or not usable) the
first of `ssmd_cover_images`, a JSON list of base64 images whose type is read from their first bytes.
Only types a browser shows and that carry no script are covers (not SVG); anything else, an
empty image or base64 that does not decode is no cover.
"""

from __future__ import annotations

import base64
import binascii
import re

import orjson

COVER_TYPES = ("image/png", "image/jpeg", "image/webp", "image/gif", "image/avif")
_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg"}
_DATA_URL = re.compile(r"data:(image/[a-z0-9+.-]+);base64,", re.IGNORECASE)


def read_cover(meta: dict[str, str]) -> tuple[str, bytes] | None:
    """(content type, bytes) of the embedded cover, or None."""
    return _thumbnail(meta.get("modelspec.thumbnail")) or _first_cover_image(meta.get("ssmd_cover_images"))


def _thumbnail(text: object) -> tuple[str, bytes] | None:
    m = _DATA_URL.match(text) if isinstance(text, str) else None
    if m is None:
        return None
    mime = m.group(1).lower()
    mime = _ALIASES.get(mime, mime)
    data = _decode(text[m.end():]) if mime in COVER_TYPES else None
    return (mime, data) if data else None


def _first_cover_image(text: object) -> tuple[str, bytes] | None:
    if not isinstance(text, str):
        return None
    try:
        covers = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    if not (isinstance(covers, list) and covers and isinstance(covers[0], str)):
        return None
    data = _decode(covers[0])
    mime = sniff(data) if data else None
    return (mime, data) if mime else None


def cover_mime(meta: dict[str, str]) -> str | None:
    """The stored fact: the content type of a cover that `read_cover` serves, or None."""
    cover = read_cover(meta)
    return cover[0] if cover else None


def sniff(data: bytes) -> str | None:
    """The image type from its first bytes (the cover types only)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:12] in (b"ftypavif", b"ftypavis"):
        return "image/avif"
    return None


def _decode(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=False)
    except (binascii.Error, ValueError):
        return None
