"""Set or replace a LoRA's preview: an uploaded image, or one of a finished job's images.

The bytes are checked before anything is written: at most MAX_BYTES, a PNG, JPEG or WebP by its
content (Pillow, imported here only when an image arrives) that matches the type it was sent as,
at most MAX_PIXELS (a decompression bomb is refused before it is decoded), and decodable whole.
The file is written beside the LoRA as `<base>.preview.<ext>` (the name the host reads) through a
temporary file in the same folder, so a reader never sees half an image; without `replace`, a LoRA
that has a preview keeps it (409).
"""

from __future__ import annotations

import io
import os
import tempfile
import warnings
from typing import Any

from ..errors import Conflict, InvalidInput
from ..events import EventBus
from ..library.previews import WRITTEN_EXTS, is_replaced_preview, preview_mime, written_preview_name
from .fileops import FileOps

MAX_BYTES = 16 << 20
MAX_PIXELS = 40_000_000  # e.g. 8000 x 5000; decoded as RGBA that is 160 MB at most
_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}


def check_image(data: bytes, mime: str | None) -> str:
    """The image's content type when `data` is a whole PNG, JPEG or WebP within the limits; InvalidInput
    (422) with the reason otherwise. `mime`: what it was sent as (None: take what it is)."""
    if mime is not None and mime not in WRITTEN_EXTS:
        raise InvalidInput(f"a preview is PNG, JPEG or WebP, not {mime[:100]}", {"allowed": list(WRITTEN_EXTS)})
    if not data:
        raise InvalidInput("the image is empty")
    if len(data) > MAX_BYTES:
        raise InvalidInput(f"an image of at most {MAX_BYTES} bytes", {"size": len(data)})
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=list(_FORMATS)) as img:
                found = _FORMATS.get(img.format or "")
                width, height = img.size
                frames = getattr(img, "n_frames", 1) or 1
                if found is None:
                    raise InvalidInput("not a PNG, JPEG or WebP image")
                if mime is not None and found != mime:
                    raise InvalidInput(f"the image is {found}, not {mime} as it was sent")
                if width < 1 or height < 1 or width * height * frames > MAX_PIXELS:
                    raise InvalidInput(f"an image of at most {MAX_PIXELS} pixels (this one: {width} x {height}"
                                       f"{f' x {frames} frames' if frames > 1 else ''})")
                img.load()
    except InvalidInput:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InvalidInput("not a PNG, JPEG or WebP image Pillow can read within the limits") from None
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as exc:
        raise InvalidInput(f"the image is damaged or truncated: {str(exc)[:200]}") from None
    return found


class PreviewWriter:
    def __init__(self, files: FileOps, events: EventBus):
        self.files = files
        self.events = events

    def put(self, key: str | int, data: bytes, mime: str | None, *, replace: bool = False) -> dict[str, Any]:
        """Write `data` (checked first) as the LoRA's preview; the entry as it now is."""
        mime = check_image(data, mime)
        lid = self.files.catalog_store.resolve(key)
        with self.files.lock:
            path, stored_root = self.files._current(lid)
            folder, file_name = os.path.split(path)
            base = os.path.splitext(file_name)[0]
            if self.files.catalog_store.get(lid)["previews"] and not replace:
                raise Conflict("this LoRA has a preview; send replace=true to replace it")
            target = os.path.join(folder, written_preview_name(base, mime))
            if not self.files.inside_roots(target):
                raise InvalidInput("the LoRA's folder is outside the library roots; rescan first")
            old = [os.path.join(folder, n) for n in os.listdir(folder)
                   if is_replaced_preview(base, n) and os.path.join(folder, n) != target]
            _write(folder, target, data, replace)
            for other in old:
                try:
                    os.unlink(other)  # shown before the new one (or the host's thumbnail of the old one)
                except OSError:
                    pass
            self.files._reindex(lid, path, self.files._root_of(path) or stored_root)
        self.events.library_changed()
        return self.files.catalog_store.get(lid)

    def from_job(self, key: str | int, image_path: str, *, replace: bool = False) -> dict[str, Any]:
        """A finished job's image (a path the job queue vouched for) as the LoRA's preview."""
        if os.path.getsize(image_path) > MAX_BYTES:
            raise InvalidInput(f"the job's image is over {MAX_BYTES} bytes")
        with open(image_path, "rb") as f:
            data = f.read(MAX_BYTES + 1)
        kind = preview_mime(image_path)
        return self.put(key, data, kind if kind in WRITTEN_EXTS else None, replace=replace)


def _write(folder: str, target: str, data: bytes, replace: bool) -> None:
    try:
        _write_new(folder, target, data, replace)
    except Conflict:
        raise
    except OSError as exc:  # a folder where the file would go, a read-only folder, a full disk
        raise Conflict(f"cannot write the preview: {exc.strerror or exc}; nothing was changed",
                       {"path": target}) from None


def _write_new(folder: str, target: str, data: bytes, replace: bool) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".lm-preview-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        if replace:
            os.replace(tmp, target)  # a link at the target is replaced, never followed
        else:
            try:
                _link_or_copy(tmp, target, data)  # fails when the name exists: nothing is overwritten
            except FileExistsError:
                raise Conflict("a preview file of that name appeared meanwhile; nothing was changed") from None
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)


def _link_or_copy(tmp: str, target: str, data: bytes) -> None:
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise
    except OSError:  # a file system without hard links: write it anew, exclusively
        with open(target, "xb") as f:
            f.write(data)
