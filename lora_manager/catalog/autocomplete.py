"""The compact index the prompt autocomplete loads: the library as columns, with a version.

The browser fetches it once, keeps it, and asks again with `If-None-Match`
(answered 304 while nothing changed). The version is a hash of the content,
so it is the same in every process over one database and after a restart.
Building it reads the whole library (about a second at 100k LoRAs), so the
encoded body is kept until this process writes anything, and at most
`max_age` seconds (another process may write to a shared database).
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from dataclasses import dataclass
from typing import Optional
from collections.abc import Callable

import orjson

from ..storage.autocomplete_store import AutocompleteStore

COLUMNS = ("id", "prompt_name", "name", "title", "alias", "base", "weight", "triggers", "tags", "uses",
           "last_used", "preview")


@dataclass(frozen=True)
class IndexBody:
    version: str  # also the ETag, quoted
    body: bytes
    count: int


class AutocompleteIndex:
    def __init__(self, store: AutocompleteStore, version: Callable[[], int], model_family: Callable[[], Optional[str]],
                 max_age: float = 30.0):
        self.store = store
        self.version = version  # the database's write version in this process (Db.write_version)
        self.model_family = model_family  # the host's loaded checkpoint family, or None
        self.max_age = max_age
        self._lock = threading.Lock()
        self._cached: tuple[int, float, bytes, str, int] | None = None  # write version, when, columns, digest, count

    def current(self) -> IndexBody:
        family = self.model_family()
        family = re.sub(r"[^a-z0-9_.]", "", family.lower())[:32] or None if isinstance(family, str) else None
        with self._lock:
            cached = self._cached
            now = time.monotonic()
            if cached is None or cached[0] != self.version() or now - cached[1] > self.max_age:
                version = self.version()
                columns = self.store.autocomplete_rows()
                encoded = orjson.dumps(columns)
                cached = self._cached = (version, now, encoded, hashlib.blake2b(encoded, digest_size=12).hexdigest(),
                                         len(columns["id"]))
        _, _, encoded, digest, count = cached
        # The checkpoint family is part of the version: switching models refreshes clients.
        version = f"{digest}-{family or 'none'}"
        head = orjson.dumps({"version": version, "count": count, "checkpoint_family": family})
        return IndexBody(version, head[:-1] + b',"columns":' + encoded + b"}", count)
