"""The hosts of one library: this host's heartbeat row, and the list GET /hosts answers."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)
BEAT = 10.0  # seconds between heartbeats
ALIVE = 3 * BEAT  # a host not heard from for this long is shown as gone


class HostsService:
    def __init__(self, store, host_id: str, settings, *, kind: str, jobs, family: Callable[[], str | None],
                 shared: bool, beat: float = BEAT):
        self.store = store
        self.host_id = host_id
        self.settings = settings
        self.kind = kind
        self.jobs = jobs
        self.family = family
        self.shared = shared
        self.interval = beat
        self.checkpoint: Callable[[], str | None] | None = None  # set by a host adapter
        self.notices = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.started_at = time.time()

    @property
    def changes(self) -> int:
        """Changes other hosts made that reached this one (GET /system: a tab reloads when it moves)."""
        return self.notices.received if self.notices is not None else 0

    def status(self) -> dict[str, Any]:
        """What this host says of itself now."""
        # this host's jobs (a queue shared through Redis lists every host's: each says its host)
        jobs = [j for j in self.jobs.list() if j.get("host") in (None, self.host_id)]
        checkpoint = None
        if self.checkpoint is not None:
            try:
                checkpoint = self.checkpoint()
            except Exception:  # the host's state is a reading: never fail over it
                log.debug("loaded checkpoint unknown", exc_info=True)
        return {"name": socket.gethostname() or "host", "kind": self.kind, "roots": list(self.settings.lora_dirs),
                "checkpoint": checkpoint, "family": self.family(),
                "busy": any(j["status"] == "running" for j in jobs),
                "queue_depth": sum(j["status"] == "queued" for j in jobs)}

    def start(self) -> None:
        if not self.shared or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="lora-manager-heartbeat", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self.notices is not None:
            self.notices.stop()
        if self._thread is not None:
            self._thread.join(3)

    def _run(self) -> None:
        first = True
        while not self._stop.is_set():
            try:
                self.store.beat(self.host_id, self.status(), started=first)
                first = False
            except Exception:  # the database is away for a moment: the next beat tries again
                log.warning("heartbeat not written", exc_info=True)
            self._stop.wait(self.interval)

    def list(self) -> list[dict[str, Any]]:
        """Every host seen (this one live), newest first, each with `alive` and `this`."""
        now = time.time()
        me = {"host_id": self.host_id, **self.status(), "started_at": self.started_at, "last_seen": now,
              "shared_queue": self.jobs.shared_queue()}
        rows = []
        if self.shared:
            for row in self.store.hosts():
                if row["host_id"] == self.host_id:
                    continue
                row["started_at"] = row["started_at"].timestamp()
                row["last_seen"] = row["last_seen"].timestamp()
                row["shared_queue"] = None  # only the answering host knows its own
                rows.append(row)
        out = [me, *rows]
        for row in out:
            row["this"] = row["host_id"] == self.host_id
            row["alive"] = row["this"] or now - row["last_seen"] <= max(ALIVE, 3 * self.interval)
        return out
