"""The folder tree of each root: every folder on disk (empty ones too) with the LoRAs in it and below."""

from __future__ import annotations

import os
from typing import Any

from ..library.searchtext import sort_key
from .disk_folders import DiskFolders


def folder_tree(roots: list[str], counts: dict[tuple[str, str], int], skip: tuple[str, ...] = (),
                disk: DiskFolders | None = None) -> dict[str, Any]:
    """{"roots": [{root, count, folders: [{path, name, parent, count, direct}]}]}: `counts` are LoRAs by
    (root, folder); a folder's count holds its subfolders'; sorted by path as people read it. `disk`
    keeps the walks of the roots between calls (catalog/disk_folders.py); without it each call walks."""
    disk = disk or DiskFolders()
    out = []
    skipped = {os.path.abspath(s) for s in skip}
    for root in roots:
        direct = {folder: n for (r, folder), n in counts.items() if r == root}
        paths = disk.folders(root, skipped) if os.path.isdir(root) else set()
        for folder in list(direct):  # folders the index knows (a root offline, a folder gone) are listed too
            parts = folder.split("/")
            paths.update("/".join(parts[:i]) for i in range(1, len(parts) + 1) if folder)
        total: dict[str, int] = dict.fromkeys(paths, 0)
        for folder, n in direct.items():
            parts = folder.split("/") if folder else []
            for i in range(1, len(parts) + 1):
                total["/".join(parts[:i])] += n
        folders = [{"path": p, "name": p.rsplit("/", 1)[-1], "parent": p.rsplit("/", 1)[0] if "/" in p else "",
                    "count": total[p], "direct": direct.get(p, 0)}
                   for p in sorted(paths, key=lambda p: [sort_key(x) for x in p.split("/")])]
        out.append({"root": root, "count": sum(direct.values()), "folders": folders})
    return {"roots": out}
