"""Record generations without slowing them: the host's thread only enqueues.

A writer thread stores events in batches. Recording never raises into the
caller: a database outage keeps events in memory (up to a cap) and retries.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from collections.abc import Callable

from .prompts import parse_loras

if TYPE_CHECKING:
    from ..storage.usage_store import UsageStore

log = logging.getLogger(__name__)
MAX_BACKLOG = 10_000
MAX_PROMPT = 4_000
OUTCOMES = ("done", "interrupted", "failed")


@dataclass(slots=True)
class GenerationEvent:
    started_at: datetime
    outcome: str = "done"
    finished_at: datetime | None = None
    source: str | None = None
    checkpoint: str | None = None
    checkpoint_family: str | None = None
    seed: int | None = None
    steps: int | None = None
    width: int | None = None
    height: int | None = None
    sampler: str | None = None
    prompt: str | None = None
    negative_prompt: str | None = None
    error: str | None = None
    requested: list[dict[str, Any]] = field(default_factory=list)  # prompts.LoraRef.as_dict()
    applied: list[dict[str, Any]] = field(default_factory=list)  # {"name", "te", "unet"} as the host applied them

    @classmethod
    def from_prompt(cls, prompt: str, **kwargs) -> GenerationEvent:
        """An event whose requested LoRAs are parsed from the prompt's tags."""
        return cls(prompt=prompt, requested=[r.as_dict() for r in parse_loras(prompt)], **kwargs)

    def as_row(self) -> dict[str, Any]:
        row = asdict(self)
        if row["outcome"] not in OUTCOMES:
            row["outcome"] = "failed"
        for key in ("prompt", "negative_prompt", "error"):
            if isinstance(row[key], str):
                row[key] = row[key].replace("\x00", "")[:MAX_PROMPT]
        if self.finished_at is not None:
            row["duration_ms"] = max(0, int((self.finished_at - self.started_at).total_seconds() * 1000))
        return row


def _bad_data(exc: BaseException) -> bool:
    """A row the database refuses whatever we do (a value of the wrong type), as opposed to an
    outage (OperationalError, InterfaceError, a dropped connection, anything else)."""
    if isinstance(exc, (TypeError, ValueError)):
        return True
    try:
        from sqlalchemy import exc as sa
    except ImportError:
        return False
    return (isinstance(exc, sa.StatementError) and not isinstance(exc, (sa.OperationalError, sa.InterfaceError))
            and not getattr(exc, "connection_invalidated", False))


class Recorder:
    def __init__(self, usage_store: UsageStore, *, on_event: Callable[[dict[str, Any]], None] | None = None,
                 batch: int = 64):
        self.usage_store = usage_store  # has record_generations(rows)
        self.on_event = on_event
        self.batch = batch
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._backlog: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._idle = threading.Event()
        self._idle.set()
        self.recorded = 0
        self.dropped = 0

    def record(self, event: GenerationEvent) -> None:
        """Enqueue; microseconds on the caller's thread, and never an exception."""
        try:
            self._idle.clear()
            self._queue.put(event.as_row())
            self._ensure_thread()
        except Exception:  # the host's generation must not fail because of us
            log.exception("could not queue a generation event")

    def _ensure_thread(self) -> None:
        with self._lock:  # the writer leaves under this lock only when the queue is empty
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="lora-manager-recorder", daemon=True)
                self._thread.start()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued so far is stored (or the timeout passes)."""
        if self._idle.is_set():
            return True
        self._ensure_thread()
        return self._idle.wait(timeout)

    def _one_by_one(self, rows: list[dict[str, Any]]) -> list[int]:
        ids: list[int] = []
        for row in rows:
            try:
                ids += self.usage_store.record_generations([row])
            except Exception:
                self.dropped += 1
                log.exception("dropped a generation event that cannot be stored: %r", row.get("prompt"))
        return ids

    def _run(self) -> None:
        while True:
            try:
                row = self._queue.get(timeout=5.0)
            except queue.Empty:
                if not self._backlog:
                    with self._lock:
                        if self._queue.empty():
                            self._thread = None
                            self._idle.set()
                            return  # idle: the thread ends and costs nothing
                    continue
                row = None
            rows = self._backlog + ([row] if row is not None else [])
            self._backlog = []
            while len(rows) < self.batch:
                try:
                    rows.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                ids = self.usage_store.record_generations(rows)
            except Exception as exc:
                if _bad_data(exc):  # this batch can never be stored as it is: keep what can be, drop the rest
                    ids = self._one_by_one(rows)
                else:  # the database is away: keep everything for a retry
                    log.exception("recording %d generation(s) failed; keeping them for a retry", len(rows))
                    keep = rows[-MAX_BACKLOG:]
                    self.dropped += len(rows) - len(keep)
                    self._backlog = keep
                    time.sleep(1.0)
                    continue
            self.recorded += len(ids)
            if self.on_event is not None:
                try:
                    self.on_event({"type": "usage.recorded", "ids": ids})
                except Exception:
                    log.exception("usage event listener failed")
            if self._queue.empty() and not self._backlog:
                self._idle.set()
