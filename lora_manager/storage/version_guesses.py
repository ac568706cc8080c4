"""Civitai model sidecars whose version was guessed before the LoRA was hashed, once the hash is known.

A guess (by name, or the first version) records `hash_keys`, the first 10 hex of every hash its versions'
files state, and `own_sha256`, the SHA-256s that would pick the guessed version itself (`library/sidecars.py`).
Two cases are settled here, in one statement per batch, without reading the file:
- the hash is in `own_sha256`: it confirms the guess; the row becomes what reading the sidecar with the hash
  gives (picked by `sha256`, the file's stated hash kept);
- its first 10 hex are not in `hash_keys`: it picks the same version again; the row is marked `hash_checked`.
The rest (the hash picks another version, by SHA-256 or AutoV2, or the row predates these notes) are read
again by the caller.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select, update

from ..library.records import GUESS_NOTES
from .base import H, L, LH
from .db import Db
from .failures import retry_conflicts

GUESSES = ("first", "name")


def _settled(sidecars: list[Any] | None, sha256: str) -> list[Any] | None:
    """The sidecar rows with their guesses settled by the hash, or None if one guess may change with it."""
    out, changed = [], False
    for s in sidecars or ():
        if isinstance(s, dict) and s.get("version_match") in GUESSES and not s.get("hash_checked"):
            keys, own = s.get("hash_keys"), s.get("own_sha256")
            if not isinstance(keys, list):
                return None
            kept = {k: v for k, v in s.items() if k not in GUESS_NOTES}
            if isinstance(own, list) and sha256 in own:  # the guess confirmed: as a pick by this hash
                s = kept | {"sha256": sha256, "version_match": "sha256", "hash_checked": True}
            elif sha256[:10] in keys:
                return None
            else:
                s = kept | {"hash_checked": True}
            changed = True
        out.append(s)
    return out if changed else None


@retry_conflicts
def settle_guesses(db: Db, hints: dict[int, str]) -> list[int]:
    """Mark checked the guesses of `hints` ({id: sha256}) that the hash cannot change; returns those ids.
    A row is written only while its hash is still the one given (a rescan meanwhile wins)."""
    ids = sorted(hints)
    done: list[int] = []
    with db.engine.begin() as conn:
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            rows = conn.execute(select(L.c.id, H.c.sha256, L.c.sidecars).select_from(LH).where(L.c.id.in_(part))).all()
            writes = []
            for r in rows:
                new = _settled(r.sidecars, hints[r.id]) if r.sha256 == hints[r.id] else None
                if new is not None:
                    writes.append({"i": r.id, "h": r.sha256, "s": new})
            if writes:
                held = select(H.c.sha256).where(H.c.lora_id == L.c.id).scalar_subquery()
                stmt = (update(L).where(L.c.id == bindparam("i"), held == bindparam("h"))
                        .values(sidecars=bindparam("s", type_=L.c.sidecars.type)))
                conn.execute(stmt, writes)
                done += [w["i"] for w in writes]
    return done
