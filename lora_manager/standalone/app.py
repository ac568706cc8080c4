"""The FastAPI application of the standalone server."""

from __future__ import annotations

import os
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import FileResponse, RedirectResponse

from .. import __version__
from .docs import add_docs
from .gate import RequestGate
from .pages import PAGE_CSP
from ..api.responses import HANDLERS, error_response
from ..api.routes import PREFIX, register

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"SAMEORIGIN"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-resource-policy", b"same-origin"),
]
API_CSP = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'self'")
DEFAULT_CSP = (b"content-security-policy", PAGE_CSP.encode())


class Guard:
    """ASGI middleware: security headers on every response; request bodies capped
    while they stream in (a missing or lying Content-Length does not get past)."""

    def __init__(self, app, max_body: int, bigger: dict[str, int] | None = None):
        self.app = app
        self.max_body = max_body
        self.bigger = bigger or {}  # path -> its own cap (an uploaded archive)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        is_api = scope["path"].startswith(PREFIX)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", [])) + SECURITY_HEADERS
                if is_api:
                    headers.append(API_CSP)
                elif not any(k.lower() == b"content-security-policy" for k, _ in headers):
                    headers.append(DEFAULT_CSP)  # pages set their own (with the nonce of their inline scripts)
                message = {**message, "headers": headers}
            await send(message)

        max_body = self.bigger.get(scope["path"], self.max_body)
        too_large = error_response(413, "too_large", f"request body over {max_body} bytes")
        length = dict(scope.get("headers", ())).get(b"content-length", b"")
        if length.isdigit() and int(length) > max_body:
            return await too_large(scope, receive, send_with_headers)
        seen = 0
        over = False
        replaced = False

        async def limited_receive():
            nonlocal seen, over
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > max_body:
                    over = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message):
            # Once the body ran over, whatever the app answers becomes a 413.
            nonlocal replaced
            if not over:
                return await send_with_headers(message)
            if not replaced:
                replaced = True
                await too_large(scope, receive, send_with_headers)

        await self.app(scope, limited_receive, guarded_send)


ASSETS = "/lora-manager/assets"
EXTENSION_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def extension_assets(root: str = EXTENSION_ROOT) -> dict[str, tuple[str, str]]:
    """{name: (path, content type)}: javascript/*.js and style.css as they are at start-up.
    A fixed allow-list: a request names one of these or gets a 404, so no path reaches the disk."""
    found = {}
    js = os.path.join(root, "javascript")
    if os.path.isdir(js):
        for name in sorted(os.listdir(js)):
            if name.endswith(".js") and os.path.isfile(os.path.join(js, name)):
                found[name] = (os.path.join(js, name), "text/javascript; charset=utf-8")
    css = os.path.join(root, "style.css")
    if os.path.isfile(css):
        found["style.css"] = (css, "text/css; charset=utf-8")
    return found


def create_app(core, *, on_start=None, on_stop=None, ui: bool = False, hosts: set[str] | None = None) -> FastAPI:
    """The API app; with `ui`, also the tab's page at /lora-manager/ui (needs gradio).
    `hosts`: the Host names to answer (api.gate.trusted_hosts); None answers any (tests' clients)."""
    @asynccontextmanager
    async def lifespan(_app):
        if on_start:
            on_start()
        try:
            yield
        finally:
            if on_stop:
                on_stop()

    app = FastAPI(
        title="LoRA Manager",
        version=__version__,
        description="Index, search and manage a LoRA library. Every route lives under " + PREFIX + ".",
        lifespan=lifespan,
        docs_url=None, redoc_url=None, swagger_ui_oauth2_redirect_url=None,  # /docs from local files, below
    )
    add_docs(app)
    for exc, handler in HANDLERS.items():
        app.add_exception_handler(exc, handler)
    register(app.add_api_route, core)
    assets = extension_assets()

    @app.get(ASSETS + "/{name}", include_in_schema=False)
    def asset(name: str):
        """The extension's page assets (what the host adds to its page), read-only, by exact name."""
        if name not in assets:
            return error_response(404, "not_found", "no such asset")
        path, mime = assets[name]
        return FileResponse(path, media_type=mime, headers={"Cache-Control": "no-cache"})

    if ui:
        from .page import mount_ui

        mount_ui(app, {name: path for name, (path, _) in assets.items()})  # "/" leads to the tab
    else:
        @app.get("/", include_in_schema=False)
        def root():
            return RedirectResponse("/docs")

    if core.settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=core.settings.cors_origins, allow_methods=["*"],
                           allow_headers=["X-API-Key", "Authorization", "Content-Type"])
    app.add_middleware(RequestGate, hosts=hosts, origins=core.settings.cors_origins)
    from starlette.middleware.gzip import GZipMiddleware

    app.add_middleware(GZipMiddleware, minimum_size=4096, compresslevel=5)
    from ..api.routes import routes

    bigger = {PREFIX + r.path: r.max_body for r in routes(core) if r.max_body}  # uploads: archives, images
    app.add_middleware(Guard, max_body=core.settings.max_body_bytes, bigger=bigger)
    return app
