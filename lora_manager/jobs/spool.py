"""The jobs this host sent to the shared queue, kept on disk until they end (jobs/shared.py).

Redis may keep nothing on disk: if it restarts, the queued jobs would be gone. Each host keeps the jobs it
submitted in a small JSON file (written whole, atomically) and sends again any that Redis no longer has.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import orjson

MAX_JOBS = 10_000


class Spool:
    def __init__(self, path: str):
        self.path = path
        self._lock = threading.Lock()
        self._jobs: dict[str, dict[str, Any]] = self._read()

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            with open(self.path, "rb") as f:
                data = orjson.loads(f.read())
            return data if isinstance(data, dict) else {}
        except FileNotFoundError:
            return {}
        except (OSError, orjson.JSONDecodeError):  # a damaged spool is set aside, never a crash
            os.replace(self.path, self.path + ".damaged")
            return {}

    def _write(self) -> None:
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        tmp = f"{self.path}.{os.getpid()}.tmp"
        with open(tmp, "wb") as f:
            f.write(orjson.dumps(self._jobs))
        os.replace(tmp, self.path)

    def add(self, job_id: str, data: dict[str, Any], host: str, priority: str) -> None:
        with self._lock:
            if len(self._jobs) >= MAX_JOBS:
                self._jobs.pop(next(iter(self._jobs)))
            self._jobs[job_id] = {"data": data, "host": host, "priority": priority}
            self._write()

    def remove(self, job_id: str) -> None:
        with self._lock:
            if self._jobs.pop(job_id, None) is not None:
                self._write()

    def items(self) -> list[tuple[str, dict[str, Any]]]:
        with self._lock:
            return list(self._jobs.items())
