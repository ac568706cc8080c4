"""A small thread-safe event bus: scans and hashing publish, progress streams subscribe.

Publishers run in worker threads; subscribers are asyncio consumers. Each
subscriber has a bounded queue: a slow client loses old progress events,
never blocks a scan.

Beside the stream, one in-process topic, `library.changed` (a `LibraryChanged`), said
after files were added, moved or removed (ids None) or user data of some LoRAs
changed (their ids), or a background pass filled in data read from the files (their ids, `filled`: the
training tags pass). The host's LoRA list and the recommender listen to it.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

QUEUE_SIZE = 256
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LibraryChanged:
    """Files were added, moved or removed (`ids` None), or the user data of `ids` changed; `filled`: no one
    edited `ids`, a background pass filled in what it read from their files (the sidecar write-back leaves a
    fill alone; the recommender leaves this host's pass's fills to its whole read after the pass)."""

    ids: tuple[int, ...] | None = None
    filled: bool = False

    @property
    def files(self) -> bool:
        return self.ids is None


@dataclass(frozen=True, slots=True)
class _Listener:
    call: Callable[[LibraryChanged], None]
    files_only: bool
    inline: bool


class EventBus:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subs: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Queue]] = {}
        self._ids = itertools.count(1)
        self._seq = itertools.count(1)
        self._listeners: list[_Listener] = []
        self.file_changes = 0  # files changed here (a preview or sidecar written, a scan): GET /system shows it

    # --- in-process: library.changed -------------------------------------------------------------
    def on_library_changed(self, listener: Callable[[LibraryChanged], None], *, files_only: bool = False,
                           inline: bool = False) -> None:
        """Call `listener(change)` on every change (`files_only`: only when files changed).

        Listeners run in a thread of their own, never on the thread that made the change (a
        request's, or the host's); `inline` is for a listener that only takes note (sets a flag):
        it runs at once, so that the change is known before the request returns."""
        with self._lock:
            self._listeners.append(_Listener(listener, files_only, inline))

    def library_changed(self, ids: Iterable[int] | None = None, *, filled: bool = False) -> None:
        """Say that files changed (no ids) or that the user data of `ids` changed (`filled`: a background pass
        filled in what it read from their files)."""
        change = LibraryChanged(None if ids is None else tuple(ids), filled=ids is not None and filled)
        with self._lock:
            if change.files:
                self.file_changes += 1
            listeners = [x for x in self._listeners if change.files or not x.files_only]
        _deliver([x.call for x in listeners if x.inline], change)
        later = [x.call for x in listeners if not x.inline]
        if later:
            threading.Thread(target=_deliver, args=(later, change), name="lora-manager-changed", daemon=True).start()

    def publish(self, event: dict[str, Any]) -> None:
        event = {"seq": next(self._seq), "time": round(time.time(), 3), **event}
        with self._lock:
            subs = list(self._subs.values())
        for loop, queue in subs:
            try:
                loop.call_soon_threadsafe(_offer, queue, event)
            except RuntimeError:  # that subscriber's loop is closed
                pass

    def subscribe(self) -> tuple[int, asyncio.Queue]:
        queue: asyncio.Queue = asyncio.Queue(QUEUE_SIZE)
        sid = next(self._ids)
        with self._lock:
            self._subs[sid] = (asyncio.get_running_loop(), queue)
        return sid, queue

    def unsubscribe(self, sid: int) -> None:
        with self._lock:
            self._subs.pop(sid, None)

    @property
    def subscribers(self) -> int:
        with self._lock:
            return len(self._subs)


def _offer(queue: asyncio.Queue, event: dict[str, Any]) -> None:
    if queue.full():
        try:
            queue.get_nowait()  # drop the oldest
        except asyncio.QueueEmpty:
            pass
    queue.put_nowait(event)


def _deliver(listeners: list[Callable[[LibraryChanged], None]], change: LibraryChanged) -> None:
    for listener in listeners:
        try:
            listener(change)
        except Exception:  # a listener's failure is logged, never raised into a request or a scan
            log.exception("library change listener failed")
