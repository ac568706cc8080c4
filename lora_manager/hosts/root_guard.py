"""One host at a time per shared root: a scan holds a PostgreSQL advisory lock per root it walks.

The root's path differs per host (`/mnt/nas/loras` here, `Z:\\loras` there), so the lock is keyed by
the root's *key* in the database (`library_roots`): given at a root's first scan by the fingerprint
of its top-level listing (names and sizes of its first entries, which are the same through any mount),
or taken from another host's root that holds the same files; kept afterwards, so files added later do
not split one root into two keys. A host finding a root locked waits up to LORA_MANAGER_SCAN_WAIT
seconds, then skips that root for this scan (its entries are left as they are) and says so in the report.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from collections.abc import Callable, Iterator

log = logging.getLogger(__name__)
LISTED = 200  # top-level entries in a fingerprint


def fingerprint(root: str) -> str:
    try:
        with os.scandir(root) as it:
            entries = sorted(it, key=lambda e: e.name)[:LISTED]
            parts = []
            for e in entries:
                try:
                    size = e.stat().st_size if e.is_file() else -1
                except OSError:
                    size = -2
                parts.append(f"{e.name}\0{size}")
    except OSError:
        parts = ["unavailable", root]
    return hashlib.sha256("\n".join(parts).encode("utf-8", "surrogateescape")).hexdigest()[:32]


class RootGuard:
    """`with guard(roots) as skipped:` the roots this host may scan now are locked for the block."""

    def __init__(self, store, host_id: str, wait: float, publish: Callable[[dict], None] | None = None):
        self.store = store
        self.host = host_id
        self.wait = wait
        self.publish = publish

    @contextlib.contextmanager
    def __call__(self, roots: list[str]) -> Iterator[set[str]]:
        keys = {root: self.store.root_key(self.host, root, fingerprint(root)) for root in roots}

        def waiting(key: str) -> None:
            names = [r for r, k in keys.items() if k == key]
            log.info("another host is scanning %s: waiting up to %.0f s", ", ".join(names), self.wait)
            if self.publish:
                self.publish({"type": "scan.waiting", "roots": names, "seconds": self.wait})

        with self.store.root_locks(list(keys.values()), self.wait, on_wait=waiting) as skipped_keys:
            skipped = {r for r, k in keys.items() if k in skipped_keys}
            if skipped:
                log.warning("skipped roots another host kept scanning: %s", ", ".join(sorted(skipped)))
            yield skipped


@contextlib.contextmanager
def no_guard(roots: list[str]) -> Iterator[set[str]]:
    """One host: nothing to wait for."""
    yield set()
