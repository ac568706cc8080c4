"""The "LoRA Manager" tab as a Gradio 3.x Blocks, for the host and the standalone page."""

from __future__ import annotations

import html
import json

TITLE = "LoRA Manager"
ELEM_ID = "lora_manager"  # the host wraps it as #tab_lora_manager
API_PATH = "/lora-manager/v1"


def root_html(*, mode: str, api: str = API_PATH) -> str:
    """The mount point our script fills. `mode` is "host" (send-to-prompt actions on)
    or "standalone"; `api` is the API prefix below the page's origin. It carries the
    server's vocabulary (families, a card's fields: GET /meta) so the tab draws at once."""
    from ..catalog.vocabulary import vocabulary

    meta = html.escape(json.dumps(vocabulary(), separators=(",", ":")))
    return (
        f'<div id="lm-app" class="lm-app" data-mode="{html.escape(mode)}" data-api="{html.escape(api)}" '
        f'data-meta="{meta}">'
        '<div class="lm-boot">Loading LoRA Manager…</div>'
        '<noscript>LoRA Manager needs JavaScript.</noscript>'
        "</div>"
    )


def build_tab(*, mode: str = "host", api: str = API_PATH):
    """A Blocks holding the mount point; everything inside is drawn by our script."""
    import gradio as gr

    theme = None
    if mode == "standalone":
        # Gradio's default theme fetches its fonts from the internet; a page that waits on
        # an unreachable font host shows late (seconds, where DNS does not answer).
        local = ["ui-sans-serif", "system-ui", "sans-serif"]
        theme = gr.themes.Default(font=local, font_mono=["ui-monospace", "Consolas", "monospace"])
    with gr.Blocks(analytics_enabled=False, theme=theme) as blocks:
        gr.HTML(root_html(mode=mode, api=api), elem_id="lm-root")
    return blocks


def on_ui_tabs():
    """The host's `on_ui_tabs` callback: one tab, built without touching the core
    (the core starts later, in the background; the script waits for the API)."""
    return [(build_tab(mode="host"), TITLE, ELEM_ID)]
