"""Auto-organize: move LoRAs into folders rendered from a template such as `{base}/{type}`.

A dry run plans every move and changes nothing. Each move is FileOps.move (sidecars, previews and
user data follow). Characters no folder name may hold are replaced with `_`; an empty value becomes
`unknown`; a LoRA whose target name is taken (on disk, or by another LoRA of the same run) is skipped
with the reason, as is one whose target would leave the library roots.
"""

from __future__ import annotations

import os
import re
from typing import Any

from ..errors import InvalidInput, LoraManagerError
from ..storage.fileops_store import FileOpsStore
from ..storage.scan_store import PRESENT
from .fileops import MAX_NAME, FileOps
from .service import MAX_BULK, Catalog
from .userdata import check_text
from .vocabulary import FAMILY_LABELS

PLACEHOLDERS = ("base", "base_label", "type", "creator", "model_name", "first_tag")
MAX_TEMPLATE = 300
_FIELD = re.compile(r"\{([^{}]*)\}")
_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')
# For the API's schema: literal text without braces and known placeholders, at least one character.
TEMPLATE_PATTERN = r"^([^{}\x00]|\{(" + "|".join(PLACEHOLDERS) + r")\})+$"


def parse_template(template: str) -> str:
    if not isinstance(template, str) or not template.strip("/ "):
        raise InvalidInput("give a folder template such as {base}/{type}", {"field": "template"})
    check_text("template", template)
    if len(template) > MAX_TEMPLATE:
        raise InvalidInput(f"a template is at most {MAX_TEMPLATE} characters", {"field": "template"})
    unknown = sorted({m for m in _FIELD.findall(template) if m not in PLACEHOLDERS})
    if unknown or "{" in _FIELD.sub("", template) or "}" in _FIELD.sub("", template):
        raise InvalidInput("unknown placeholder or stray brace in the template",
                           {"unknown": unknown, "allowed": [f"{{{p}}}" for p in PLACEHOLDERS]})
    return template


def values(row: dict[str, Any]) -> dict[str, str]:
    """What each placeholder stands for in one LoRA (row: FileOpsStore.organize_rows)."""
    family = row.get("base_override") or row.get("base_family")
    base = FAMILY_LABELS.get(family, family) if family else None
    tags = row.get("source_tags") or []
    return {
        "base": base, "base_label": row.get("base_label") or base, "type": row.get("network_type"),
        "creator": row.get("author"), "model_name": row.get("title") or os.path.splitext(row["file_name"])[0],
        "first_tag": row.get("first_tag") or (tags[0] if tags and isinstance(tags[0], str) else None),
    }


def render(template: str, row: dict[str, Any]) -> list[str]:
    """The folder parts (below the LoRA's root) the template gives for one LoRA."""
    vals = values(row)

    def fill(m: re.Match) -> str:
        text = str(vals.get(m.group(1)) or "").strip()
        return _UNSAFE.sub("_", text) or "unknown"

    parts = []
    for piece in template.split("/"):
        # no leading dot (a hidden folder: scans skip it), no trailing dot or space (Windows drops them)
        name = _UNSAFE.sub("_", _FIELD.sub(fill, piece)).strip(". ")[:MAX_NAME].strip(". ")
        if not name:
            name = "_" if piece.strip() else ""
        if name:
            parts.append(name)
    return parts


class Organizer:
    def __init__(self, files: FileOps, catalog: Catalog, store: FileOpsStore):
        self.files = files
        self.catalog = catalog
        self.store = store

    def organize(self, template: str, keys: list[str | int] | None = None, *, dry_run: bool = True) -> dict[str, Any]:
        template = parse_template(template)
        if keys is not None and len(keys) > MAX_BULK:
            raise InvalidInput(f"at most {MAX_BULK} LoRAs at once")
        ids = None if keys is None else self.catalog.resolve_many(keys)
        rows = self.store.organize_rows(ids)
        plan, skipped, unchanged = self._plan(template, rows)
        if dry_run:
            return {"dry_run": True, "moves": plan, "skipped": skipped, "moved": 0, "unchanged": unchanged}
        done = []
        for move in plan:
            try:
                entry = self.files.move(move["id"], os.path.dirname(move["to"]))
                done.append({**move, "to": entry["path"]})
            except LoraManagerError as exc:
                skipped.append({"id": move["id"], "reason": exc.message})
        return {"dry_run": False, "moves": done, "skipped": skipped, "moved": len(done), "unchanged": unchanged}

    def _plan(self, template: str, rows: list[dict[str, Any]]) -> tuple[list, list, int]:
        plan: list[dict[str, Any]] = []
        skipped: list[dict[str, Any]] = []
        taken: set[str] = set()
        unchanged = 0
        for row in rows:
            lid, path = row["id"], row["path"]
            if row["state"] not in PRESENT:
                skipped.append({"id": lid, "reason": f"the file is {row['state']}"})
                continue
            root = self.files._root_of(path)
            if root is None or not os.path.exists(path):
                skipped.append({"id": lid, "reason": "the file is not where the index says; rescan first"})
                continue
            folder = os.path.join(root, *render(template, row))
            target = os.path.join(folder, os.path.basename(path))
            if os.path.normcase(folder) == os.path.normcase(os.path.dirname(path)):
                unchanged += 1
                continue
            reason = self._collision(target, taken)
            if reason:
                skipped.append({"id": lid, "reason": reason, "to": target})
                continue
            taken.add(os.path.normcase(target))
            plan.append({"id": lid, "from": path, "to": target})
        return plan, skipped, unchanged

    def _collision(self, target: str, taken: set[str]) -> str | None:
        if not self.files.inside_roots(target):
            return "the target folder leads outside the library roots"
        if os.path.normcase(target) in taken:
            return "another LoRA of this run goes to the same name"
        if os.path.lexists(target):
            return "a file with that name is already there"
        if self.files.user_store.id_at_path(target) is not None:
            return "another entry (missing or in the trash) owns that name"
        parent = os.path.dirname(target)
        if os.path.lexists(parent) and not os.path.isdir(parent):
            return "a file stands where the folder would be"
        return None
