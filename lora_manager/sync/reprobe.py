"""Read again the facts of known files that changed after a scan's walk.

The hasher finds them: the size or mtime it sees is not the row's. Their
row is brought up to date here (one listing per folder and one header read per
file), so that the hash can be stored against what is on disk now.
"""

from __future__ import annotations

import os

from ..library.probe import probe_many
from ..library.walker import entries_for
from ..storage.catalog_store import CatalogStore
from ..storage.scan_store import HASHABLE, ScanStore


def reprobe(scan_store: ScanStore, catalog_store: CatalogStore, ids: list[int],
            hints: dict[int, str] | None = None) -> list[int]:
    """Update the rows of `ids` from their files; returns the ids updated. `hints`: LoRAs' SHA-256s,
    which pick their version out of a Civitai model sidecar (docs/formats.md).

    A file that is gone (or a row no longer present) is left to the next scan,
    which marks it missing or sees where it went.
    """
    rows = [(lid, path, root) for lid, (path, root, state) in sorted(catalog_store.paths(list(ids)).items())
            if state in HASHABLE]
    found = entries_for([(path, root) for _, path, root in rows])  # each folder listed once
    entries = [(lid, found[os.path.abspath(path)]) for lid, path, _ in rows if os.path.abspath(path) in found]
    if not entries:
        return []
    results = probe_many([e for _, e in entries], [(hints or {}).get(lid) for lid, _ in entries])
    scan_store.update_files([(lid, result.as_row()) for (lid, _), result in zip(entries, results, strict=False)])
    return [lid for lid, _ in entries]
