"""Routes of previews written, duplicates resolved and auto-organize, over `core.actions`."""

from __future__ import annotations

import os

from fastapi import Body, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import Response

from ...catalog.previews import MAX_BYTES
from ...library.previews import WRITTEN_EXTS
from .. import action_schemas as A
from .. import schemas as S
from ..responses import JSON
from . import KEY_PATH

IMAGE_BODY = {"requestBody": {"required": True, "description": f"a PNG, JPEG or WebP image of at most {MAX_BYTES} "
                              "bytes", "content": {t: {"schema": {"type": "string", "format": "binary"}}
                                                  for t in WRITTEN_EXTS}}}


async def read_image(request: Request) -> tuple[bytes, str]:
    """The body (at most MAX_BYTES, else 413) and its content type (415 unless PNG, JPEG or WebP)."""
    ctype = (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    if ctype not in WRITTEN_EXTS:
        raise HTTPException(415, f"send the image as one of {', '.join(WRITTEN_EXTS)}, not {ctype[:100] or 'nothing'}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BYTES:
            raise HTTPException(413, f"an image of at most {MAX_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks), ctype


def organize_routes(core, route) -> list:
    """Route entries; `route` is routes.Route (passed in to avoid an import cycle)."""
    act, queue = core.actions, core.jobs
    outputs = os.path.join(core.settings.data_dir, "outputs")  # where the host runner writes job images

    async def put_preview(request: Request, key: str = KEY_PATH, replace: bool = Query(
            False, description="replace the LoRA's preview (without it: 409 when it has one)")) -> Response:
        data, ctype = await read_image(request)
        return JSON(await run_in_threadpool(act.previews.put, key, data, ctype, replace=replace))

    def preview_from_job(key: str = KEY_PATH, req: A.PreviewFromJob = Body(...)) -> Response:
        path = queue.image_path(req.job_id, req.index, outputs)
        return JSON(act.previews.from_job(key, path, replace=req.replace))

    def resolve_duplicates(req: A.DuplicateResolve = Body(...)) -> Response:
        return JSON(act.duplicates.resolve(req.keep))

    def organize(req: A.OrganizeRequest = Body(...)) -> Response:
        return JSON(act.organizer.organize(req.template, req.keys, dry_run=req.dry_run))

    from ..routes import ERRORS

    return [
        route("/loras/{key}/preview", "PUT", put_preview,
              "set or replace the preview: an image body, written beside the file as <base>.preview.<ext>",
              S.LoraDetail, max_body=MAX_BYTES,
              extra={"openapi_extra": IMAGE_BODY, "responses": {**ERRORS, 200: {"model": S.LoraDetail},
                                                                415: {"model": S.ErrorBody}}}),
        route("/loras/{key}/preview/from-job", "POST", preview_from_job,
              "set or replace the preview with a finished job's image", S.LoraDetail),
        route("/duplicates/resolve", "POST", resolve_duplicates,
              "keep one of a group of duplicates: the others to the trash, their user data merged into it",
              A.DuplicateResolved),
        route("/organize", "POST", organize,
              "move LoRAs into folders by a template ({base}/{type}, ...); dry_run lists every move first",
              A.OrganizeReport),
    ]
