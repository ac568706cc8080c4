"""The database's health as the running process saw it last: a disk-full or damaged database
stays "unhealthy" in /system until a write succeeds again (docs/data-safety.md)."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine, event

from ..errors import DatabaseDamaged, DatabaseUnusable, DiskFull

PROBLEMS = (DiskFull, DatabaseDamaged, DatabaseUnusable)


class StorageHealth:
    def __init__(self, engine: Engine):
        self.problem: dict[str, Any] | None = None
        # Registered after make_engine's own handler, so the error seen here is already ours.
        event.listen(engine, "handle_error", self._on_error)
        event.listen(engine, "after_cursor_execute", self._on_execute)
        event.listen(engine, "commit", self._on_commit)

    def _on_error(self, ctx) -> None:
        exc = getattr(ctx, "chained_exception", None)  # set only when an earlier handler made one of ours
        if isinstance(exc, PROBLEMS):
            self.problem = {"code": exc.code, "message": exc.message, "since": time.time(), **exc.details}

    @staticmethod
    def _on_execute(conn, _cursor, _statement, _params, context, _many) -> None:
        if context is not None and (context.isinsert or context.isupdate or context.isdelete):
            conn.info["lora_manager_wrote"] = True

    def _on_commit(self, conn) -> None:
        # A failing commit reports its error after this, which sets the problem again.
        if conn.info.pop("lora_manager_wrote", False):
            self.problem = None
