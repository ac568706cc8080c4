"""Is the database's schema current? Answered without importing Alembic.

Alembic and its script directory cost a third of a second to import, on every
command. When `alembic_version` already names the newest revision there is
nothing to migrate, so a short command (`list`, `show`) never loads it; any
doubt (no table, another revision, an unreadable database) goes to the real
migration, which decides and reports.
"""

from __future__ import annotations

import functools
import os
import re

from sqlalchemy import Engine, text

VERSIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "migrations", "versions")
_REV = re.compile(r"^(down_revision|revision)\s*(?::[^=]*)?=\s*(None|['\"]([^'\"]+)['\"])", re.M)


@functools.lru_cache(maxsize=1)
def head_revision(folder: str = VERSIONS) -> str | None:
    """The revision nothing revises: the head of a linear chain (None when the chain is not linear)."""
    revisions, parents = set(), set()
    for name in os.listdir(folder):
        if not name.endswith(".py"):
            continue
        with open(os.path.join(folder, name), encoding="utf-8") as f:
            found = dict((m.group(1), m.group(3)) for m in _REV.finditer(f.read()))
        if found.get("revision"):
            revisions.add(found["revision"])
            if found.get("down_revision"):
                parents.add(found["down_revision"])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def is_current(engine: Engine) -> bool:
    head = head_revision()
    if head is None:
        return False
    try:
        with engine.connect() as conn:
            rows = [r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))]
    except Exception:  # no table yet, or a database that must be looked at by the migration
        return False
    return rows == [head]


@functools.lru_cache(maxsize=1)
def known_revisions(folder: str = VERSIONS) -> frozenset[str]:
    """Every revision this code can migrate from (a copy naming another was made by a newer version)."""
    found = set()
    for name in os.listdir(folder):
        if name.endswith(".py"):
            with open(os.path.join(folder, name), encoding="utf-8") as f:
                found |= {m.group(3) for m in _REV.finditer(f.read()) if m.group(1) == "revision" and m.group(3)}
    return frozenset(found)
