"""A LoRA's images: its preview files and the cover embedded in its metadata."""

from __future__ import annotations

from fastapi.responses import FileResponse
from starlette.responses import Response

from ...catalog.fileops import FileOps
from ...catalog.service import Catalog
from ...library.previews import preview_mime
from . import INDEX, KEY_PATH

CACHE = {"Cache-Control": "private, max-age=3600"}


def preview(files: FileOps, key: str = KEY_PATH, index: int = INDEX) -> Response:
    path = files.preview_path(key, index)
    return FileResponse(path, media_type=preview_mime(path), headers=CACHE)


def cover(cat: Catalog, key: str = KEY_PATH) -> Response:
    mime, data = cat.cover(key)
    return Response(data, media_type=mime, headers=CACHE)
