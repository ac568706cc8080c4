"""Reads kept in memory while they are fresh: at most `ttl` seconds old and, given a version
(`Db.write_version`, moved by every commit in this process), read since the last write here.

Another process may write to the same database (a shared PostgreSQL, a second instance on one
SQLite file): its writes show within `ttl`. The one helper behind the list pages
(api/list_route.py), the list totals (catalog_store.py), the autocomplete index
(catalog/autocomplete.py) and the recommender's usage figures (recommend/service.py).
Least recently used entries go first when `max_items` or `max_bytes` is reached. A stale entry
goes when it is asked for, or at `purge_all()` (our own server calls it once a burst of requests
is over: standalone/memtrim.py), so that a quiet process does not hold them.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

V = TypeVar("V")
_MISSING: Any = object()
_CACHES: weakref.WeakSet = weakref.WeakSet()  # every cache made, for purge_all


def purge_all() -> int:
    """Drop the stale entries of every cache; the number dropped."""
    return sum(cache.purge() for cache in list(_CACHES))


class TtlCache(Generic[V]):
    def __init__(self, ttl: float, *, version: Callable[[], int] | None = None, max_items: int = 256,
                 max_bytes: int | None = None, size_of: Callable[[V], int] = len):
        self.ttl = ttl
        self.version = version  # () -> int; None: age alone decides
        self.max_items = max_items
        self.max_bytes = max_bytes  # with size_of(value): e.g. encoded pages by their length
        self.size_of = size_of
        self.size = 0  # bytes held, when max_bytes is set
        self._items: OrderedDict[Hashable, tuple[int | None, float, V, int]] = OrderedDict()
        self._lock = threading.Lock()
        _CACHES.add(self)

    def _now_version(self) -> int | None:
        return self.version() if self.version is not None else None

    def get(self, key: Hashable, default: Any = None) -> V | Any:
        with self._lock:
            hit = self._items.get(key)
            if hit is None:
                return default
            if self._stale(hit, self._now_version(), time.monotonic()):
                self._drop(key)
                return default
            self._items.move_to_end(key)
            return hit[2]

    def put(self, key: Hashable, value: V, version: int | None = None) -> None:
        """Keep `value`, read at `version` (taken before the read ran: a write meanwhile makes it
        stale, and it is not kept). Without `version`, the current one."""
        current = self._now_version()
        if version is None:
            version = current
        elif version != current:
            return
        weight = self.size_of(value) if self.max_bytes is not None else 0
        if self.max_bytes is not None and weight > self.max_bytes:
            return
        with self._lock:
            if key in self._items:
                self._drop(key)
            self._items[key] = (version, time.monotonic(), value, weight)
            self.size += weight
            while self._items and (len(self._items) > self.max_items
                                   or (self.max_bytes is not None and self.size > self.max_bytes)):
                self._drop(next(iter(self._items)))

    def get_or_load(self, key: Hashable, load: Callable[[], V]) -> V:
        """The fresh value of `key`, else `load()` (outside the lock: two readers may both load)."""
        hit = self.get(key, _MISSING)
        if hit is not _MISSING:
            return hit
        version = self._now_version()
        value = load()
        self.put(key, value, version)
        return value

    def discard(self, key: Hashable) -> None:
        with self._lock:
            if key in self._items:
                self._drop(key)

    def purge(self) -> int:
        """Drop the entries too old or read before the last write; the number dropped."""
        version, now = self._now_version(), time.monotonic()
        with self._lock:
            stale = [k for k, hit in self._items.items() if self._stale(hit, version, now)]
            for key in stale:
                self._drop(key)
        return len(stale)

    def __len__(self) -> int:
        return len(self._items)

    def _stale(self, hit: tuple, version: int | None, now: float) -> bool:
        """Read before the last write here, or `ttl` old."""
        return hit[0] != version or now - hit[1] >= self.ttl

    def _drop(self, key: Hashable) -> None:
        self.size -= self._items.pop(key)[3]
