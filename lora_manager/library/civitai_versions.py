"""Which of a Civitai model's versions is ours, by the hashes and names its files state (docs/formats.md).

A model answer (SDNext's ``<base>.json``) lists several ``modelVersions``, each with ``files`` and their
``hashes``; the values are untrusted and may have any type.
"""

from __future__ import annotations

import os
from typing import Any

from .sidecar_values import _MAX_FILES, _dict, _list, _sha256


def _lower_keys(v: Any) -> dict[str, Any]:
    """Keys lowercased: Civitai says ``SHA256``/``AutoV3``, Stability Matrix ``Hashes``."""
    return {str(k).lower(): x for k, x in _dict(v).items()}


def _hashes(file: Any) -> dict[str, Any]:
    return _lower_keys(_dict(file).get("hashes"))


def _pick_file(files: Any, sha256: str | None) -> dict | None:
    """The file the LoRA is: the one whose SHA256 matches, else the primary, else the first."""
    candidates = [x for x in _list(files, _MAX_FILES) if isinstance(x, dict)]
    by_hash = [x for x in candidates if sha256 and _sha256(_hashes(x).get("sha256")) == sha256]
    primary = [x for x in candidates if x.get("primary") is True]
    return (by_hash or primary or candidates or [None])[0]


def _autov2(hashes: dict[str, Any]) -> str | None:
    """A file's AutoV2 as text (lower case), None when it is not text."""
    value = hashes.get("autov2")
    return value.strip().lower() if isinstance(value, str) else None


def _files_of(version: dict) -> list[dict]:
    return [x for x in _list(version.get("files"), _MAX_FILES) if isinstance(x, dict)]


def match_version(versions: list[dict], sha256: str | None, file_base: str | None) -> tuple[dict | None, str | None]:
    """Our version among a model's: the one with a file of our SHA-256, else of our AutoV2 (with no other
    SHA-256 stated), else a file named like ours; the only one; else the first (the newest), a guess.
    Returns (version, how: sha256 | autov2 | name | only | first)."""
    if sha256:
        for v in versions:
            if any(_sha256(_hashes(x).get("sha256")) == sha256 for x in _files_of(v)):
                return v, "sha256"
        for v in versions:
            for x in _files_of(v):
                h = _hashes(x)
                if _autov2(h) == sha256[:10] and not _sha256(h.get("sha256")):
                    return v, "autov2"
    key = file_base.casefold() if file_base else None
    if key:
        for v in versions:
            if any(isinstance(x.get("name"), str) and os.path.splitext(x["name"])[0].casefold() == key
                   for x in _files_of(v)):
                return v, "name"
    if len(versions) == 1:
        return versions[0], "only"
    return (versions[0], "first") if versions else (None, None)


def _own_sha256(versions: list[dict], chosen: dict) -> list[str]:
    """The SHA-256s stated by ``chosen``'s files that ``match_version`` would pick ``chosen`` by: those no
    earlier version states (the first version stating a hash wins)."""
    earlier: set[str] = set()
    for v in versions:
        stated = [s for x in _files_of(v) if (s := _sha256(_hashes(x).get("sha256")))]
        if v is chosen:
            return sorted(set(stated) - earlier)
        earlier.update(stated)
    return []


def _hash_keys(versions: list[dict]) -> list[str]:
    """The first 10 hex of every SHA-256 and AutoV2 the versions' files state: what a hash must start with
    for ``match_version`` to pick by it (docs/formats.md)."""
    keys = set()
    for v in versions:
        for x in _files_of(v):
            h = _hashes(x)
            for value in (_sha256(h.get("sha256")), _autov2(h)):
                if value and len(value) >= 10:
                    keys.add(value[:10])
    return sorted(keys)
