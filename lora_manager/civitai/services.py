"""Wiring of update checks and downloads into the core: built idle by app.build, started by a
server or the host after start-up, closed with the core. httpx loads with the first request."""

from __future__ import annotations

import threading


class Clients:
    """One Civitai client for the core's update checks and downloads: one pace for both."""

    def __init__(self, settings):
        self.settings = settings
        self.stop = threading.Event()
        self._client = None
        self._lock = threading.Lock()

    def get(self):
        with self._lock:
            if self._client is None:
                from .client import CivitaiClient

                s = self.settings
                self._client = CivitaiClient(s.civitai_url, key=s.civitai_key, rate=s.civitai_rate,
                                             timeout=s.civitai_timeout, stop=self.stop)
            return self._client

    def close(self) -> None:
        self.stop.set()
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None


def attach(app) -> None:
    """app.civitai_updates and app.civitai_downloads, idle until used or started."""
    from ..storage.civitai_dl_store import SqlCivitaiDlStore
    from .downloads import Downloads
    from .updates import UpdateChecker

    store = SqlCivitaiDlStore(app.repo.engine)
    clients = Clients(app.settings)
    app.civitai_clients = clients
    app.civitai_updates = UpdateChecker(app, store, clients, hours=app.settings.civitai_update_hours,
                                        publish=app.events.publish)
    app.civitai_downloads = Downloads(app, store, clients, workers=app.settings.civitai_downloads,
                                      publish=app.events.publish)


def start(app) -> None:
    """A long-running owner (the server, the host) takes the queue over and checks for updates daily."""
    if app.civitai_downloads is not None:
        app.civitai_downloads.recover()
    if app.civitai_updates is not None:
        app.civitai_updates.start_background()


def close(app) -> None:
    """Running downloads pause (resumable), a running check ends; a wait for Civitai ends at once."""
    clients = getattr(app, "civitai_clients", None)
    if app.civitai_updates is not None:
        app.civitai_updates.close()
    if clients is not None:
        clients.stop.set()
    if app.civitai_downloads is not None:
        app.civitai_downloads.close()
    if clients is not None:
        clients.close()
