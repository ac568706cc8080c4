"""The route table: every route once, as data, over the core.

The standalone server adds them to its FastAPI app; inside SDNext they go
through the host's own `add_api_route` so its --auth applies. Handlers only
call the core; they never touch SQL or files.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hmac
import os
import re
from dataclasses import dataclass, field
from typing import Any, Optional
from collections.abc import Callable

import orjson
from fastapi import Body, Depends, Header, Path, Query, Request
from fastapi.responses import FileResponse, StreamingResponse
from starlette.exceptions import HTTPException
from starlette.responses import Response

from ..errors import BadRequest, LoraManagerError, NotFound
from ..library.header import read_header
from ..jobs.queue import validate_request
from ..library.previews import preview_mime
from . import schemas as S
from . import usage_schemas as U
from .list_route import list_endpoint
from .moments import SINCE, UNTIL, moment as _moment, to_utc as _utc, zones as _zones
from .schemas import TEXT
from .recommend_routes import recommend_routes
from .handlers.transfer import transfer_routes
from .responses import JSON, core_error_response
from .system import hash_status, system_info

PREFIX = "/lora-manager/v1"
ERRORS = {code: {"model": S.ErrorBody} for code in (400, 401, 404, 409, 413, 422, 503, 507)}
IMAGES = {m: {} for m in ("image/png", "image/jpeg", "image/webp", "image/gif")}
MEDIA = {**IMAGES, "video/mp4": {}, "video/webm": {}}
KEY_PATH = Path(..., max_length=300, description="id, prompt name, file name or any hash form")


@dataclass
class Route:
    path: str  # below PREFIX
    method: str
    endpoint: Callable[..., Any]
    summary: str
    response_model: Any = None
    status_code: int = 200
    auth: bool = True
    extra: dict[str, Any] = field(default_factory=dict)
    max_body: int | None = None  # a bigger request body than the setting allows (an uploaded archive)

    def kwargs(self) -> dict[str, Any]:
        responses: dict[Any, Any] = dict(ERRORS)
        if self.response_model is not None:
            responses[self.status_code] = {"model": self.response_model}
        return {"methods": [self.method], "summary": self.summary, "status_code": self.status_code,
                "responses": responses, "tags": ["lora-manager"], **self.extra}  # extra may replace responses


def api_key_guard(expected: str) -> Callable[..., None]:
    """A dependency demanding the key (X-API-Key or Authorization: Bearer) when one is set."""

    def guard(request: Request) -> None:
        if not expected:
            return
        given = request.headers.get("x-api-key") or ""
        auth = request.headers.get("authorization") or ""
        if not given and auth[:7].lower() == "bearer ":
            given = auth[7:].strip()
        if not given or not hmac.compare_digest(given.encode(), expected.encode()):
            # An HTTPException, not a core error: dependencies run outside the
            # endpoint wrapper, and a host app knows how to answer this one.
            raise HTTPException(401, "an API key is needed: send X-API-Key or Authorization: Bearer",
                                headers={"WWW-Authenticate": "Bearer"})

    return guard


def body_limit(limit: int) -> Callable[..., None]:
    def check(request: Request) -> None:
        size = request.headers.get("content-length")
        if size and size.isdigit() and int(size) > limit:
            raise HTTPException(413, f"request body over {limit} bytes")

    return check


def json_body_only(request: Request) -> None:
    """A route that reads a JSON body answers a body of another type with 415, itself: FastAPI would
    report a validation error, which a host app (SDNext) turns into a 500."""
    ctype = (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    has_body = request.headers.get("content-length") not in (None, "0") or "transfer-encoding" in request.headers
    if has_body and ctype and ctype != "application/json" and not ctype.endswith("+json"):
        raise HTTPException(415, f"this route reads JSON: send Content-Type: application/json, not {ctype[:100]}")


def _reads_json_body(route: Route) -> bool:
    from fastapi.dependencies.utils import get_dependant

    return bool(get_dependant(path=PREFIX + route.path, call=route.endpoint).body_params)


def routes(core) -> list[Route]:  # noqa: C901 - one closure per handler; to split into api/handlers/
    """All routes over `core` (an app.App)."""
    cat, files = core.catalog, core.files

    def health() -> Response:
        return JSON({"status": "ok"})

    def system() -> Response:
        return JSON(system_info(core))

    def get_lora(key: str = KEY_PATH) -> Response:
        return JSON(cat.get(key))

    def edit_lora(key: str = KEY_PATH, edit: S.LoraEdit = Body(...)) -> Response:
        return JSON(cat.edit(key, edit.model_dump(exclude_unset=True)))

    def bulk(req: S.BulkEdit) -> Response:
        return JSON({"changed": cat.bulk(req.keys, req.action, req.value)})

    def move(key: str = KEY_PATH, req: S.MoveRequest = Body(...)) -> Response:
        if not req.folder and not req.name:
            raise BadRequest("give a folder, a name, or both")
        entry = files.move(key, req.folder, req.name)
        return JSON(entry)

    def trash(key: str = KEY_PATH) -> Response:
        return JSON(files.trash(key))

    def restore(key: str = KEY_PATH) -> Response:
        return JSON(files.restore(key))

    def preview(key: str = KEY_PATH, index: int = Path(..., ge=0, le=1000)) -> Response:
        entry = cat.get(key)
        previews = entry["previews"]
        if index >= len(previews):
            raise NotFound(f"this LoRA has {len(previews)} preview(s)")
        path = os.path.join(os.path.dirname(entry["path"]), previews[index]["name"])
        if not files.inside_roots(path) or not os.path.isfile(path):
            raise NotFound("the preview file is not in the library")
        return FileResponse(path, media_type=preview_mime(path), headers={"Cache-Control": "private, max-age=3600"})

    def cover(key: str = KEY_PATH) -> Response:
        entry = cat.get(key)
        if not entry["cover"] or entry["state"] != "ok":
            raise NotFound("this LoRA has no embedded cover image")
        meta = read_header(entry["path"]).metadata
        image = _embedded_cover(meta)
        if image is None:
            raise NotFound("the embedded cover could not be decoded")
        mime, data = image
        return Response(data, media_type=mime, headers={"Cache-Control": "private, max-age=3600"})

    def tags() -> Response:
        return JSON([{"tag": t, "count": n} for t, n in cat.tags()])

    def duplicates() -> Response:
        return JSON(core.repo.duplicate_groups())

    def collections() -> Response:
        return JSON(cat.collections())

    def start_scan() -> Response:
        return JSON(core.scans.start("api"), status_code=202)

    def scan_status() -> Response:
        return JSON(core.scans.status())

    def last_scan() -> Response:
        if core.scans.last_report is None:
            raise NotFound("no scan has finished since the server started")
        return JSON(core.scans.last_report)

    def hashing() -> Response:
        return JSON(hash_status(core))

    def usage(
        lora: Optional[str] = Query(None, max_length=300, pattern=TEXT, description="only generations that asked for or applied this LoRA"),
        since: Optional[str] = _moment("ISO 8601; without a zone, UTC"),
        until: Optional[str] = _moment("ISO 8601, exclusive"),
        limit: int = Query(50, ge=1, le=1000),
        offset: int = Query(0, ge=0, le=10_000_000),
    ) -> Response:
        lora_id = prompt_name = None
        if lora is not None:
            try:
                lora_id = core.repo.resolve(lora)
            except NotFound:
                prompt_name = lora  # a name the host was asked for but we do not know
        return JSON(core.repo.list_usage(lora_id=lora_id, prompt_name=prompt_name, since=_utc(since), until=_utc(until),
                                         limit=limit, offset=offset))

    def create_job(req: S.JobCreate) -> Response:
        job = core.jobs.submit(validate_request(req.model_dump()))
        return JSON({"id": job.id, "status": job.status}, status_code=202)

    def list_jobs() -> Response:
        return JSON(core.jobs.list())

    def get_job(job_id: str = Path(..., max_length=64)) -> Response:
        return JSON(core.jobs.get(job_id).as_dict())

    def cancel_job(job_id: str = Path(..., max_length=64)) -> Response:
        return JSON(core.jobs.cancel(job_id).as_dict())

    def job_image(job_id: str = Path(..., max_length=64), index: int = Path(..., ge=0, le=1000)) -> Response:
        images = (core.jobs.get(job_id).result or {}).get("images") or []
        if index >= len(images):
            raise NotFound(f"this job has {len(images)} image(s)")
        path = os.path.realpath(str(images[index]))
        outputs = os.path.realpath(os.path.join(core.settings.data_dir, "outputs"))
        if not path.startswith(outputs + os.sep) or not os.path.isfile(path):
            raise NotFound("the image is not in LoRA Manager's outputs folder")
        return FileResponse(path, media_type=preview_mime(path), headers={"Cache-Control": "private, max-age=86400"})

    def analytics_summary(
        since: Optional[str] = _moment(SINCE), until: Optional[str] = _moment(UNTIL),
        tz: str = Query("UTC", max_length=64, description="IANA time zone for the buckets",
                        json_schema_extra={"enum": _zones()}),
        bucket: str = Query("day", pattern="^(day|week|month)$"),
        top: int = Query(10, ge=1, le=100),
    ) -> Response:
        return JSON(core.analytics.summary(_utc(since), _utc(until), tz, bucket, top))

    def analytics_loras(
        since: Optional[str] = _moment(SINCE), until: Optional[str] = _moment(UNTIL),
        sort: str = Query("uses", pattern="^-?(uses|last_used|name)$"),
        limit: int = Query(100, ge=1, le=10_000), offset: int = Query(0, ge=0, le=10_000_000),
    ) -> Response:
        return JSON(core.analytics.loras(_utc(since), _utc(until), sort, limit, offset))

    def analytics_lora(key: str = KEY_PATH, since: Optional[str] = _moment(SINCE),
                       until: Optional[str] = _moment(UNTIL)) -> Response:
        entry = cat.get(key)
        figures = core.analytics.lora(entry["prompt_name"], _utc(since), _utc(until))
        if figures is None:  # never asked for: every figure is zero
            figures = {"prompt_name": entry["prompt_name"], "uses": 0, "requests": 0, "first_used": None, "last_used": None,
                       "outcomes": {}, "weights": {}, "families": {}, "mean_ms_with": None, "mean_ms_without": None}
        return JSON({**figures, "id": entry["id"]})

    def analytics_events(since: Optional[str] = _moment(SINCE), until: Optional[str] = _moment(UNTIL)) -> Response:
        return StreamingResponse(core.analytics.events_csv(_utc(since), _utc(until)), media_type="text/csv",
                                 headers={"Content-Disposition": 'attachment; filename="lora-manager-events.csv"'})

    def autocomplete(if_none_match: Optional[str] = Header(None, max_length=1000)) -> Response:
        index = core.autocomplete.current()
        headers = {"ETag": f'"{index.version}"', "Cache-Control": "private, no-cache"}
        if if_none_match and _etag_matches(if_none_match, index.version):
            return Response(status_code=304, headers=headers)
        return Response(index.body, media_type="application/json", headers=headers)

    async def events(request: Request, heartbeat: float = Query(15.0, ge=1, le=300)) -> Response:
        return StreamingResponse(_sse(core, request, heartbeat), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    table = [
        Route("/health", "GET", health, "liveness (no API key needed)", auth=False),
        Route("/system", "GET", system, "version, database health, library counts, background work", S.SystemInfo),
        Route("/loras", "GET", list_endpoint(core), "list, search, filter, sort and page LoRAs", S.LoraPage),
        Route("/loras/bulk", "POST", bulk, "one action on many LoRAs", S.BulkResult),
        Route("/loras/{key}", "GET", get_lora, "one LoRA by id, prompt name, file name or hash", S.LoraDetail),
        Route("/loras/{key}", "PATCH", edit_lora, "edit user data", S.LoraDetail),
        Route("/loras/{key}", "DELETE", trash, "delete to the trash (recoverable)", S.LoraDetail),
        Route("/loras/{key}/restore", "POST", restore, "restore from the trash", S.LoraDetail),
        Route("/loras/{key}/move", "POST", move, "move and/or rename with sidecars and previews", S.LoraDetail),
        Route("/loras/{key}/previews/{index}", "GET", preview, "a preview image or video",
              extra={"response_class": FileResponse, "responses": {**ERRORS, 200: {"content": MEDIA, "description": "the file"}}}),
        Route("/loras/{key}/cover", "GET", cover, "the cover image embedded in the file's metadata",
              extra={"responses": {**ERRORS, 200: {"content": IMAGES, "description": "the image"}}}),
        Route("/tags", "GET", tags, "tags with counts", list[S.TagCount]),
        Route("/duplicates", "GET", duplicates, "files with the same full hash at several paths", list[S.DuplicateGroup]),
        Route("/collections", "GET", collections, "collections and their members", list[S.Collection]),
        Route("/scans", "POST", start_scan, "start a scan in the background", S.ScanStatus, status_code=202),
        Route("/scans/current", "GET", scan_status, "the running scan's progress, if any", S.ScanStatus),
        Route("/scans/last", "GET", last_scan, "the last finished or failed scan's report", S.ScanReport),
        Route("/hashing", "GET", hashing, "background hashing progress", S.HashStatus),
        Route("/jobs", "POST", create_job, "queue a txt2img job with a LoRA stack (runs inside the host)", S.JobCreated,
              status_code=202),
        Route("/jobs", "GET", list_jobs, "jobs, newest first", list[S.JobOut]),
        Route("/jobs/{job_id}", "GET", get_job, "one job with its progress and results", S.JobOut),
        Route("/jobs/{job_id}/images/{index}", "GET", job_image, "one result image of a finished job",
              extra={"response_class": Response, "responses": {**ERRORS, 200: {"content": IMAGES}}}),
        Route("/jobs/{job_id}/cancel", "POST", cancel_job, "cancel a queued job, or interrupt the running one", S.JobOut),
        Route("/analytics/summary", "GET", analytics_summary,
              "generations over time, most/least/never used LoRAs, co-usage, families, failures", U.AnalyticsSummary),
        Route("/analytics/loras", "GET", analytics_loras, "per LoRA: uses, first/last use, weights, families, outcomes, "
              "mean generation time with and without it", U.AnalyticsLoras),
        Route("/analytics/loras/{key}", "GET", analytics_lora, "one LoRA's figures (all time, or since/until)",
              U.AnalyticsLora),
        Route("/analytics/events.csv", "GET", analytics_events, "the recorded events as CSV",
              extra={"response_class": StreamingResponse, "responses": {**ERRORS, 200: {"content": {"text/csv": {}}, "description": "CSV"}}}),
        Route("/usage", "GET", usage, "recorded generations, newest first, with requested and applied LoRAs", S.UsagePage),
        Route("/autocomplete", "GET", autocomplete, "the compact index the prompt autocomplete loads (ETag, 304)",
              extra={"responses": {**ERRORS, 200: {"model": U.AutocompleteIndex},
                                   304: {"description": "unchanged since the version in If-None-Match"}}}),
        Route("/events", "GET", events, "progress stream (Server-Sent Events): scan.*, hash.*",
              extra={"response_class": StreamingResponse}),
    ]
    return table + recommend_routes(core, Route) + transfer_routes(core, Route)


def _etag_matches(header: str, version: str) -> bool:
    for tag in header.split(","):
        tag = tag.strip()
        if tag == "*" or tag.removeprefix("W/").strip('"') == version:
            return True
    return False


_DATA_URL = re.compile(r"^data:(image/(?:png|jpeg|webp|gif));base64,(.+)$", re.S)


def _embedded_cover(meta: dict[str, str]) -> tuple[str, bytes] | None:
    m = _DATA_URL.match(meta.get("modelspec.thumbnail", ""))
    try:
        if m:
            return m.group(1), base64.b64decode(m.group(2), validate=False)
        covers = orjson.loads(meta.get("ssmd_cover_images") or "null")
        if isinstance(covers, list) and covers and isinstance(covers[0], str):
            data = base64.b64decode(covers[0], validate=False)
            return ("image/png" if data[:4] == b"\x89PNG" else "image/jpeg"), data
    except (ValueError, orjson.JSONDecodeError):
        return None
    return None


async def _sse(core, request: Request, heartbeat: float):
    sid, queue = core.events.subscribe()
    try:
        hello = {"type": "hello", "scan": core.scans.status(), "hashing": core.hasher.status()}
        yield _frame(hello)
        while not await request.is_disconnected():
            try:
                event = await asyncio.wait_for(queue.get(), timeout=heartbeat)
            except asyncio.TimeoutError:
                yield b": keep-alive\n\n"
                continue
            yield _frame(event)
    finally:
        core.events.unsubscribe(sid)


def _frame(event: dict[str, Any]) -> bytes:
    return b"event: " + str(event.get("type", "message")).encode() + b"\ndata: " + orjson.dumps(event) + b"\n\n"


def _answering_errors(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """Turn core errors into our JSON error inside the endpoint itself: the standalone app also
    has exception handlers, but a host app (SDNext) would answer them with a 500."""
    if asyncio.iscoroutinefunction(endpoint):

        @functools.wraps(endpoint)
        async def wrapped_async(*args, **kwargs):
            try:
                return await endpoint(*args, **kwargs)
            except LoraManagerError as exc:
                return core_error_response(exc)

        return wrapped_async

    @functools.wraps(endpoint)
    def wrapped(*args, **kwargs):
        try:
            return endpoint(*args, **kwargs)
        except LoraManagerError as exc:
            return core_error_response(exc)

    return wrapped


def register(add_route: Callable[..., Any], core, *, dependencies: list | None = None) -> None:
    """Add every route through `add_route(path, endpoint, **kwargs)` (FastAPI's or the host's)."""
    guard = Depends(api_key_guard(core.settings.api_key))
    limit = Depends(body_limit(core.settings.max_body_bytes))
    for route in routes(core):
        deps = [Depends(body_limit(route.max_body)) if route.max_body else limit, *(dependencies or [])] + ([guard] if route.auth else [])
        kwargs = route.kwargs()
        if _reads_json_body(route):
            deps.append(Depends(json_body_only))
            kwargs["responses"] = {**kwargs["responses"], 415: {"model": S.ErrorBody}}
        add_route(PREFIX + route.path, _answering_errors(route.endpoint), dependencies=deps, **kwargs)
