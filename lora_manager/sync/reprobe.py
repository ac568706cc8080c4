"""Read again the facts of known files that changed after a scan's walk.

The hasher finds them: the size or mtime it sees is not the row's. Their
row is brought up to date here (one folder listing and one header read per
file), so that the hash can be stored against what is on disk now.
"""

from __future__ import annotations

from ..library.probe import probe_many
from ..library.walker import entry_for
from ..storage.repository import SqlLibraryRepository
from ..storage.scan_store import HASHABLE


def reprobe(repo: SqlLibraryRepository, ids: list[int], hints: dict[int, str] | None = None) -> list[int]:
    """Update the rows of `ids` from their files; returns the ids updated. `hints`: LoRAs' SHA-256s,
    which pick their version out of a Civitai model sidecar (docs/formats.md).

    A file that is gone (or a row no longer present) is left to the next scan,
    which marks it missing or sees where it went.
    """
    entries = []
    for lid, (path, root, state) in sorted(repo.paths(list(ids)).items()):
        if state not in HASHABLE:
            continue
        entry = entry_for(path, root)
        if entry is not None:
            entries.append((lid, entry))
    if not entries:
        return []
    rows = probe_many([e for _, e in entries], [(hints or {}).get(lid) for lid, _ in entries])
    repo.update_files([(lid, row) for (lid, _), row in zip(entries, rows, strict=False)])
    return [lid for lid, _ in entries]
