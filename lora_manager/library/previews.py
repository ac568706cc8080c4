"""Find a LoRA's preview images and videos among the names in its folder.

Conventions (docs/formats.md), for ``<base>.safetensors``:

- ``<base>.preview.{png,jpg,jpeg,webp,gif}``   convention "preview" (A1111, ComfyUI)
- ``<base>.{png,jpg,jpeg,webp,gif}``           convention "plain"
- ``<base>.thumb.{jpg,jpeg,png,webp,gif}``     convention "thumb" (SDNext)
- ``<base>.example.N.<ext>``, ``<base>.preview.N.<ext>``  convention "example" (Civitai Helper)
- ``<base>[.preview|.example.N].{mp4,webm}``   kind "video", with the convention of its name

Pure name matching: nothing is opened or listed here. ``<base>`` must match exactly
(two LoRAs may differ only by case on Linux); the rest of the name is matched
case-insensitively (``Foo.PNG`` from a Windows user).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .records import Preview

IMAGE_EXTS: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".webp", ".gif")
VIDEO_EXTS: tuple[str, ...] = (".mp4", ".webm")

_MIME = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".gif": "image/gif",
    ".mp4": "video/mp4",
    ".webm": "video/webm",
}
_EXT_RANK = {ext: i for i, ext in enumerate(IMAGE_EXTS + VIDEO_EXTS)}
_CONVENTION_RANK = {"preview": 0, "plain": 1, "thumb": 2, "example": 3}
_EXTS = "|".join(re.escape(e[1:]) for e in IMAGE_EXTS + VIDEO_EXTS)
# What follows <base>, lowercased. N is bounded so a hostile name cannot make a huge int.
_REST = re.compile(rf"(?:\.(?P<marker>preview|thumb|example)(?:\.(?P<n>[0-9]{{1,6}}))?)?\.(?P<ext>{_EXTS})")


def _classify(rest: str) -> tuple[str, str, int, str] | None:
    """(kind, convention, N, ext) for the part of a name after ``<base>``, or None."""
    m = _REST.fullmatch(rest.lower())
    if m is None:
        return None
    marker, n, ext = m.group("marker"), m.group("n"), "." + m.group("ext")
    kind = "video" if ext in VIDEO_EXTS else "image"
    if n is not None:
        if marker == "thumb":  # "<base>.thumb.3.jpg" is no one's convention
            return None
        return kind, "example", int(n), ext
    if marker == "example":  # an example needs its number
        return None
    if marker == "thumb" and kind == "video":
        return None
    return kind, marker or "plain", 0, ext


def find_previews(base: str, names: Iterable[str]) -> list[Preview]:
    """Previews of ``<base>`` among ``names`` (a whole folder listing or a pre-filtered one).

    Order: images before videos; within each, preview, plain, thumb, then examples by
    N (numerically, so 10 follows 9); ties by extension (png, jpg, jpeg, webp, gif) and name.
    """
    found: list[tuple[tuple, Preview]] = []
    seen: set[str] = set()
    for name in names:
        if not isinstance(name, str) or name in seen or not base or not name.startswith(base):
            continue
        if "/" in name or "\\" in name or "\x00" in name:
            continue
        hit = _classify(name[len(base):])
        if hit is None:
            continue
        seen.add(name)
        kind, convention, n, ext = hit
        key = (kind == "video", _CONVENTION_RANK[convention], n, _EXT_RANK[ext], name)
        found.append((key, Preview(name=name, kind=kind, convention=convention)))
    found.sort(key=lambda item: item[0])
    return [preview for _, preview in found]


def preview_mime(name: str) -> str:
    """Content type from the extension (case-insensitive); unknown gives octet-stream."""
    dot = name.rfind(".")
    return _MIME.get(name[dot:].lower(), "application/octet-stream") if dot >= 0 else "application/octet-stream"


# A preview we write: the name the host (SDNext, A1111) looks for first, `<base>.preview.<ext>`
# (docs/formats.md), from the image's type.
WRITTEN_EXTS = {"image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp"}


def written_preview_name(base: str, mime: str) -> str:
    """The file name of the preview we write for ``<base>`` (one of WRITTEN_EXTS' types)."""
    return f"{base}.preview{WRITTEN_EXTS[mime]}"


def is_replaced_preview(base: str, name: str) -> bool:
    """``<base>.preview.<image ext>`` and ``<base>.thumb.<ext>`` (the host's thumbnail of the old one):
    the images a new preview written by us replaces."""
    hit = _classify(name[len(base):]) if name.startswith(base) else None
    return hit is not None and hit[0] == "image" and hit[1] in ("preview", "thumb")
