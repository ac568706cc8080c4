"""Fast JSON responses (orjson) and the one place errors become HTTP."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from ..errors import LoraManagerError

log = logging.getLogger(__name__)
STATUS_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
                409: "conflict", 413: "too_large", 415: "unsupported_media_type", 422: "invalid_input"}


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


def error_response(status: int, code: str, message: str, details: dict | None = None,
                   headers: dict | None = None) -> JSON:
    return JSON({"error": {"code": code, "message": message, "details": details or {}}}, status_code=status,
                headers=headers)


def core_error_response(exc: LoraManagerError) -> JSON:
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return error_response(exc.status, exc.code, exc.message, exc.details, headers)


async def on_core_error(_request: Request, exc: LoraManagerError) -> JSON:
    return core_error_response(exc)


async def on_validation_error(_request: Request, exc: RequestValidationError) -> JSON:
    # The offending input is left out: it may be huge or hostile, and the
    # location and reason are what a client needs.
    errors = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))[:300], "type": e.get("type")}
              for e in exc.errors()[:20]]
    return error_response(422, "invalid_input", "the request does not match what this route accepts",
                          {"errors": errors})


async def on_http_error(request: Request, exc: StarletteHTTPException) -> JSON:
    code = STATUS_CODES.get(exc.status_code, "http_error")
    headers = dict(getattr(exc, "headers", None) or {})
    if exc.status_code == 405:
        # Starlette names the methods of the first route on the path only; a path served by
        # several routes (GET, PATCH and DELETE of one LoRA) allows them all.
        headers["Allow"] = ", ".join(allowed_methods(request)) or headers.get("Allow", "")
    return error_response(exc.status_code, code, str(exc.detail), headers=headers or None)


def allowed_methods(request: Request) -> list[str]:
    from starlette.routing import Match

    methods: set[str] = set()
    for route in getattr(request.app, "routes", []):
        match, _ = route.matches({**request.scope, "method": "GET"})
        if match != Match.NONE and getattr(route, "methods", None):
            methods |= set(route.methods)
    return sorted(methods)


async def on_unexpected(request: Request, exc: Exception) -> JSON:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response(500, "internal", "unexpected error; the server log has the details")


HANDLERS = {
    LoraManagerError: on_core_error,
    RequestValidationError: on_validation_error,
    StarletteHTTPException: on_http_error,
    Exception: on_unexpected,
}
