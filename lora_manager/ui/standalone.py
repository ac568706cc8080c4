"""The tab in the standalone server: the same Blocks, mounted at /lora-manager/ui,
with our scripts and style sheet added to the page the way the host adds them."""

from __future__ import annotations

import os
import re

from fastapi.responses import FileResponse, RedirectResponse

from .tab import TITLE, build_tab

UI_PATH = "/lora-manager/ui"
ASSETS_PATH = "/lora-manager/assets"
_EXT_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_ASSET_NAME = re.compile(r"^[a-z0-9_]+\.(js|css)$")


def asset_files() -> dict[str, str]:
    """The files a host would add to its page: every javascript/*.js, then style.css.
    A fixed allow-list: nothing else is ever served from here."""
    files: dict[str, str] = {}
    js_dir = os.path.join(_EXT_ROOT, "javascript")
    if os.path.isdir(js_dir):
        for name in sorted(os.listdir(js_dir)):
            if _ASSET_NAME.match(name) and name.endswith(".js"):
                files[name] = os.path.join(js_dir, name)
    css = os.path.join(_EXT_ROOT, "style.css")
    if os.path.isfile(css):
        files["style.css"] = css
    return files


def _head_tags(files: dict[str, str]) -> str:
    stamp = lambda p: int(os.stat(p).st_mtime)  # noqa: E731 - cache-busting version per file
    tags = [f'<link rel="stylesheet" href="{ASSETS_PATH}/{n}?v={stamp(p)}">' for n, p in files.items() if n.endswith(".css")]
    tags += [f'<script defer src="{ASSETS_PATH}/{n}?v={stamp(p)}"></script>' for n, p in files.items() if n.endswith(".js")]
    return "".join(tags)


def mount_ui(app) -> None:
    """Add the tab page and its assets to the standalone FastAPI app."""
    import gradio as gr
    import gradio.routes

    files = asset_files()

    def asset(name: str):
        path = files.get(name)
        if path is None:
            from ..errors import NotFound

            raise NotFound("no such asset")
        media = "text/css" if name.endswith(".css") else "text/javascript"
        return FileResponse(path, media_type=media, headers={"Cache-Control": "no-cache"})

    app.add_api_route(ASSETS_PATH + "/{name}", asset, methods=["GET"], include_in_schema=False)
    app.add_api_route("/", lambda: RedirectResponse(UI_PATH + "/"), methods=["GET"], include_in_schema=False)

    blocks = build_tab(mode="standalone")
    blocks.title = TITLE
    _inject_assets(gradio.routes, _head_tags(files))
    gr.mount_gradio_app(app, blocks, path=UI_PATH)


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
        res.body = res.body.replace(b"</head>", str(wrapper._lora_manager).encode() + b"</head>", 1)
        res.init_headers()
        return res

    wrapper = response
    wrapper._lora_manager = tags
    templates.TemplateResponse = wrapper
