"""Routes of folders, the trash and forgetting, and the bulk action (files too), over `core.actions`
(catalog/actions.py). Everything on disk stays inside the library roots; deleting for good is for
files in the trash only."""

from __future__ import annotations

from typing import Optional, Union

from fastapi import Body, Query
from starlette.responses import Response

from ...storage.catalog_store import LoraQuery
from .. import action_schemas as A
from .. import schemas as S
from ..responses import JSON
from . import KEY_PATH

TRASH_SORT = "^-?(id|name|modified|added|size)$"
PERMANENT = "delete the file for good: only a LoRA already in the trash (409 otherwise)"


def folder_routes(core, route) -> list:
    """Route entries; `route` is routes.Route (passed in to avoid an import cycle)."""
    act, files, cat = core.actions, core.files, core.catalog

    def create_folder(req: A.FolderCreate = Body(...)) -> Response:
        return JSON(act.folders.create(req.root, req.path), status_code=201)

    def rename_folder(req: A.FolderRename = Body(...)) -> Response:
        return JSON(act.folders.rename(req.root, req.path, req.new_name))

    def bulk(req: S.BulkEdit = Body(...)) -> Response:
        return JSON(act.bulk(req.keys, req.action, req.value))

    def forget(key: str = KEY_PATH) -> Response:
        return JSON(act.trash.forget(key))

    def delete_lora(key: str = KEY_PATH, permanent: bool = Query(False, description=PERMANENT)) -> Response:
        return JSON(act.trash.delete(key) if permanent else files.trash(key))

    def list_trash(sort: str = Query("name", pattern=TRASH_SORT), limit: int = Query(50, ge=1, le=1000),
                   offset: int = Query(0, ge=0, le=10_000_000),
                   cursor: Optional[str] = Query(None, max_length=1000)) -> Response:
        page = cat.list(LoraQuery(state="trashed", sort=sort, limit=limit, offset=offset, cursor=cursor))
        return JSON({"total": page.total, "limit": page.limit, "offset": page.offset,
                     "next_cursor": page.next_cursor, "items": page.items})

    def empty_trash() -> Response:
        return JSON(act.trash.empty())

    return [
        route("/folders", "POST", create_folder, "create a folder inside a library root (409 when it exists)",
              A.FolderCreated, status_code=201),
        route("/folders/rename", "POST", rename_folder,
              "rename a folder; its files, their index entries and user data follow", A.FolderRenamed),
        route("/loras/bulk", "POST", bulk, "one action on many LoRAs (files too: move, restore, forget)",
              S.BulkResult),
        route("/loras/{key}", "DELETE", delete_lora,
              "delete to the trash (recoverable); permanent=true: delete a trashed LoRA's files for good",
              Union[S.LoraDetail, A.Deleted]),
        route("/loras/{key}/forget", "POST", forget, "drop a missing entry and its user data (409 for any other)",
              A.Forgotten),
        route("/trash", "GET", list_trash, "the LoRAs in the trash, a page at a time", S.LoraPage),
        route("/trash", "DELETE", empty_trash, "delete every trashed LoRA's files for good", A.Deleted),
    ]
