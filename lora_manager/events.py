"""A small thread-safe event bus: scans and hashing publish, progress streams subscribe.

Publishers run in worker threads; subscribers are asyncio consumers. Each
subscriber has a bounded queue: a slow client loses old progress events,
never blocks a scan.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from typing import Any

QUEUE_SIZE = 256


class EventBus:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subs: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Queue]] = {}
        self._ids = itertools.count(1)
        self._seq = itertools.count(1)

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
