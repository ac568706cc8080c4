"""Wiring of several hosts on one library into the core (app.build calls both functions)."""

from __future__ import annotations

import dataclasses

from ..storage.host_store import HostStore
from ..storage.location_store import HostScanStore
from .identity import host_id, shared
from .root_guard import RootGuard
from .service import HostsService


def shared_stores(settings, db, stores):
    """With a shared library: this host's id on the `Db` (reads show its locations) and its scan store.
    Returns (stores, guard or None)."""
    if not shared(settings, db.dialect):
        return stores, None
    me = host_id(settings)
    db.host = me
    scan = HostScanStore(stores.scan, me, settings.lora_dirs)
    guard = RootGuard(HostStore(db), me, settings.scan_wait) if db.dialect == "postgresql" else None
    return dataclasses.replace(stores, scan=scan), guard


def hosts_service(settings, db, events, jobs, family, *, kind: str) -> HostsService:
    """The hosts service; with a shared library on PostgreSQL its heartbeat and change notices run."""
    on = db.host is not None
    store = HostStore(db)
    service = HostsService(store, db.host or host_id(settings), settings, kind=kind, jobs=jobs, family=family,
                           shared=on)
    if on and db.dialect == "postgresql":
        from .notices import Notices

        service.notices = Notices(store, db.host, events, db)
        service.notices.start()
        service.start()
    return service
