"""Download the version's first suitable image as the LoRA's preview, named as the host expects.

`<base>.preview.png` / `.jpeg` / `.webp` / `.gif` for an image, `<base>.preview.mp4` / `.webm` for a
video (docs/formats.md). The type is read from the file's first bytes, not from what the server says.
Nothing is written when the LoRA has a preview of any convention (one the user placed is never
replaced), or when every image is rated above LORA_MANAGER_CIVITAI_NSFW_LEVEL.
"""

from __future__ import annotations

import contextlib
import os
import threading
from typing import Any

from ..library.previews import IMAGE_EXTS, VIDEO_EXTS
from .facts import pick_preview

MAX_IMAGE_BYTES = 64 << 20
MAX_VIDEO_BYTES = 256 << 20


def sniff(head: bytes) -> str | None:
    """The extension of an image or video from its first bytes; None for anything else (an HTML page...)."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return ".png"
    if head.startswith(b"\xff\xd8\xff"):
        return ".jpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return ".webp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return ".gif"
    if head[4:8] == b"ftyp":
        return ".mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return ".webm"
    return None


def has_preview(lora_path: str) -> bool:
    """Any preview on disk under a name the host or a peer reads (<base>.png, .preview.*, .thumb.*)."""
    base = os.path.splitext(lora_path)[0]
    names = [base + mid + ext for ext in IMAGE_EXTS for mid in ("", ".preview", ".thumb")]
    names += [base + mid + ext for ext in VIDEO_EXTS for mid in ("", ".preview")]
    return any(os.path.lexists(n) for n in names)


def fetch_preview(client, lora_path: str, version: dict[str, Any], *, max_level: int,
                  lock: threading.Lock | None = None) -> str:
    """Download and place a preview; returns what happened: written: NAME, kept, none, skipped or failed (why).
    The disk decides whether a preview exists (the index may be a scan behind)."""
    if has_preview(lora_path):
        return "kept: the LoRA has a preview"
    image = pick_preview(version.get("images"), max_level)
    if image is None:
        return "none: no image at or below the NSFW level setting"
    folder = os.path.dirname(lora_path)
    base = os.path.splitext(os.path.basename(lora_path))[0]
    tmp = os.path.join(folder, f".{base}.preview.lm-{os.getpid()}-{threading.get_ident()}.tmp")
    limit = MAX_VIDEO_BYTES if image.get("type") == "video" else MAX_IMAGE_BYTES
    try:
        with open(tmp, "wb") as f:
            client.download(image["url"], f.write, limit)
        with open(tmp, "rb") as f:
            ext = sniff(f.read(16))
        if ext is None:
            return "failed: the download is not an image or a video"
        return _place(tmp, lora_path, os.path.join(folder, base + ".preview" + ext), lock)
    except OSError as exc:
        return f"failed: cannot write the preview: {exc.strerror or exc}"
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def _place(tmp: str, lora_path: str, target: str, lock: threading.Lock | None) -> str:
    """Give the download its name unless a preview appeared meanwhile (a link never replaces a file)."""
    with lock or contextlib.nullcontext():
        if not os.path.isfile(lora_path):
            return "skipped: the LoRA is not there any more"
        if has_preview(lora_path):
            return "kept: the LoRA has a preview"
        try:
            os.link(tmp, target)
        except FileExistsError:
            return "kept: the LoRA has a preview"
        except OSError:  # a file system without hard links: the check above stands
            os.replace(tmp, target)
    return "written: " + os.path.basename(target)
