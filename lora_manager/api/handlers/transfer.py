"""Routes of backups, restore, export, import and sidecars, over `core.transfer` (transfer/service.py).

Like every route they demand the API key when one is set: these are the admin's routes (a restore or
an import rewrites the library). A restore names a backup in the backup folder only, never a path.
"""

from __future__ import annotations

import os
import tempfile

from fastapi import Body, Query, Request
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import Response

from .. import transfer_schemas as S
from ..responses import JSON

MAX_UPLOAD = 4 << 30  # an archive sent to POST /import (the archive's own limits apply inside it)
ZIP_TYPES = ("application/zip", "application/octet-stream", "application/x-zip-compressed")
ZIP_BODY = {"requestBody": {"required": True,
                            "description": "an archive written by `lora-manager export` or POST /export",
                            "content": {t: {"schema": {"type": "string", "format": "binary"}}
                                        for t in ("application/zip", "application/octet-stream")}}}


async def _receive(request: Request, folder: str) -> str:
    """The request body in a private temporary file (removed by the caller), at most MAX_UPLOAD bytes."""
    ctype = (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    if ctype not in ZIP_TYPES:
        raise HTTPException(415, f"send the archive as application/zip, not {ctype[:100] or 'no content type'}")
    os.makedirs(folder, exist_ok=True)
    fd, path = tempfile.mkstemp(prefix="import-", suffix=".zip", dir=folder)
    size = 0
    try:
        with os.fdopen(fd, "wb") as f:
            async for chunk in request.stream():
                size += len(chunk)
                if size > MAX_UPLOAD:
                    raise HTTPException(413, f"an archive of at most {MAX_UPLOAD} bytes")
                f.write(chunk)
    except BaseException:
        os.unlink(path)
        raise
    return path


def transfer_routes(core, route) -> list:
    """Route entries; `route` is routes.Route (passed in to avoid an import cycle)."""
    t = core.transfer
    scratch = os.path.join(core.settings.data_dir, "exports")

    def list_backups() -> Response:
        return JSON(t.list_backups())

    def create_backup() -> Response:
        return JSON(t.backup(), status_code=201)

    def restore(req: S.RestoreRequest = Body(...)) -> Response:
        return JSON(t.restore(os.path.join(t.backups.folder, req.name), dry_run=req.dry_run))

    def export(req: S.ExportRequest = Body(...)) -> Response:
        from ...transfer.archive import parse_parts

        done = t.export_temp(parse_parts(list(req.what)), include_previews=req.include_previews)
        return FileResponse(done["file"], media_type="application/zip", filename="lora-manager-export.zip",
                            background=BackgroundTask(os.unlink, done["file"]))

    async def import_archive(request: Request, dry_run: bool = Query(False, description="report only; change nothing"),
                             on_conflict: S.Policy = Query("keep")) -> Response:
        path = await _receive(request, scratch)
        try:
            return JSON(await run_in_threadpool(t.import_archive, path, dry_run=dry_run, on_conflict=on_conflict,
                                                      label="the uploaded file"))
        finally:
            os.unlink(path)

    def import_peers(req: S.PeerImportRequest = Body(...)) -> Response:
        return JSON(t.import_peers(req.source, dry_run=req.dry_run, on_conflict=req.on_conflict))

    def write_sidecars(req: S.SidecarWriteRequest = Body(...)) -> Response:
        return JSON(t.write_all_sidecars(dry_run=req.dry_run))

    from ..routes import ERRORS

    zip_out = {"response_class": Response,
               "responses": {**ERRORS, 200: {"content": {"application/zip": {}}, "description": "the archive"}}}
    return [
        route("/backups", "GET", list_backups, "database backups, newest first, and the retention rule", S.BackupList),
        route("/backups", "POST", create_backup, "back up the database now", S.Backup, status_code=201),
        route("/backups/restore", "POST", restore, "restore a backup (the current database is backed up first)",
              S.RestoreReport),
        route("/export", "POST", export, "an archive of user data, collections, usage and settings (zip)",
              extra=zip_out),
        route("/import", "POST", import_archive, "import an archive (dry_run: report only), all or nothing",
              S.ImportReport, max_body=MAX_UPLOAD, extra={"openapi_extra": ZIP_BODY}),
        route("/import/sidecars", "POST", import_peers, "import what SDNext/A1111, ComfyUI-Lora-Manager or "
              "Civitai Helper wrote beside the LoRAs", S.ImportReport),
        route("/sidecars/write", "POST", write_sidecars, "write our user data into every SDNext/A1111 <base>.json",
              S.SidecarReport),
    ]
