"""One LoRA: read, edit, move, restore (trash, delete for good and bulk: handlers/folders.py)."""

from __future__ import annotations

from fastapi import Body
from starlette.responses import Response

from ...catalog.fileops import FileOps
from ...catalog.service import Catalog
from ...errors import BadRequest
from .. import schemas as S
from ..responses import JSON
from . import KEY_PATH


def get_lora(cat: Catalog, key: str = KEY_PATH) -> Response:
    return JSON(cat.get(key))


def edit_lora(cat: Catalog, key: str = KEY_PATH, edit: S.LoraEdit = Body(...)) -> Response:
    return JSON(cat.edit(key, edit.model_dump(exclude_unset=True)))


def move(files: FileOps, key: str = KEY_PATH, req: S.MoveRequest = Body(...)) -> Response:
    if not req.folder and not req.name:
        raise BadRequest("give a folder, a name, or both")
    return JSON(files.move(key, req.folder, req.name))


def restore(files: FileOps, key: str = KEY_PATH) -> Response:
    return JSON(files.restore(key))
