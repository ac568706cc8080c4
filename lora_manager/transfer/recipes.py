"""Recipes in the export archive (docs/transfer.md): written as the recipe document has them (docs/recipes.md),
each LoRA by its full-file and tensor hashes, with the recipe's creation time and its cover as a member; read
back matched by hash, merged without duplicates.

A recipe already here (the same fields, LoRAs and tags) is left alone, so a second import adds nothing. A
recipe with the same creation time but other fields is the same recipe edited on one side: a conflict, kept,
replaced or merged by the import's policy. A local recipe is never removed. Covers are decoded and written
again as WebP by Pillow before anything is saved: a hostile one refuses the archive.
"""

from __future__ import annotations

import os
import secrets
from datetime import datetime
from typing import Any

import orjson

from ..errors import InvalidInput, LoraManagerError
from ..library.clock import as_utc
from ..recipes.exchange import portable
from ..recipes.model import default_title, validate
from .archive import MAX_COVER_BYTES, ArchiveReader, ArchiveWriter, BadArchive

COVER_DIR = "recipe-covers"  # below the data directory, as recipes/service.py keeps them
SHOWN = 200  # recipes listed by name in a report


class HashIndex:
    """The library's LoRAs by full hash, AutoV2, tensor hash and its short forms, and by prompt name."""

    def __init__(self, identities: list[dict[str, Any]]):
        self.keys: dict[str, dict[str, Any]] = {}
        names: dict[str, list[dict[str, Any]]] = {}
        for r in identities:
            if r["state"] in ("other", "trashed"):
                continue
            tensor = r["tensor_sha256"] or r["header_hash"]
            for key in ([f"s:{r['sha256']}", f"s:{r['sha256'][:10]}"] if r["sha256"] else []) + (
                    [f"t:{tensor}", f"t:{tensor[:8]}", f"t:{tensor[:10]}", f"t:{tensor[:12]}"] if tensor else []):
                self.keys.setdefault(key, r)
            names.setdefault(r["prompt_name"], []).append(r)
        self.names = {n: rows[0] for n, rows in names.items() if len(rows) == 1}

    def find(self, lora: dict[str, Any], *, by_name: bool) -> tuple[dict[str, Any] | None, str | None]:
        """(the library's row, how) for a recipe's LoRA: tensor hash, then full hash, then (only when it has no
        hash at all and `by_name`) a prompt name one LoRA has."""
        for prefix, field in (("t", "tensor_sha256"), ("s", "sha256")):
            value = (lora.get(field) or "").lower()
            if value and f"{prefix}:{value}" in self.keys:
                return self.keys[f"{prefix}:{value}"], "hash"
        if by_name and not lora.get("sha256") and not lora.get("tensor_sha256") and lora.get("name") in self.names:
            return self.names[lora["name"]], "name"
        return None, None


def _full_hashes(lora: dict[str, Any], row: dict[str, Any] | None) -> dict[str, Any]:
    if row is None:
        return lora
    tensor = row["tensor_sha256"] or row["header_hash"]
    return {**lora, "sha256": row["sha256"] or lora.get("sha256"), "tensor_sha256": tensor or lora.get("tensor_sha256")}


def when(value: Any) -> datetime | None:
    """A creation time as a moment in UTC (ISO text as the format has it: `Z`, an offset, or UTC without one)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise BadArchive(f"refused: recipes.json has a creation time that is not a date: {value[:40]!r}") from None
    return as_utc(value) if isinstance(value, datetime) else None


def moment(value: Any) -> str | None:
    """A creation time as one text, the same on either machine and database."""
    at = when(value)
    return None if at is None else at.replace(tzinfo=None).isoformat(timespec="microseconds")


# ---------------------------------------------------------------------------------------------- export
def export_recipes(store, writer: ArchiveWriter, identities: list[dict[str, Any]], data_dir: str | None) -> dict:
    """recipes.json and the covers; {recipes, recipe_covers} counts."""
    index = HashIndex(identities)
    folder = os.path.join(data_dir, COVER_DIR) if data_dir else None
    items, covers = [], 0
    for n, r in enumerate(store.recipes()):
        item = portable(r)
        item["loras"] = [_full_hashes(lo, index.find(lo, by_name=True)[0]) for lo in item["loras"]]
        item["created_at"] = moment(r["created_at"])
        source = os.path.join(folder, r["cover"]) if folder and r.get("cover") else None
        if source and os.path.isfile(source) and not os.path.islink(source) and \
                os.path.getsize(source) <= MAX_COVER_BYTES:
            item["cover"] = f"{COVER_DIR}/{n}.webp"
            writer.file(item["cover"], source)
            covers += 1
        items.append(item)
    writer.doc("recipes.json", {"format": "lora-manager-export/recipes", "version": 1, "recipes": items})
    return {"recipes": len(items), "recipe_covers": covers}


# ---------------------------------------------------------------------------------------------- import
def fingerprint(recipe: dict[str, Any]) -> bytes:
    """A recipe's fields, LoRAs and tags, in one comparable form (no ids, dates or cover)."""
    out = portable(recipe)
    out["tags"] = sorted(out.get("tags") or [])
    return orjson.dumps(out, option=orjson.OPT_SORT_KEYS)


def plan_recipes(store, reader: ArchiveReader, identities: list[dict[str, Any]], policy: str, changes,
                 report: dict[str, Any]) -> dict[str, bytes]:
    """Every recipe of the archive into `changes` (added, changed) and `report["recipes"]`; the covers to write
    (new file name -> WebP bytes), each decoded and written again by Pillow."""
    counts = report["recipes"] = {"in_archive": 0, "added": 0, "present": 0, "conflicting": 0, "updated": 0,
                                  "covers": 0, "loras_by_hash": 0, "loras_missing": 0,
                                  "items": []}
    index = HashIndex(identities)
    local = store.recipes()
    by_print = {fingerprint(r) for r in local}
    by_moment = {moment(r["created_at"]): r for r in local}
    covers: dict[str, bytes] = {}
    for n, item in enumerate(reader.document("recipes.json").recipes):
        counts["in_archive"] += 1
        theirs = _settled(item, index, counts, n)
        ours = by_moment.get(moment(item.created_at)) if item.created_at else None
        if fingerprint(theirs) in by_print:
            counts["present"] += 1
            continue
        status = "added"
        if ours is None:
            theirs.update(created_at=when(item.created_at), source="import",
                          cover=_cover(reader, item.cover, covers))
            changes.recipes.append(theirs)
        elif policy == "keep" or (policy == "merge" and fingerprint(_merge(ours, theirs)) == fingerprint(ours)):
            status = "conflicting"  # ours stays as it is (merged again, nothing of theirs is missing from it)
        else:
            status = "updated"
            merged = theirs if policy == "theirs" else _merge(ours, theirs)
            merged.update(source=ours["source"], cover=ours.get("cover") or _cover(reader, item.cover, covers))
            changes.recipe_changes.append((ours["id"], merged))
        counts[status] += 1
        if len(counts["items"]) < SHOWN:
            counts["items"].append({"title": theirs["title"], "status": status, "id": ours["id"] if ours else None,
                                    **({"kept": "ours"} if status == "conflicting" else {})})
    counts["covers"] = len(covers)
    return covers


def _settled(item, index: HashIndex, counts: dict[str, Any], n: int) -> dict[str, Any]:
    """The recipe's fields as ours are stored: checked as an edit is, each LoRA found by hash taking the library's
    prompt name and full hashes."""
    try:
        values = validate(item.model_dump(exclude={"created_at", "cover"}))
    except InvalidInput as exc:
        raise BadArchive(f"refused: recipes.json, recipe {n + 1}: {exc.message}") from None
    loras = []
    for lo in values["loras"]:
        row, how = index.find(lo, by_name=False)
        counts["loras_by_hash"] += how == "hash"
        counts["loras_missing"] += row is None
        loras.append({**_full_hashes(lo, row), "name": row["prompt_name"]} if row else lo)
    values["loras"] = loras
    if not values["title"]:
        values["title"] = default_title(values["prompt"], fallback=loras[0]["name"] if loras else "Recipe")
    return values


def _merge(ours: dict[str, Any], theirs: dict[str, Any]) -> dict[str, Any]:
    """Ours, with their tags added and their notes joined after ours (as user data merges)."""
    out = {k: ours.get(k) for k in theirs}
    out["tags"] = sorted(set(ours.get("tags") or []) | set(theirs.get("tags") or []))
    mine, other = ours.get("notes") or "", theirs.get("notes") or ""
    out["notes"] = mine if not other or other in mine else (f"{mine}\n\n{other}" if mine else other)
    return out


def _cover(reader: ArchiveReader, member: str | None, covers: dict[str, bytes]) -> str | None:
    if not member:
        return None
    from ..recipes.images import open_image, thumbnail

    data = reader.cover(member)
    try:
        image = thumbnail(open_image(data, max_bytes=MAX_COVER_BYTES))
    except LoraManagerError as exc:
        raise BadArchive(f"refused: {member} is not a cover image we can read ({exc.message})") from None
    name = secrets.token_hex(12) + ".webp"
    covers[name] = image
    return name


def place_covers(data_dir: str, covers: dict[str, bytes]) -> list[str]:
    """Write the covers (before the recipes that name them are saved); the paths written."""
    folder = os.path.join(data_dir, COVER_DIR)
    os.makedirs(folder, exist_ok=True)
    written = []
    for name, data in covers.items():
        path = os.path.join(folder, name)
        with open(path + ".part", "wb") as f:
            f.write(data)
        os.replace(path + ".part", path)
        written.append(path)
    return written


def drop_covers(paths: list[str]) -> None:
    """Covers written for an import that then failed: no recipe names them."""
    for path in paths:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
