"""Routes of generation beyond one job (core.generation, jobs/services.py): init and control images, the host's
control models, weight sweeps, preview generation, and the results gallery with set-as-preview, delete and
cleanup. Every route demands the API key when one is set."""

from __future__ import annotations

from typing import Literal, Optional

from fastapi import Body, Path, Query, Request
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import Response

from ...jobs.inputs import MAX_UPLOAD, TooLarge
from ...library.previews import preview_mime
from .. import generation_schemas as G
from ..responses import JSON
from . import INDEX

IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp", "application/octet-stream")
IMAGE_BODY = {"requestBody": {"required": True, "description": "a PNG, JPEG or WebP image, the raw bytes (sent as "
                                                             "image/png, image/jpeg, image/webp or this type)",
                              "content": {"application/octet-stream": {"schema": {"type": "string",
                                                                                  "format": "binary"}}}}}
RESULT_ID = Path(..., max_length=64, pattern=r"^[0-9a-f]{12}$")
SWEEP_ID = Path(..., max_length=64, pattern=r"^[0-9a-f]{12}$")


async def _read_image(request: Request) -> bytes:
    ctype = (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    if ctype not in IMAGE_TYPES:
        raise HTTPException(415, f"send the image as image/png, image/jpeg or image/webp, not {ctype[:100] or 'none'}")
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_UPLOAD:
            raise TooLarge(f"an image of at most {MAX_UPLOAD >> 20} MB")
    return bytes(data)


def generation_routes(core, route) -> list:
    """Route entries; `route` is routes.Route (passed in to avoid an import cycle)."""
    from ..routes import ERRORS, IMAGES

    gen, queue = core.generation, core.jobs

    async def upload_image(request: Request) -> Response:
        data = await _read_image(request)
        return JSON(await run_in_threadpool(gen.inputs.save, data), status_code=201)

    def control_models() -> Response:
        return JSON(gen.control_models(queue))

    def start_sweep(req: G.SweepCreate = Body(...)) -> Response:
        return JSON(gen.sweeps.start(req.job.model_dump(), req.x.model_dump(), req.y.model_dump() if req.y else None,
                                     req.seeds), status_code=202)

    def get_sweep(sweep_id: str = SWEEP_ID) -> Response:
        return JSON(gen.sweeps.get(sweep_id))

    def generate_previews(req: G.PreviewGenerate = Body(...)) -> Response:
        return JSON(gen.previews.generate(req.loras, replace=req.replace, steps=req.steps, width=req.width,
                                          height=req.height, seed=req.seed, weight=req.weight), status_code=202)

    def list_results(limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0, le=1_000_000),
                     kind: Optional[Literal["txt2img", "img2img", "control", "grid"]] = Query(None)) -> Response:
        return JSON(gen.results.list(limit, offset, kind))

    def get_result(result_id: str = RESULT_ID) -> Response:
        return JSON(gen.results.get(result_id))

    def result_image(result_id: str = RESULT_ID, index: int = INDEX) -> Response:
        path = gen.results.image_path(result_id, index)
        return FileResponse(path, media_type=preview_mime(path), headers={"Cache-Control": "private, max-age=86400"})

    def delete_result(result_id: str = RESULT_ID,
                      force: bool = Query(False, description="also when it was set as a preview")) -> Response:
        return JSON(gen.results.delete(result_id, force=force))

    def set_preview(result_id: str = RESULT_ID, index: int = INDEX, req: G.SetPreview = Body(...)) -> Response:
        return JSON(gen.previews.set_preview(result_id, index, req.lora, replace=req.replace))

    def cleanup(req: G.CleanupRequest = Body(...)) -> Response:
        return JSON(gen.results.cleanup(req.keep_days, req.keep_gb, dry_run=req.dry_run))

    image_out = {"response_class": Response, "responses": {**ERRORS, 200: {"content": IMAGES}}}
    return [
        route("/generation/init-images", "POST", upload_image, "upload an init or control image (PNG, JPEG, WebP)",
              G.InitImage, status_code=201, max_body=MAX_UPLOAD, extra={"openapi_extra": IMAGE_BODY}),
        route("/generation/control-models", "GET", control_models, "the control models the host lists",
              G.ControlModels),
        route("/generation/sweeps", "POST", start_sweep, "queue a weight sweep (or an X/Y sweep over two LoRAs); "
              "a labelled grid when it is done", G.SweepOut, status_code=202),
        route("/generation/sweeps/{sweep_id}", "GET", get_sweep, "a sweep's jobs and grid", G.SweepOut),
        route("/generation/previews", "POST", generate_previews, "generate previews for LoRAs (all without one "
              "when none named)", G.PreviewsGenerated, status_code=202),
        route("/results", "GET", list_results, "job results kept on disk, newest first, with their parameters",
              G.ResultPage),
        route("/results/cleanup", "POST", cleanup, "remove results by age and size (never those in use)",
              G.CleanupReport),
        route("/results/{result_id}", "GET", get_result, "one result", G.Result),
        route("/results/{result_id}", "DELETE", delete_result, "delete a result's images and record", G.Deleted),
        route("/results/{result_id}/images/{index}", "GET", result_image, "one result image", extra=image_out),
        route("/results/{result_id}/images/{index}/preview", "POST", set_preview,
              "set a result image as a LoRA's preview (beside its file)", G.PreviewSet),
    ]
