"""Liveness, the system's state (version, database health, library counts, background work) and
the vocabulary a client draws with (base-model families, entry fields)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ... import __version__
from ...catalog.vocabulary import vocabulary
from ...errors import LoraManagerError
from ..responses import JSON


def health() -> Response:
    return JSON({"status": "ok"})


def system(core) -> Response:
    return JSON(system_info(core))


JOBS_ELSEWHERE = "jobs run inside SDNext: start the extension in SDNext to run them"


def meta(core) -> Response:
    """The vocabulary, whether jobs can run here (only inside the host, which gives the queue a runner) and
    the state of the queue shared through Redis (off, or Redis reachable or not)."""
    available = core.jobs.runner is not None
    return JSON({**vocabulary(), "jobs": {"available": available, "reason": None if available else JOBS_ELSEWHERE,
                                          "shared_queue": core.jobs.shared_queue()}})


def system_info(core) -> dict[str, Any]:
    """Always answers: a down, damaged or full database is a reading here, not a failure (docs/data-safety.md)."""
    try:
        core.db.ping()
        db: dict[str, Any] = {"kind": core.db.kind, "healthy": True}
    except Exception as exc:
        db = {"kind": core.db.kind, "healthy": False, "error": str(getattr(exc, "message", exc))[:300]}
    counts: dict[str, int] = {}
    hashing: dict[str, Any] = core.hasher.status()
    if db["healthy"]:
        try:
            counts = core.catalog.counts()
            hashing = core.hasher.full_status()
        except LoraManagerError:
            pass  # damaged: recorded as the health problem just below
    problem = core.db.health.problem  # disk full or damaged, until a write succeeds again
    if problem is not None:
        db.update(healthy=False, error=problem["message"], problem=problem)
    return {
        "version": __version__,
        "database": db,
        "library": {**counts, "total": sum(counts.values())},
        "roots": core.settings.lora_dirs,
        "background": {"scan": core.scans.status(), "hashing": hashing, "event_subscribers": core.events.subscribers,
                       # moves with each change another host sharing the library made: a tab reloads on it
                       "library_changes": core.hosts.changes if core.hosts is not None else 0,
                       # moves when files changed here (a job's preview written beside its LoRA, say): likewise
                       "file_changes": core.events.file_changes,
                       "shared": bool(core.hosts is not None and core.hosts.shared)},
        "host": core.host,
    }
