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
from dataclasses import dataclass
from typing import Optional
from collections.abc import Callable

import orjson

from ..storage.autocomplete_store import AutocompleteStore
from ..storage.ttl_cache import TtlCache

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
        self.model_family = model_family  # the host's loaded checkpoint family, or None
        # (encoded columns, digest, count), dropped by a write in this process (`version`: Db.write_version)
        self._cache: TtlCache[tuple[bytes, str, int]] = TtlCache(max_age, version=version, max_items=1)
        self._lock = threading.Lock()  # one build at a time; the others wait for it

    def current(self) -> IndexBody:
        family = self.model_family()
        family = re.sub(r"[^a-z0-9_.]", "", family.lower())[:32] or None if isinstance(family, str) else None
        with self._lock:
            encoded, digest, count = self._cache.get_or_load("index", self._build)
        # The checkpoint family is part of the version: switching models refreshes clients.
        version = f"{digest}-{family or 'none'}"
        head = orjson.dumps({"version": version, "count": count, "checkpoint_family": family})
        return IndexBody(version, head[:-1] + b',"columns":' + encoded + b"}", count)

    def _build(self) -> tuple[bytes, str, int]:
        columns = self.store.autocomplete_rows()
        encoded = orjson.dumps(columns)
        return encoded, hashlib.blake2b(encoded, digest_size=12).hexdigest(), len(columns["id"])
