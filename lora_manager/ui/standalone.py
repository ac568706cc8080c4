"""The tab in the standalone server: the same Blocks, mounted at /lora-manager/ui,
with our scripts and style sheet added to the page the way the host adds them
(the files themselves are served by the standalone app's assets route)."""

from __future__ import annotations

import os

from fastapi.responses import RedirectResponse

from .tab import TITLE, build_tab

UI_PATH = "/lora-manager/ui"
ASSETS_PATH = "/lora-manager/assets"


def _head_tags(files: dict[str, str]) -> str:
    stamp = lambda p: int(os.stat(p).st_mtime)  # noqa: E731 - cache-busting version per file
    tags = [f'<link rel="stylesheet" href="{ASSETS_PATH}/{n}?v={stamp(p)}">' for n, p in files.items() if n.endswith(".css")]
    # the page is mounted below /lora-manager/ui: tell the scripts where the API is
    tags.append('<script>window.loraManagerApiBase = "/lora-manager/v1";</script>')
    tags += [f'<script defer src="{ASSETS_PATH}/{n}?v={stamp(p)}"></script>' for n, p in files.items() if n.endswith(".js")]
    return "".join(tags)


def mount_ui(app, files: dict[str, str]) -> None:
    """Mount the tab's page; `files` are the assets ({name: path}) the page should load."""
    import gradio as gr
    import gradio.routes

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
        res.body = res.body.replace(b"</head>", str(response._lora_manager).encode() + b"</head>", 1)
        res.init_headers()
        return res

    response._lora_manager = tags
    templates.TemplateResponse = response
