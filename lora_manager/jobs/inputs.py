"""Images a job starts from: uploaded init and control images, read in memory with a size limit, checked by Pillow
(format, dimensions before decoding, a full decode) and kept re-encoded as PNG under the data directory's
`inputs/` (so nothing of a hostile file's metadata stays); or a previous job's result image."""

from __future__ import annotations

import io
import os
import re
import time
import uuid
import warnings
from collections.abc import Callable

from ..errors import InvalidInput, NotFound

MAX_UPLOAD = 20 << 20  # bytes of one uploaded image
MAX_SIDE = 8192
MAX_PIXELS = 40_000_000  # a decompression bomb is refused before decoding
FORMATS = ("PNG", "JPEG", "WEBP")
KEEP_SECONDS = 7 * 86400  # uploads no job named for a week are removed
_UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")
_JOB_REF = re.compile(r"^job:([0-9a-f]{12})/([0-9]{1,3})$")


class TooLarge(InvalidInput):
    status = 413
    code = "too_large"


def check_image(data: bytes):
    """The decoded RGB image of an upload, or a clear error (not an image, a format we do not read, too big)."""
    from PIL import Image, UnidentifiedImageError

    if len(data) > MAX_UPLOAD:
        raise TooLarge(f"an image of at most {MAX_UPLOAD >> 20} MB")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=FORMATS)
            width, height = img.size
            if width < 1 or height < 1 or width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
                raise InvalidInput(f"the image is {width}x{height}: at most {MAX_SIDE} pixels a side and "
                                   f"{MAX_PIXELS} pixels in all")
            img.load()
            return img.convert("RGB")
    except InvalidInput:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InvalidInput(f"the image's dimensions are too large to decode: at most {MAX_SIDE} pixels a side "
                           f"and {MAX_PIXELS} pixels in all") from None
    except UnidentifiedImageError:
        raise InvalidInput("not a PNG, JPEG or WebP image") from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise InvalidInput(f"the image cannot be read: {str(exc)[:200]}") from None


class InputImages:
    """Uploaded images by id; `resolve` turns a job's reference into a file path."""

    def __init__(self, folder: str, result_path: Callable[[str, int], str] | None = None):
        self.folder = folder
        self.result_path = result_path  # (job id, index) -> path of a previous job's image (jobs/results.py)

    def save(self, data: bytes) -> dict:
        img = check_image(data)
        os.makedirs(self.folder, exist_ok=True)
        image_id = uuid.uuid4().hex
        path = os.path.join(self.folder, image_id + ".png")
        tmp = path + ".part"
        try:
            img.save(tmp, format="PNG")
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        self._prune()
        return {"id": image_id, "width": img.width, "height": img.height}

    def resolve(self, ref: str) -> str:
        """The path of an upload id or `job:<id>/<index>`; NotFound when it is not there."""
        if _UPLOAD_ID.match(ref or ""):
            path = os.path.join(self.folder, ref + ".png")
            if not os.path.isfile(path):
                raise NotFound(f"no uploaded image {ref}: upload it again (POST /generation/init-images)")
            os.utime(path)  # named again: kept another week
            return path
        m = _JOB_REF.match(ref or "")
        if m and self.result_path is not None:
            return self.result_path(m.group(1), int(m.group(2)))
        raise InvalidInput("an image is an upload id or job:<job id>/<index>")

    def _prune(self) -> None:
        cutoff = time.time() - KEEP_SECONDS
        try:
            entries = list(os.scandir(self.folder))
        except OSError:
            return
        for entry in entries:
            try:
                if entry.name.endswith(".png") and entry.stat().st_mtime < cutoff:
                    os.unlink(entry.path)
            except OSError:
                continue
