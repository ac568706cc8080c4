"""Shared pieces of the browser tests of the tab's folders, filters, duplicates, previews and organize
(issue 17): a small real library, a page on the real standalone server, and `api_lacks`, which tells
whether a route (or a parameter of one) is missing from the API's OpenAPI schema on this branch, so
that tests of parts of the tab whose routes are built elsewhere skip until those routes are merged.
"""

from __future__ import annotations

import functools
import shutil
import tempfile
from contextlib import contextmanager

from PIL import Image

from .browser import Server, tab_page, wait_for
from .loras import write_lora

P = "/lora-manager/v1"
UI = "/lora-manager/ui/"


@functools.cache
def _schema() -> dict:
    """The OpenAPI schema of every route, read off the route table (the services are never called)."""
    from unittest.mock import MagicMock

    from fastapi import FastAPI

    from lora_manager.api.routes import register

    core = MagicMock()
    core.settings.data_dir = tempfile.gettempdir()
    core.settings.api_key = None
    core.settings.max_body_bytes = 1 << 20
    app = FastAPI()
    register(app.add_api_route, core)
    return app.openapi()


def api_lacks(method: str, path: str, param: str | None = None, value: str | None = None) -> bool:
    """True when `method path` (below /lora-manager/v1) is not in the schema, or lacks query
    parameter `param`, or (with `value`) the parameter's pattern does not mention `value`."""
    try:
        op = _schema()["paths"].get(P + path, {}).get(method.lower())
    except Exception:  # noqa: BLE001 - a route table that cannot be read: run the tests, let them tell
        return False
    if op is None:
        return True
    if param is None:
        return False
    found = [p for p in op.get("parameters", []) if p.get("name") == param]
    if not found:
        return True
    return value is not None and value not in str(found[0].get("schema", {}))


def bulk_lacks(action: str) -> bool:
    """True when POST /loras/bulk does not take `action` on this branch."""
    import json

    try:
        return f'"{action}"' not in json.dumps(_schema()["components"]["schemas"].get("BulkEdit", {}))
    except Exception:  # noqa: BLE001 - as in api_lacks
        return False


def library(root) -> dict[str, str]:
    """Five LoRAs in three folders (one nested), two of them the same bytes; a preview for one.
    Returns prompt name -> relative path."""
    files = {
        "ink": ("styles/ink.safetensors", "sd1",
                {"modelspec.title": "Ink Wash", "modelspec.trigger_phrase": "inkwash"}),
        "neon": ("styles/neon/neon.safetensors", "xl", {"modelspec.title": "Neon City"}),
        "mira": ("chars/mira.safetensors", "xl", {"modelspec.title": "Mira"}),
        "plain": ("plain.safetensors", "sd1", {}),
    }
    out = {}
    for i, (name, (rel, family, meta)) in enumerate(files.items()):
        write_lora(root / rel, family=family, seed=i + 1, metadata=meta)
        out[name] = rel
    shutil.copyfile(root / files["mira"][0], root / "chars" / "mira_copy.safetensors")
    out["mira_copy"] = "chars/mira_copy.safetensors"
    Image.new("RGB", (32, 32), (250, 0, 0)).save(root / "styles" / "ink.preview.png")
    return out


@contextmanager
def served_library(tmp_path):
    lib = tmp_path / "lib"
    files = library(lib)
    server = Server(str(lib), str(tmp_path / "data"), env={"LORA_MANAGER_WATCH_INTERVAL": "0"})
    try:
        # as Server.settled, with room for a machine shared with other test runs
        wait_for(lambda: (server.api("GET", "/loras")["total"] == len(files)
                          and not server.api("GET", "/scans/current")["running"]
                          and server.api("GET", "/hashing")["pending_files"] == 0), timeout=300)
        yield server, lib, files
    finally:
        print(server.stop())


def open_tab(browser, server, width: int = 1400):
    """The tab in a fresh browser context, dialogs confirmed; page errors and CSP refusals fail the test."""
    return tab_page(browser, server.base, UI, width=width, accept_dialogs=True)


def card_names(page) -> list[str]:
    return sorted(page.locator(".lm-card:not(.lm-placeholder) .lm-card-name").all_inner_texts())


def loaded(page, before: str) -> None:
    """Wait until the list was loaded again after `before` (the mount point's data-loaded)."""
    page.wait_for_function("(b) => document.querySelector('#lm-app').dataset.loaded !== b", arg=before)


def generation(page) -> str:
    """The list's data-loaded, once no reload is on its way: a reload that lands after this was read
    (one a move or a poll started) would otherwise pass for the one the test's next step starts."""
    page.wait_for_function("() => !document.querySelector('#lm-app').dataset.busy")
    return page.evaluate("document.querySelector('#lm-app').dataset.loaded || ''")


def save_preset_and_clear(page, name: str) -> None:
    """Save the filters as preset `name`, then clear them and wait for the full list."""
    page.fill("input[aria-label='preset name']", name)
    page.click("button:text-is('Save preset')")
    before = generation(page)
    page.click("button:text-is('Clear filters')")
    loaded(page, before)
