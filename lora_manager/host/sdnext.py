"""The SDNext (and A1111) adapter: settings from the host, API routes through the host.

Imported only from `scripts/lora_manager.py`, inside the host process. Nothing
here does heavy work at import: the host's start-up waits for every script.
"""

from __future__ import annotations

import logging
import os
import threading

from ..errors import LoraManagerError
from ..settings import Settings

log = logging.getLogger("lora_manager")


def _opt(cmd_opts, name, default=None):
    return getattr(cmd_opts, name, default)


def host_info() -> dict:
    """Host name and, where the host says it, its version. Never raises."""
    try:
        from modules import shared
    except ImportError:
        return {"name": "unknown", "version": None}
    name = "SDNext" if hasattr(shared, "api") else "AUTOMATIC1111"
    version = None
    try:  # SDNext's installer reports {app, updated, commit, ...}; unverified beyond that shape
        import installer  # type: ignore[import-not-found]

        info = installer.get_version()
        if isinstance(info, dict):
            version = " ".join(str(info[k]) for k in ("app", "updated", "commit") if info.get(k)) or None
    except Exception:  # an older host, or not SDNext: no version rather than a failure
        version = None
    return {"name": name, "version": version}


def settings_from_host() -> Settings:
    from modules import shared

    opts = shared.cmd_opts
    roots = [_opt(opts, "lora_dir") or os.path.join("models", "Lora")]
    roots += _opt(opts, "lora_manager_lora_dir") or []
    data_root = _opt(opts, "data_dir") or os.getcwd()
    return Settings.from_env(
        lora_dirs=roots,
        data_dir=_opt(opts, "lora_manager_data_dir") or os.path.join(data_root, "data", "lora-manager"),
        db_url=_opt(opts, "lora_manager_db"),
        api_key=_opt(opts, "lora_manager_api_key"),
        redis_url=_opt(opts, "lora_manager_redis"),
        host_id=_opt(opts, "lora_manager_host_id"),
        civitai_url=_opt(opts, "lora_manager_civitai_url"),
        civitai_key=_opt(opts, "lora_manager_civitai_key"),
        embed_model="off" if _opt(opts, "lora_manager_no_recommender") else None,
    )


class SDNextAdapter:
    """LoRA Manager inside one host process: built by `scripts/lora_manager.py`, which hands the
    host's callbacks to it. The core it starts is kept on the host's FastAPI app, so a UI reload
    (the host runs our scripts file again) finds it there instead of starting a second one."""

    def __init__(self) -> None:
        self.starter: threading.Thread | None = None
        self.core = None

    def on_app_started(self, _demo, app) -> None:
        """Return at once: opening the database (migrations), mounting the routes and the
        first scan all happen on a background thread, never on the host's start-up."""
        earlier = getattr(getattr(app, "state", None), "lora_manager", None)
        if earlier is not None and earlier is not self:  # the host re-ran our scripts file: take over
            earlier.ready(None)
            self.starter, self.core = earlier.starter, earlier.core
            app.state.lora_manager = self
            return
        if self.starter is not None:
            return  # the host re-ran start-up (UI reload): everything is there already
        if getattr(app, "state", None) is not None:
            app.state.lora_manager = self
        self.starter = threading.Thread(target=self._start, args=(app,), name="lora-manager-start", daemon=True)
        self.starter.start()

    def _start(self, app) -> None:
        try:
            from ..api.routes import register
            from ..app import build
            from .jobs_runner import HostRunner

            core = build(settings_from_host(), host=host_info())
            core.jobs.runner = HostRunner(os.path.join(core.settings.data_dir, "outputs"), recorder=core.recorder)
            core.events.on_library_changed(lambda _change: refresh_host_list(), files_only=True)
            from .model_family import loaded_checkpoint, loaded_family

            core.host_model_family = loaded_family
            core.hosts.checkpoint = loaded_checkpoint  # GET /hosts
            core.transfer.sidecars_enabled = lambda: (
                core.settings.write_sidecars or _option("lora_manager_write_sidecars")
            )
            core.transfer.start()  # the day's automatic backup, on its own thread
            from modules import shared

            host_api = getattr(shared, "api", None)
            if host_api is not None and hasattr(host_api, "add_api_route"):
                # SDNext: the host's own registration applies its --auth and --subpath.
                register(lambda path, endpoint, **kw: host_api.add_api_route(path, endpoint, auth=True, **kw), core)
            else:
                register(app.add_api_route, core)
            self.core = core
            core.scans.start("startup")
            core.recommender.start()  # its own thread: reads the library, then loads the model (CPU unless asked)
            from ..civitai import services as civitai_services

            civitai_services.start(core)  # the download queue is ours; update checks on their daily timer
        except LoraManagerError as exc:  # damaged database, disk full, bad folder: the message says what to do
            log.error("LoRA Manager could not start: %s", exc.message)
        except Exception:  # never raise into the host; the log says why we are absent
            log.exception("LoRA Manager could not start")

    def ready(self, timeout: float | None = None):
        """The core once started (tests, and code that needs to wait for it)."""
        if self.starter is not None:
            self.starter.join(timeout)
        return self.core

    def _recorder(self):
        return self.core.recorder if self.core is not None else None

    def before_process(self, p) -> None:
        if self._recorder() is not None and _option("lora_manager_record_usage"):
            from .recording import before

            before(p)

    def postprocess(self, p) -> None:
        recorder = self._recorder()
        if recorder is not None:
            from .recording import finish

            finish(p, recorder, done=True)

    def after_process(self, p) -> None:
        """SDNext calls this in a finally: interrupted and failed jobs end here."""
        recorder = self._recorder()
        if recorder is not None:
            from .recording import finish

            finish(p, recorder, done=False)

    def install(self) -> None:
        from modules import script_callbacks

        _use_host_logging()
        script_callbacks.on_app_started(self.on_app_started)
        if hasattr(script_callbacks, "on_ui_tabs"):
            script_callbacks.on_ui_tabs(on_ui_tabs)
        if hasattr(script_callbacks, "on_ui_settings"):
            script_callbacks.on_ui_settings(on_ui_settings)
        if hasattr(script_callbacks, "on_after_process"):  # SDNext only; A1111 misses interrupted jobs
            script_callbacks.on_after_process(self.after_process)


def refresh_host_list() -> None:
    """Make the host's own LoRA list follow our scans, moves and renames."""
    if not _option("lora_manager_refresh_host_list"):
        return
    refresh = getattr(lora_registry(), "list_available_networks", None)
    if refresh is not None:
        refresh()
        refresh_lora_page()


def refresh_lora_page() -> None:
    """Re-list the host's Lora networks page, as SDNext's own refresh does: the page keeps its cards (and
    their preview paths) until then, so a preview we wrote showed as missing in the host's Networks panel
    and in `GET /sdapi/v1/extra-networks` until the user pressed the host's refresh."""
    try:
        from modules import shared
    except ImportError:
        return
    for page in list(getattr(shared, "extra_networks", None) or []):
        if getattr(page, "name", "") != "lora" or not hasattr(page, "create_items"):
            continue
        page.refresh_time = 0  # the page's cached items are older than anything now
        if hasattr(page, "page_time"):
            page.page_time = 0  # and its HTML is drawn again when next shown
        page.create_items("txt2img")


def lora_registry():
    """The host's LoRA list module: SDNext's `modules.lora.lora_load`, A1111's `networks`; None elsewhere."""
    try:
        from modules.lora import lora_load  # SDNext
    except ImportError:
        try:
            import networks as lora_load  # A1111's built-in Lora extension
        except ImportError:
            return None
    return lora_load


SECTION = ("lora_manager", "LoRA Manager")
# key: (default, label) — shown in the host's settings page under SECTION
OPTIONS = {
    "lora_manager_record_usage": (True, "Record which LoRAs each generation used (for usage counts and analytics)"),
    "lora_manager_refresh_host_list": (True, "Refresh the host's LoRA list after LoRA Manager scans, moves or renames"),
    # read by javascript/lora_manager_autocomplete.js from the page's `opts`
    "lora_manager_autocomplete": (
        True,
        "Prompt autocomplete: suggest LoRAs while typing <lora: or a name, trigger word or tag",
    ),
    "lora_manager_autocomplete_triggers": (True, "Prompt autocomplete: also insert the LoRA's trigger words"),
    "lora_manager_write_sidecars": (False, "Also write your trigger words, preferred weight, notes and negative text "
                                           "into each LoRA's <name>.json (the user metadata this host reads)"),
}
# key: (default, label, choices) — shown as a radio group
CHOICES = {
    "lora_manager_autocomplete_incompatible": (
        "mark", "Prompt autocomplete: LoRAs whose base does not fit the loaded checkpoint", ["mark", "hide"]),
}


def on_ui_tabs():
    """The tab; built before the core exists (its script waits for the API)."""
    try:
        from ..ui.tab import on_ui_tabs as tabs

        return tabs()
    except Exception:  # a tab that cannot be built must not take the host's UI down
        log.exception("LoRA Manager: the tab could not be built")
        return []


def on_ui_settings() -> None:
    from modules import shared

    for key, (default, label) in OPTIONS.items():
        shared.opts.add_option(key, shared.OptionInfo(default, label, section=SECTION))
    if CHOICES:
        import gradio as gr  # the host's own gradio, loaded long before its settings page

        for key, (default, label, choices) in CHOICES.items():
            shared.opts.add_option(key,
                                   shared.OptionInfo(default, label, gr.Radio, {"choices": choices}, section=SECTION))


def _option(key: str) -> bool:
    try:
        from modules import shared

        return bool(getattr(shared.opts, key, OPTIONS[key][0]))
    except ImportError:
        return OPTIONS[key][0]


def _use_host_logging() -> None:
    """SDNext sends the root logger to a NullHandler and hands its own handlers only to the
    loggers that exist once it has started: our start-up errors would be lost. Log
    through the host's handlers from the start instead."""
    host = logging.getLogger("sd")
    if host.handlers and not log.handlers:
        log.handlers = list(host.handlers)
        log.setLevel(logging.INFO)
        log.propagate = False
