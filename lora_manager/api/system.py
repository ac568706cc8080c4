"""GET /system: version, database health (docs/data-safety.md), library counts, background work."""

from __future__ import annotations

from typing import Any

from .. import __version__
from ..errors import LoraManagerError


def hash_status(core) -> dict[str, Any]:
    pending, pending_bytes = core.hasher.pending_totals()
    return {**core.hasher.status(), "pending_files": pending, "pending_bytes": pending_bytes}


def system_info(core) -> dict[str, Any]:
    """Always answers: a down, damaged or full database is a reading here, not a failure."""
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
            hashing = hash_status(core)
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
        "background": {"scan": core.scans.status(), "hashing": hashing, "event_subscribers": core.events.subscribers},
        "host": core.host,
    }
