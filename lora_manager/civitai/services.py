"""Wiring of update checks and downloads into the core: built idle by app.build, started by a
server or the host after start-up, closed with the core. httpx loads with the first request."""

from __future__ import annotations

import threading


class Library:
    """What update checks and downloads need of the index, in one place: the database, the catalog's
    reads, the scan store's insert and the core's change signal."""

    def __init__(self, app, stores):
        self.app = app
        self.stores = stores

    @property
    def engine(self):
        return self.app.db.engine

    def resolve(self, key) -> int:
        """A LoRA's id from any key (id, prompt name, file name, hash); NotFound otherwise."""
        return self.app.catalog.resolve(key)

    def where(self, lora_id: int):
        """(path, root, state) of a LoRA, or None."""
        return self.stores.catalog.paths([lora_id]).get(lora_id)

    def add_file(self, path: str, root: str) -> int | None:
        """Index one file that just landed (a scan would find it too; the row is the same); its id."""
        from ..library.probe import probe
        from ..library.walker import entry_for

        entry = entry_for(path, root)
        if entry is None:
            return None
        row = probe(entry).as_row()
        with self.app.files.lock:  # scans write under this lock: the path is indexed once
            if self.stores.user.id_at_path(path) is None:
                self.stores.scan.insert_files([row])
            return self.stores.user.id_at_path(path)

    def changed(self) -> None:
        """Files were added or moved: the core's change signal (the host refreshes its list)."""
        self.app.events.library_changed()


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


def attach(app, stores) -> None:
    """app.civitai_updates and app.civitai_downloads, idle until used or started."""
    from ..storage.civitai_dl_store import SqlCivitaiDlStore
    from .downloads import Downloads
    from .updates import UpdateChecker

    library = Library(app, stores)
    store = SqlCivitaiDlStore(app.db)
    clients = Clients(app.settings)
    app.civitai_clients = clients
    app.civitai_updates = UpdateChecker(library, store, clients, hours=app.settings.civitai_update_hours,
                                        publish=app.events.publish)
    app.civitai_downloads = Downloads(app, library, store, clients, workers=app.settings.civitai_downloads,
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
