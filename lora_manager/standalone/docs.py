"""/docs: Swagger UI from files on this machine (the fastapi-offline package ships
them), so the page renders without internet; no /redoc (it would need its fonts
from another host)."""

from __future__ import annotations

import importlib.resources

from fastapi import Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

from .pages import local_only, with_nonce
from ..api.responses import error_response

DOCS = "/docs"
DOCS_ASSETS = DOCS + "/assets"
_FILES = {"swagger-ui-bundle.js": "text/javascript; charset=utf-8", "swagger-ui.css": "text/css; charset=utf-8",
          "favicon.png": "image/png"}


def add_docs(app) -> None:
    """Add /docs and its assets to `app` (a FastAPI made with docs_url=None, redoc_url=None)."""
    static = importlib.resources.files("fastapi_offline") / "static"
    files = {name: (str(static / name), mime) for name, mime in _FILES.items()}

    @app.get(DOCS, include_in_schema=False)
    def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = get_swagger_ui_html(
            openapi_url=root + app.openapi_url, title=app.title + " - API",
            swagger_js_url=f"{root}{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{DOCS_ASSETS}/favicon.png",
            swagger_ui_parameters={"validatorUrl": None},  # no badge fetched from the validator's host
        )
        body, policy = with_nonce(local_only(page.body))
        return HTMLResponse(body, headers={"Content-Security-Policy": policy, "Cache-Control": "no-cache"})

    @app.get(DOCS_ASSETS + "/{name}", include_in_schema=False)
    def docs_asset(name: str):
        if name not in files:  # a fixed list: no name reaches the disk
            return error_response(404, "not_found", "no such asset")
        path, mime = files[name]
        return FileResponse(path, media_type=mime, headers={"Cache-Control": "public, max-age=86400"})
