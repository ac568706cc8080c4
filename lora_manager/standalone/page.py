"""The tab in the standalone server: the same Blocks, mounted at /lora-manager/ui,
with our scripts and style sheet added to the page the way the host adds them
(the files themselves are served by the standalone app's assets route).

Of gradio's own routes only what draws the page is reachable (ShellOnly): the page,
its built assets and the theme's style sheet. Everything the tab shows comes from
our API through javascript/, so gradio's file, upload, proxy, queue and API routes
answer 404 (they would read files, store uploads and call other servers without
the API key). See docs/security.md.
"""

from __future__ import annotations

import os

from fastapi.responses import RedirectResponse

from .pages import local_only, with_nonce
from ..api.responses import error_response
from ..ui.tab import TITLE, build_tab

UI_PATH = "/lora-manager/ui"
ASSETS_PATH = "/lora-manager/assets"


def _head_tags(files: dict[str, str]) -> str:
    stamp = lambda p: int(os.stat(p).st_mtime)  # noqa: E731 - cache-busting version per file
    tags = [
        f'<link rel="stylesheet" href="{ASSETS_PATH}/{n}?v={stamp(p)}">' for n, p in files.items() if n.endswith(".css")
    ]
    # the page is mounted below /lora-manager/ui: tell the scripts where the API is
    tags.append('<script>window.loraManagerApiBase = "/lora-manager/v1";</script>')
    tags += [
        f'<script defer src="{ASSETS_PATH}/{n}?v={stamp(p)}"></script>' for n, p in files.items() if n.endswith(".js")
    ]
    return "".join(tags)


def mount_ui(app, files: dict[str, str]) -> None:
    """Mount the tab's page; `files` are the assets ({name: path}) the page should load."""
    import gradio as gr
    import gradio.routes

    from starlette.routing import Mount

    app.add_api_route("/", lambda: RedirectResponse(UI_PATH + "/"), methods=["GET"], include_in_schema=False)
    blocks = build_tab(mode="standalone")
    blocks.title = TITLE
    blocks.show_api = False  # no "use via API" footer: gradio's API routes are closed
    _inject_assets(gradio.routes, _head_tags(files))
    gr.mount_gradio_app(app, blocks, path=UI_PATH)
    mount = next(r for r in app.routes if isinstance(r, Mount) and r.path == UI_PATH)
    build = gradio.routes.BUILD_PATH_LIB
    mount.app = ShellOnly(mount.app, {n for n in os.listdir(build) if os.path.isfile(os.path.join(build, n))})


class ShellOnly:
    """ASGI wrapper of the mounted gradio app: GET/HEAD of the page, its built assets
    (by exact name, from gradio's build folder) and the theme's CSS; 404 for the rest."""

    PAGES = ("", "/", "/theme.css")

    def __init__(self, app, assets: set[str]):
        self.app = app
        self.assets = assets

    def allows(self, method: str, sub: str) -> bool:
        if method not in ("GET", "HEAD"):
            return False
        if sub in self.PAGES:
            return True
        return sub.startswith("/assets/") and sub[len("/assets/"):] in self.assets

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket":
            return await send({"type": "websocket.close", "code": 1008})
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        root = scope.get("root_path", "")
        path = scope["path"]
        sub = path[len(root):] if path.startswith(root) else path
        if not self.allows(scope["method"], sub):
            return await error_response(404, "not_found", "not found")(scope, receive, send)
        await self.app(scope, receive, send)


def _inject_assets(routes_module, tags: str) -> None:
    """Wrap gradio's page template so that the page loads our scripts, as SDNext and
    A1111 do for extensions. Done once per process; only the standalone server
    (our own process) does it."""
    templates = routes_module.templates
    if getattr(templates.TemplateResponse, "_lora_manager", False):
        templates.TemplateResponse._lora_manager = tags  # newest tags win
        return
    original = templates.TemplateResponse

    def response(*args, **kwargs):
        res = original(*args, **kwargs)
        body = local_only(res.body.replace(b"</head>", str(response._lora_manager).encode() + b"</head>", 1))
        res.body, policy = with_nonce(body)
        res.init_headers()
        res.headers["content-security-policy"] = policy
        return res

    response._lora_manager = tags
    templates.TemplateResponse = response
