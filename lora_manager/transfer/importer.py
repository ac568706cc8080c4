"""Importing: plan first (every check, every match, every change, written down), then, unless it is a
dry run, back up and write the plan in one transaction (storage/transfer_store.py).

The plan reads the whole archive, usage lines included, before anything is written: an archive that
breaks the format anywhere is refused with nothing changed, not even a backup taken.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

from ..errors import InvalidInput
from ..storage.transfer_store import Changes, TransferStore, generation_key
from .archive import ArchiveReader, BadArchive
from .matching import LocalIndex
from .merge import FIELDS, clean, merge_user
from .recipes import plan_recipes

USAGE_BATCH = 10_000  # events per insert and rollup fold: bigger folds fewer repeated keys
SHOWN_SETTINGS = 50


def new_report(source: str, dry_run: bool, policy: str) -> dict[str, Any]:
    return {"source": source, "dry_run": dry_run, "on_conflict": policy,
            "counts": dict.fromkeys(("added", "updated", "conflicting", "unchanged", "unmatched"), 0),
            "loras": [], "collections": [], "usage": None, "previews": None, "settings": None, "recipes": None,
            "problems": [],
            "backup": None, "written": None}


def plan_user(changes: Changes, report: dict[str, Any], local: dict[int, dict[str, Any]], index: LocalIndex,
              label: str, ids: list[int], how: str | None, theirs: dict[str, Any], policy: str) -> None:
    """Merge one incoming record into the plan and the report (every local copy it matched)."""
    if not ids:
        report["counts"]["unmatched"] += 1
        report["loras"].append({"lora": label, "id": None, "match": None, "status": "unmatched"})
        return
    for lid in ids:
        ours = {f: (local.get(lid) or {}).get(f) for f in FIELDS}
        had = any(not _empty_value(v) for v in ours.values())
        values, conflicts = merge_user(ours, theirs, policy)
        status = "conflicting" if conflicts else ("unchanged" if not values else ("updated" if had else "added"))
        report["counts"][status] += 1
        item = {"lora": label, "id": lid, "local": index.label(lid), "match": how, "status": status}
        if values:
            item["changes"] = {f: {"from": ours.get(f), "to": v} for f, v in values.items()}
            if "tags" in values:
                changes.tags[lid] = values.pop("tags")
            if values:
                changes.user.setdefault(lid, {}).update(values)
        if conflicts:
            item["conflicts"] = conflicts
        report["loras"].append(item)


def _empty_value(v: Any) -> bool:
    return v is None or v is False or v in ([], "")


def _when(value: str | None) -> datetime | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)  # the format says: UTC without a zone


def plan_archive(store: TransferStore, reader: ArchiveReader, policy: str, report: dict[str, Any],
                 settings=None) -> tuple[Changes, Callable[[], Iterator[list]], list, dict[str, bytes]]:
    """Changes (usage as a generator factory, since it is read twice), the previews to place and the recipe
    covers to write."""
    manifest = reader.manifest()
    parts = set(manifest.parts)
    listed = reader.document("loras.json").loras if "loras.json" in reader.members else []
    refs = {r.ref: r for r in listed}
    if len(refs) != len(listed):
        raise BadArchive("refused: loras.json lists one ref twice")
    identities = store.identities()
    index = LocalIndex(identities)
    matched: dict[int, tuple[list[int], str | None]] = {n: index.match(r) for n, r in refs.items()}

    def target(n: int) -> tuple[list[int], str | None]:
        if n not in refs:
            raise BadArchive(f"refused: a part names LoRA ref {n}, which loras.json does not list")
        return matched[n]

    changes = Changes()
    local = store.user_data()
    if "userdata" in parts:
        for item in reader.document("userdata.json").items:
            ids, how = target(item.lora)
            ref = refs[item.lora]
            fields = item.model_dump(include=set(FIELDS))
            try:
                theirs = clean(fields)
            except InvalidInput as exc:
                raise BadArchive(f"refused: userdata for {ref.file_name}: {exc.message}") from None
            plan_user(changes, report, local, index, f"{ref.file_name} ({ref.relative_path or ref.path})", ids, how,
                      theirs, policy)
            for lid in ids:
                changes.feedback += _feedback(item.feedback, lid, local.get(lid, {}).get("feedback", []), policy)
    report["feedback"] = len(changes.feedback)  # counters added or raised
    if "collections" in parts:
        _plan_collections(store, reader, target, changes, report, policy)
    if "settings" in parts and settings is not None:
        from .export import settings_snapshot

        mine = settings_snapshot(settings)
        theirs = reader.document("settings.json").settings
        diff = {k: {"theirs": v, "ours": mine.get(k)} for k, v in theirs.items() if mine.get(k) != v}
        report["settings"] = {"applied": False,
                              "note": "settings come from flags and the environment: shown, not applied",
                              "differences": dict(list(diff.items())[:SHOWN_SETTINGS])}
    covers: dict[str, bytes] = {}
    if "recipes" in parts:
        covers = plan_recipes(store, reader, identities, policy, changes, report)
    usage = None
    if "usage" in parts:
        usage = _usage_factory(store, reader, target, report)
    previews = _plan_previews(reader, target, index, report) if manifest.previews else []
    return changes, usage, previews, covers


def _feedback(items, lid: int, have: list[dict[str, Any]], policy: str) -> list[dict[str, Any]]:
    mine = {f["user"]: f for f in have}
    out = []
    for f in items:
        row = {"user": f.user, "lora_id": lid, "accepts": f.accepts, "dismisses": f.dismisses, "downs": f.downs,
               "updated_at": _when(f.updated_at) or datetime.now().astimezone()}
        old = mine.get(f.user)
        if old is None:
            out.append(row)
        elif policy != "keep":  # counters: the larger of each, so importing twice counts nothing twice
            bigger = {k: max(old[k], row[k]) for k in ("accepts", "dismisses", "downs")}
            if any(bigger[k] != old[k] for k in bigger):
                out.append({**row, **bigger})
    return out


def _plan_collections(store, reader, target, changes: Changes, report, policy: str) -> None:
    local = {c["name"]: set(c["lora_ids"]) for c in store.collections()}
    for col in reader.document("collections.json").collections:
        members: list[int] = []
        unmatched = 0
        for n in col.loras:
            ids, _ = target(n)
            members += ids
            unmatched += not ids
        entry = {"name": col.name, "members": len(set(members)), "unmatched": unmatched}
        have = local.get(col.name)
        if have is None:
            entry["status"] = "added"
            changes.collections.append((col.name, _when(col.created_at), sorted(set(members)), False))
        elif set(members) <= have and (policy != "theirs" or set(members) == have):
            entry["status"] = "unchanged"
        elif policy == "keep":
            entry["status"] = "conflicting"
            entry["kept"] = "ours"
        else:
            entry["status"] = "updated"
            entry["kept"] = "theirs" if policy == "theirs" else "merged"
            changes.collections.append((col.name, None, sorted(set(members)), policy == "theirs"))
        report["collections"].append(entry)


def _usage_factory(store, reader, target, report) -> Callable[[], Iterator[list]]:
    counts = report["usage"] = {"events": 0, "added": 0, "present": 0, "loras_unmatched": 0}

    def batches() -> Iterator[list]:
        for key in counts:
            counts[key] = 0
        _header, lines = reader.usage()
        seen: set[int] = set()
        batch = []
        for gen in lines:
            batch.append(gen)
            if len(batch) >= USAGE_BATCH:
                yield _convert(store, batch, target, counts, seen)
                batch = []
        if batch:
            yield _convert(store, batch, target, counts, seen)

    return batches


def _convert(store, batch, target, counts, seen: set[int]) -> list:
    rows = []
    for g in batch:
        row = g.model_dump()
        for k in ("started_at", "finished_at"):
            row[k] = _when(row[k])
        rows.append((row, row.pop("loras")))
    have = store.generation_keys(min(r["started_at"] for r, _ in rows), max(r["started_at"] for r, _ in rows))
    out = []
    for row, g in rows:
        counts["events"] += 1
        key = generation_key(row["started_at"], row["seed"], row["prompt"])
        if key in have or hash(key) in seen:
            counts["present"] += 1
            continue
        seen.add(hash(key))
        loras = []
        for used in g:
            ref = used.pop("lora")
            ids = target(ref)[0] if ref is not None else []
            counts["loras_unmatched"] += ref is not None and not ids
            used["lora_id"] = ids[0] if ids else None
            loras.append(used)
        counts["added"] += 1
        out.append((row, loras))
    return out


def _plan_previews(reader, target, index: LocalIndex, report) -> list[tuple[str, Any]]:
    counts = report["previews"] = {"in_archive": 0, "added": 0, "present": 0, "unmatched": 0}
    out = []
    for n, suffix, info in reader.previews():
        counts["in_archive"] += 1
        ids = [i for i in target(n)[0] if index.rows[i]["state"] == "ok"]
        if not ids:
            counts["unmatched"] += 1
            continue
        row = index.rows[ids[0]]
        dest = os.path.join(os.path.dirname(row["path"]), row["file_name"].rsplit(".", 1)[0] + suffix)
        if os.path.lexists(dest):
            counts["present"] += 1  # a preview already there is never replaced
            continue
        counts["added"] += 1
        out.append((dest, info))
    return out


def place_previews(reader: ArchiveReader, previews: list[tuple[str, Any]]) -> int:
    """Write previews beside their LoRAs, never over an existing file (O_EXCL)."""
    n = 0
    for dest, info in previews:
        data = reader.read(info)
        try:
            fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o644)
        except FileExistsError:
            continue
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        n += 1
    return n
