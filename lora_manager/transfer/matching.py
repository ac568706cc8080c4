"""Which local LoRA is the one an archive names: by hash, then by path, then by name.

A full SHA-256 is the same file; the tensor hash is the same weights (metadata edited); AutoV2 (10 hex
of the SHA-256) is used only when the archive has no full hash. Paths match exactly, or below a
library root (another machine mounts its roots elsewhere). A name matches only when one LoRA has it.
"""

from __future__ import annotations

import os
from typing import Any

PRESENT = ("ok", "broken", "unsupported", "missing")


def relative_path(path: str, root: str | None) -> str | None:
    """`path` below `root` with / separators (both absolute and normalised, as the index stores them)."""
    if not root or not path:
        return None
    prefix = root if root.endswith(os.sep) else root + os.sep
    return path[len(prefix):].replace(os.sep, "/") if path.startswith(prefix) else None


def _add(index: dict, key: Any, lid: int) -> None:
    if key:
        index.setdefault(key, []).append(lid)


class LocalIndex:
    def __init__(self, identities: list[dict[str, Any]]):
        self.rows = {r["id"]: r for r in identities}
        self.by_sha: dict[str, list[int]] = {}
        self.by_tensor: dict[str, list[int]] = {}
        self.by_autov2: dict[str, list[int]] = {}
        self.by_path: dict[str, list[int]] = {}
        self.by_rel: dict[str, list[int]] = {}
        self.by_file: dict[str, list[int]] = {}
        self.by_prompt: dict[str, list[int]] = {}
        for r in identities:
            if r["state"] == "other":
                continue  # not a LoRA (an embedding, a VAE...)
            lid = r["id"]
            _add(self.by_sha, r["sha256"], lid)
            _add(self.by_tensor, r["tensor_sha256"] or r["header_hash"], lid)
            _add(self.by_autov2, (r["sha256"] or "")[:10], lid)
            if r["state"] != "trashed":
                _add(self.by_path, r["path"], lid)
                _add(self.by_rel, relative_path(r["path"], r["root"]), lid)
            _add(self.by_file, r["file_name"].casefold(), lid)
            _add(self.by_prompt, r["prompt_name"], lid)

    def match(self, ref) -> tuple[list[int], str | None]:
        """(local ids, how) for an archive's LoRA reference; ([], None) when nothing fits."""
        steps = (
            ("sha256", self.by_sha.get(ref.sha256 or "")),
            ("tensor_sha256", self.by_tensor.get(ref.tensor_sha256 or "")),
            ("autov2", None if ref.sha256 else self.by_autov2.get(ref.autov2 or "")),
            ("path", self.by_path.get(ref.path)),
            ("relative_path", self.by_rel.get(ref.relative_path or "")),
        )
        for how, ids in steps:
            if ids:
                return self._prefer(ids, ref), how
        for how, ids in (("file_name", self.by_file.get(ref.file_name.casefold())),
                         ("prompt_name", self.by_prompt.get(ref.prompt_name))):
            if ids and len(ids) == 1:
                return ids, how
        return [], None

    def _prefer(self, ids: list[int], ref) -> list[int]:
        """Among copies of one file: the one at the same place or name, else every copy (they are the same LoRA)."""
        if len(ids) == 1:
            return ids
        for test in (lambda r: relative_path(r["path"], r["root"]) == ref.relative_path,
                     lambda r: r["file_name"] == ref.file_name):
            same = [i for i in ids if test(self.rows[i]) and self.rows[i]["state"] in PRESENT]
            if same:
                return same
        present = [i for i in ids if self.rows[i]["state"] in PRESENT]
        return present or ids

    def label(self, lid: int) -> str:
        r = self.rows[lid]
        return f"<lora:{r['prompt_name']}> (id {lid})"
