"""`python -m lora_manager serve`: the API (and docs) on uvicorn, scanning in the background."""

from __future__ import annotations

import logging

from . import memtrim
from .app import App
from .errors import Conflict
from .watcher import Watcher

log = logging.getLogger(__name__)


def ui_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("gradio") is not None


def make_server_app(core: App, *, ui: bool = False):
    """The FastAPI app with start-up work: a first scan and the watcher, both in the background."""
    from .api.standalone import create_app

    watcher = Watcher(core.settings.lora_dirs, _scan_starter(core), lambda: core.scans.running,
                      interval=core.settings.watch_interval)

    # This process is ours: after a burst, idle database connections (each with its page cache,
    # up to 16 MiB on SQLite) are closed and freed memory goes back to the system.
    trimmer = memtrim.Trimmer(release=_pool_release(core))

    def on_start() -> None:
        trimmer.start()
        _scan_starter(core)("startup")
        watcher.start()
        if core.recommender is not None:
            core.recommender.start()  # reads the library and loads the model in its own thread

    def on_stop() -> None:
        trimmer.stop()
        watcher.stop()
        core.scans.wait(30)
        core.close()

    app = create_app(core, on_start=on_start, on_stop=on_stop, ui=ui)
    app.state.watcher = watcher
    return app


def _pool_release(core: App):
    engine = core.repo.engine
    if ":memory:" in str(engine.url) or str(engine.url) in ("sqlite://", "sqlite+pysqlite://"):
        return None  # an in-memory database lives in its connections
    return lambda: engine.dispose(close=True)  # connections in use finish their work and go then


def _scan_starter(core: App):
    def start(reason: str) -> None:
        try:
            core.scans.start(reason)
        except Conflict:
            pass  # one is running; it will see the change too, or the next check will

    return start


def serve(core: App, host: str, port: int, *, ui: bool = True) -> None:
    import uvicorn

    if ui and not ui_available():
        print("note: gradio is not installed, so the tab is off (see README: standalone tab); serving the API", flush=True)
        ui = False
    app = make_server_app(core, ui=ui)
    shown = f"[{host}]" if ":" in host else host
    page = f"tab at http://{shown}:{port}/lora-manager/ui/, " if ui else ""
    print(f"LoRA Manager listening on http://{shown}:{port}  ({page}API under /lora-manager/v1, docs at /docs)", flush=True)
    if host not in ("127.0.0.1", "localhost", "::1") and not core.settings.api_key:
        print("warning: listening beyond this machine without an API key (--api-key)", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
