"""The route table: every route once, as data, over the core.

The standalone server adds them to its FastAPI app; inside SDNext they go
through the host's own `add_api_route` so its --auth applies. The handlers
(api/handlers/, one module per resource) call services only; they never touch SQL or files.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import os
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Callable

from fastapi import Depends, Request
from fastapi.responses import FileResponse, StreamingResponse
from starlette.exceptions import HTTPException
from starlette.responses import Response

from ..errors import LoraManagerError
from ..library.cover import COVER_TYPES
from . import recommend_schemas as R
from . import schemas as S
from . import usage_schemas as U
from . import host_schemas as H
from .handlers import autocomplete, bind, events, groups, hosts, jobs, loras, previews, recommend, scans, system, usage
from .list_route import list_endpoint
from .handlers.civitai import civitai_routes
from .handlers.civitai_downloads import civitai_download_routes
from .handlers.folders import folder_routes
from .handlers.organize import organize_routes
from .handlers.recipes import recipe_routes
from .handlers.transfer import transfer_routes
from .handlers.generation import generation_routes
from .responses import core_error_response

PREFIX = "/lora-manager/v1"
ERRORS = {code: {"model": S.ErrorBody} for code in (400, 401, 404, 409, 413, 422, 503, 507)}
IMAGES = {m: {} for m in ("image/png", "image/jpeg", "image/webp", "image/gif")}
COVERS = {m: {} for m in COVER_TYPES}
MEDIA = {**IMAGES, "video/mp4": {}, "video/webm": {}}


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


def routes(core) -> list[Route]:
    """All routes over `core` (an app.App): the handlers (api/handlers/) bound to the services they use."""
    cat, files, hasher, rec = core.catalog, core.files, core.hasher, core.recommender
    scanning, queue, analytics = core.scans, core.jobs, core.analytics
    outputs = os.path.join(core.settings.data_dir, "outputs")  # where the host runner writes job images
    csv = {**ERRORS, 200: {"content": {"text/csv": {}}, "description": "CSV"}}
    return [
        Route("/health", "GET", system.health, "liveness (no API key needed)", auth=False),
        Route("/system", "GET", bind(system.system, core),
              "version, database health, library counts, background work", S.SystemInfo),
        Route("/meta", "GET", bind(system.meta, core),
              "base-model families with labels, the entry's field sets, whether jobs run here", S.Vocabulary),
        Route("/hosts", "GET", bind(hosts.hosts, core.hosts),
              "the hosts sharing this library: roots, last seen, checkpoint and family, busy, queue depth",
              list[H.HostOut]),
        Route("/loras", "GET", list_endpoint(core), "list, search, filter, sort and page LoRAs", S.LoraPage),
        Route("/loras/{key}", "GET", bind(loras.get_lora, cat),
              "one LoRA by id, prompt name, file name or hash", S.LoraDetail),
        Route("/loras/{key}", "PATCH", bind(loras.edit_lora, cat), "edit user data", S.LoraDetail),
        Route("/loras/{key}/restore", "POST", bind(loras.restore, files), "restore from the trash", S.LoraDetail),
        Route("/loras/{key}/move", "POST", bind(loras.move, files),
              "move and/or rename with sidecars and previews", S.LoraDetail),
        Route("/loras/{key}/previews/{index}", "GET", bind(previews.preview, files), "a preview image or video",
              extra={"response_class": FileResponse,
                     "responses": {**ERRORS, 200: {"content": MEDIA, "description": "the file"}}}),
        Route("/loras/{key}/cover", "GET", bind(previews.cover, cat), "the cover image embedded in the file's metadata",
              extra={"responses": {**ERRORS, 200: {"content": COVERS, "description": "the image"}}}),
        Route("/tags", "GET", bind(groups.tags, cat), "the user's and the models' tags with counts", list[S.TagCount]),
        Route("/folders", "GET", bind(groups.folders, core), "each root's folder tree with counts", S.FolderTree),
        Route("/duplicates", "GET", bind(groups.duplicates, cat),
              "files with the same full hash at several paths", list[S.DuplicateGroup]),
        Route("/collections", "GET", bind(groups.collections, cat), "collections and their members",
              list[S.Collection]),
        Route("/scans", "POST", bind(scans.start_scan, scanning),
              "start a scan in the background", S.ScanStatus, status_code=202),
        Route("/scans/current", "GET", bind(scans.scan_status, scanning),
              "the running scan's progress, if any", S.ScanStatus),
        Route("/scans/last", "GET", bind(scans.last_scan, scanning),
              "the last finished or failed scan's report", S.ScanReport),
        Route("/hashing", "GET", bind(scans.hashing, hasher), "background hashing progress", S.HashStatus),
        Route("/jobs", "POST", bind(jobs.create_job, queue),
              "queue a txt2img job with a LoRA stack (runs inside the host)", S.JobCreated, status_code=202),
        Route("/jobs", "GET", bind(jobs.list_jobs, queue), "jobs, newest first", list[S.JobOut]),
        Route("/jobs/{job_id}", "GET", bind(jobs.get_job, queue), "one job with its progress and results", S.JobOut),
        Route("/jobs/{job_id}/images/{index}", "GET", bind(jobs.job_image, queue, outputs),
              "one result image of a finished job",
              extra={"response_class": Response, "responses": {**ERRORS, 200: {"content": IMAGES}}}),
        Route("/jobs/{job_id}/cancel", "POST", bind(jobs.cancel_job, queue),
              "cancel a queued job, or interrupt the running one", S.JobOut),
        Route("/analytics/summary", "GET", bind(usage.analytics_summary, analytics),
              "generations over time, most/least/never used LoRAs, co-usage, families, failures", U.AnalyticsSummary),
        Route("/analytics/loras", "GET", bind(usage.analytics_loras, analytics),
              "per LoRA: uses, first/last use, weights, families, outcomes, mean generation time with and without it",
              U.AnalyticsLoras),
        Route("/analytics/loras/{key}", "GET", bind(usage.analytics_lora, analytics, cat),
              "one LoRA's figures (all time, or since/until)", U.AnalyticsLora),
        Route("/analytics/events.csv", "GET", bind(usage.analytics_events, analytics), "the recorded events as CSV",
              extra={"response_class": StreamingResponse, "responses": csv}),
        Route("/usage", "GET", bind(usage.usage, analytics, cat),
              "recorded generations, newest first, with requested and applied LoRAs", S.UsagePage),
        Route("/autocomplete", "GET", bind(autocomplete.autocomplete, core.autocomplete),
              "the compact index the prompt autocomplete loads (ETag, 304)",
              extra={"responses": {**ERRORS, 200: {"model": U.AutocompleteIndex},
                                   304: {"description": "unchanged since the version in If-None-Match"}}}),
        Route("/events", "GET", bind(events.events, core), "progress stream (Server-Sent Events): scan.*, hash.*",
              extra={"response_class": StreamingResponse}),
        Route("/recommendations/for-prompt", "POST", bind(recommend.for_prompt, rec),
              "LoRAs for a prompt, with reasons and ready <lora:...> tags", R.Recommendations),
        Route("/recommendations/similar/{key}", "GET", bind(recommend.similar, rec),
              "LoRAs like this one, by text and co-usage", R.Recommendations),
        Route("/recommendations/feedback", "POST", bind(recommend.feedback, rec),
              "accept, dismiss or thumbs-down a suggestion", R.FeedbackResult),
        Route("/recommendations/status", "GET", bind(recommend.status, rec),
              "model state, index size, build progress", R.RecommendStatus),
    ] + civitai_routes(core, Route) + civitai_download_routes(core, Route) + transfer_routes(core, Route) \
        + folder_routes(core, Route) + organize_routes(core, Route) + recipe_routes(core, Route) \
        + generation_routes(core, Route)


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
        deps = [Depends(body_limit(route.max_body)) if route.max_body else limit, *(dependencies or [])] + (
            [guard] if route.auth else []
        )
        kwargs = route.kwargs()
        if _reads_json_body(route):
            deps.append(Depends(json_body_only))
            kwargs["responses"] = {**kwargs["responses"], 415: {"model": S.ErrorBody}}
        add_route(PREFIX + route.path, _answering_errors(route.endpoint), dependencies=deps, **kwargs)
