"""`python -m lora_manager serve`: the API (and docs) on uvicorn, scanning in the background."""

from __future__ import annotations

import errno
import logging
import socket
import threading

from . import memtrim
from .gate import WILDCARD_BINDS
from ..app import App
from ..civitai import services as civitai_services
from ..errors import Conflict
from ..storage import ttl_cache
from ..sync.watcher import Watcher

log = logging.getLogger(__name__)


def ui_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("gradio") is not None


def make_server_app(core: App, *, ui: bool = False, bind: str = "127.0.0.1"):
    """The FastAPI app with start-up work: a first scan and the watcher, both in the background.
    It answers the Host names of api.gate.trusted_hosts (loopback, `bind`, the configured ones)."""
    from .gate import trusted_hosts
    from .app import create_app

    watcher = Watcher(core.settings.lora_dirs, _scan_starter(core), lambda: core.scans.running,
                      interval=core.settings.watch_interval, skip={core.settings.data_dir},
                      events=core.settings.watch_events)

    # This process is ours: after a burst, stale cached reads are dropped, idle database connections (each
    # with its page cache, up to 16 MiB on SQLite) are closed and freed memory goes back to the system.
    release = _pool_release(core)
    trimmer = memtrim.Trimmer(release=lambda: _let_go(release))

    def on_start() -> None:
        trimmer.start()
        _scan_starter(core)("startup")
        _when_settled(core, trimmer.nudge)  # the start-up work's page caches and freed memory go back
        watcher.start()
        if core.recommender is not None:
            core.recommender.start()  # reads the library and loads the model in its own thread
        civitai_services.start(core)  # the download queue is ours; update checks on their daily timer
        if core.transfer is not None:
            core.transfer.start()  # a backup when the last is a day old, in its own thread

    def on_stop() -> None:
        trimmer.stop()
        watcher.stop()
        core.scans.wait(30)
        if release is not None:
            release.close()
        core.close()

    app = create_app(core, on_start=on_start, on_stop=on_stop, ui=ui,
                     hosts=trusted_hosts(core.settings.allowed_hosts, bind))
    app.add_middleware(_Touch, touch=trimmer.touch)  # the trimmer hears when a burst of requests is over
    app.state.watcher = watcher
    app.state.trimmer = trimmer
    return app


class _Touch:
    """Tells the trimmer of each request (ASGI, around the whole app)."""

    def __init__(self, app, touch):
        self.app, self.touch = app, touch

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        self.touch()
        try:
            await self.app(scope, receive, send)
        finally:
            self.touch(begun=False)


def _let_go(release: PoolRelease | None) -> None:
    ttl_cache.purge_all()
    if release is not None:
        release()


def _pool_release(core: App) -> PoolRelease | None:
    engine = core.db.engine
    if ":memory:" in str(engine.url) or str(engine.url) in ("sqlite://", "sqlite+pysqlite://"):
        return None  # an in-memory database lives in its connections
    return PoolRelease(engine)


class PoolRelease:
    """Closes the idle pooled connections (connections in use finish their work and go then). On SQLite one
    connection, which reads nothing, stays open from the first release on: when the last connection to a
    database in WAL mode closes, SQLite deletes its WAL and the WAL's index, and a connection opened after that
    on a full disk cannot make them again, so reads would fail where they are promised to work."""

    def __init__(self, engine):
        self.engine = engine
        self.keeper = None

    def __call__(self) -> None:
        if self.keeper is None and self.engine.dialect.name == "sqlite":
            keeper = self.engine.connect()
            keeper.exec_driver_sql("SELECT 1 FROM sqlite_master LIMIT 1")  # opens the WAL and its index
            # The keeper is a pooled connection, maybe the one a scan read the whole library through: its page
            # cache (up to 16 MiB) would stay for the server's life. It reads nothing from now on.
            keeper.exec_driver_sql("PRAGMA shrink_memory")
            keeper.rollback()  # no read transaction held: checkpoints go past it
            self.keeper = keeper
        self.engine.dispose(close=True)

    def close(self) -> None:
        if self.keeper is not None:
            self.keeper.close()
            self.keeper = None


def _when_settled(core: App, then) -> None:
    """`then()` once the start-up scan and the passes it wakes (hashing, training tags) are done; from a daemon
    thread of its own, so that start-up never waits for them."""

    def wait() -> None:
        core.scans.wait()  # the scan wakes the passes before it ends
        core.hasher.wait()
        if core.scans.training is not None:
            core.scans.training.wait()
        then()

    threading.Thread(target=wait, name="lora-manager-settle", daemon=True).start()


def _scan_starter(core: App):
    def start(reason: str) -> None:
        try:
            core.scans.start(reason)
        except Conflict:
            pass  # one is running; it will see the change too, or the next check will

    return start


class PortInUse(OSError):
    pass


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything else starts (uvicorn is handed it as it is)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named: asyncio sets TCP_NODELAY only on sockets whose protocol says TCP, and
    # without it every answer written in two parts waits ~40 ms for the client's delayed ack.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: TIME_WAIT is no conflict
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(f"port {port} on {host} is already in use (another server? pick one with --port)") from None
        raise PortInUse(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def is_loopback(host: str) -> bool:
    import ipaddress

    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name: it may resolve to anything


def keyless_refusal(host: str, api_key: str, allow_no_key: bool) -> str | None:
    """Why `serve` will not start (None: it may): no key while listening beyond this machine."""
    if is_loopback(host) or api_key or allow_no_key:
        return None
    return (f"refusing to listen on {host} without an API key: anyone who reaches this machine could change the "
            "library. Give --api-key KEY (or LORA_MANAGER_API_KEY), or --allow-no-key on a network you trust.")


def serve(core: App, host: str, port: int, *, ui: bool = True, sock: socket.socket | None = None) -> None:
    import uvicorn

    if ui and not ui_available():
        print("note: gradio is not installed, so the tab is off (see README: standalone tab); serving the API",
              flush=True)
        ui = False
    if ui:
        from .deferred import defer

        defer()  # gradio's plot and table packages load only if drawn: this process is ours (deferred.py)
    app = make_server_app(core, ui=ui, bind=host)
    shown = f"[{host}]" if ":" in host else host
    page = f"tab at http://{shown}:{port}/lora-manager/ui/, " if ui else ""
    print(f"LoRA Manager listening on http://{shown}:{port}  ({page}API under /lora-manager/v1, docs at /docs)",
          flush=True)
    if not is_loopback(host) and not core.settings.api_key:
        print("warning: listening beyond this machine without an API key (--allow-no-key was given)", flush=True)
    if host in WILDCARD_BINDS and "*" not in core.settings.allowed_hosts:
        print("note: only requests naming 127.0.0.1, localhost" + "".join(", " + h for h in core.settings.allowed_hosts)
              + " are answered; add the names others use with --allowed-host NAME", flush=True)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    server.run(sockets=[sock or bind(host, port)])
