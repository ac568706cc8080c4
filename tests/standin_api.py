"""The stand-in host's API side (`modules.api`), written from docs/host.md: its exception middleware, which
answers every error itself, and the HTTP Basic check it puts on the routes added through
`shared.api.add_api_route(..., auth=True)` when the host runs with `--auth user:password[,...]`."""

from __future__ import annotations

import base64
from hmac import compare_digest

from fastapi import HTTPException
from starlette.requests import Request


def basic_auth(shared):
    """The dependency SDNext adds to its API routes under --auth: HTTP Basic against the listed users."""

    def check(request: Request) -> None:
        users = dict(u.split(":", 1) for u in shared.cmd_opts.auth.split(",") if ":" in u)
        scheme, _, value = (request.headers.get("authorization") or "").partition(" ")
        try:
            user, _, password = base64.b64decode(value).decode().partition(":")
        except ValueError:
            user = password = ""
        if scheme.lower() != "basic" or not user or not compare_digest(users.get(user, "\0"), password):
            raise HTTPException(401, "Unauthorized", headers={"WWW-Authenticate": "Basic"})

    return check


def host_error_handlers(app) -> None:
    """SDNext's API middleware answers every exception itself: an HTTPException with its status, anything
    else (FastAPI's RequestValidationError included, which has no status_code) with a 500."""
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException

    def answer(e: Exception):
        code = vars(e).get("status_code", 500)
        return JSONResponse(status_code=code, content={"error": type(e).__name__, "code": code,
                                                       "detail": str(vars(e).get("detail", "")), "errors": str(e)})

    @app.exception_handler(HTTPException)
    async def http_exception(_req, e):
        return answer(e)

    @app.exception_handler(Exception)
    async def any_exception(_req, e):
        return answer(e)
