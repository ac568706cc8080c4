"""Writing an export archive: one versioned JSON document per part (schema.py, docs/export-schema.json).

LoRAs are named once, in loras.json, by full SHA-256, tensor hash, AutoV2, path (absolute and below its
root) and names; the other parts point at them by `ref` (recipes name theirs by hash, as the recipe
document does). Usage is JSON lines, streamed from the
database in pages, so a million events never sit in memory.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from typing import Any

import orjson

from .. import __version__
from ..settings import DOCUMENTED
from ..storage.transfer_store import TransferStore
from ..library.clock import as_utc as utc
from .archive import ArchiveWriter, PREVIEW_SUFFIX
from .matching import relative_path
from .recipes import export_recipes
from .schema import FORMAT, VERSION

# Never written into an archive: keys, and addresses that may carry a password (a field kept out of the
# settings' repr is a secret too, so a new secret setting stays out without being listed here).
SECRET_SETTINGS = {"api_key", "db_url", "civitai_key", "redis_url"}


def _secret(settings, name: str) -> bool:
    spec = getattr(type(settings), "__dataclass_fields__", {}).get(name)
    return name in SECRET_SETTINGS or (spec is not None and not spec.repr)


def _iso(value: Any) -> Any:
    return utc(value).isoformat() if isinstance(value, datetime) else value


def _doc(part: str, **body: Any) -> dict[str, Any]:
    return {"format": f"{FORMAT}/{part}", "version": VERSION, **body}


def settings_snapshot(settings) -> dict[str, Any]:
    out = {}
    for name in DOCUMENTED:
        if _secret(settings, name):
            continue
        value = getattr(settings, name, None)
        out[name] = list(value) if isinstance(value, tuple) else value
    return out


def export_archive(store: TransferStore, path: str, parts: list[str], *, settings=None,
                   include_previews: bool = False) -> dict[str, Any]:
    """Write the archive at `path` (complete or not at all); returns {file, size, parts, counts}."""
    parts = [p for p in parts if p != "settings" or settings is not None]
    writer = ArchiveWriter(path)
    try:
        counts = _write(store, writer, parts, settings, include_previews)
        manifest = {"format": FORMAT, "version": VERSION, "created": datetime.now(timezone.utc).isoformat(),
                    "app_version": __version__, "parts": parts, "counts": counts, "previews": include_previews}
        writer.doc("manifest.json", manifest)
        writer.finish()
    except BaseException:
        writer.abort()
        raise
    return {"file": writer.path, "size": os.path.getsize(writer.path), "parts": parts, "counts": counts}


def _write(store: TransferStore, writer: ArchiveWriter, parts: list[str], settings,
           include_previews: bool) -> dict[str, int]:
    identities = store.identities()
    refs: dict[int, int] = {}  # lora id -> ref, in the order first needed

    def ref(lid: int | None) -> int | None:
        if lid is None:
            return None
        if lid not in refs:
            refs[lid] = len(refs)
        return refs[lid]

    counts: dict[str, int] = {}
    if "userdata" in parts:
        items = []
        for lid, u in sorted(store.user_data().items()):
            item = {"lora": ref(lid), **{k: v for k, v in u.items() if k not in ("feedback", "updated_at")},
                    "updated_at": _iso(u["updated_at"]),
                    "feedback": [{**f, "updated_at": _iso(f["updated_at"])} for f in u["feedback"]]}
            items.append(item)
        writer.doc("userdata.json", _doc("userdata", items=items))
        counts["userdata"] = len(items)
    if "collections" in parts:
        cols = [{"name": c["name"], "created_at": _iso(c["created_at"]), "loras": [ref(i) for i in c["lora_ids"]]}
                for c in store.collections()]
        writer.doc("collections.json", _doc("collections", collections=cols))
        counts["collections"] = len(cols)
    if "recipes" in parts:  # the recipe document's shape, each LoRA by its hashes (transfer/recipes.py)
        counts.update(export_recipes(store, writer, identities, getattr(settings, "data_dir", None)))
    if "usage" in parts:
        counts["usage"] = _usage(store, writer, ref)
    if "settings" in parts and settings is not None:
        writer.doc("settings.json", _doc("settings", settings=settings_snapshot(settings)))
    by_id = {r["id"]: r for r in identities}
    if include_previews:
        for r in identities:
            if r["state"] == "ok" and r["previews"]:
                ref(r["id"])
        counts["previews"] = _previews(writer, refs, by_id)
    loras = []
    for lid, n in sorted(refs.items(), key=lambda kv: kv[1]):
        r = by_id[lid]
        loras.append({"ref": n, "sha256": r["sha256"], "tensor_sha256": r["tensor_sha256"] or r["header_hash"],
                      "autov2": r["sha256"][:10] if r["sha256"] else None, "path": r["path"],
                      "relative_path": relative_path(r["path"], r["root"]), "file_name": r["file_name"],
                      "prompt_name": r["prompt_name"], "size": r["size"], "state": r["state"]})
    writer.doc("loras.json", _doc("loras", loras=loras))
    counts["loras"] = len(loras)
    return counts


def _usage(store: TransferStore, writer: ArchiveWriter, ref) -> int:
    n = 0
    with writer.stream("usage.jsonl") as out:
        out.write(orjson.dumps(_doc("usage", count=store.generation_count())) + b"\n")
        for batch in store.generations():
            lines = []
            for g in batch:
                row = {k: _iso(v) for k, v in g.items() if k not in ("id", "loras")}
                row["loras"] = [{**{k: v for k, v in r.items() if k != "lora_id"}, "lora": ref(r["lora_id"])}
                                for r in g["loras"]]
                lines.append(orjson.dumps(row))
            out.write(b"\n".join(lines) + b"\n")
            n += len(batch)
    return n


def _previews(writer: ArchiveWriter, refs: dict[int, int], by_id: dict[int, dict]) -> int:
    n = 0
    for lid, number in list(refs.items()):
        r = by_id[lid]
        base = r["file_name"].rsplit(".", 1)[0]
        folder = os.path.dirname(r["path"])
        for p in r["previews"] or []:
            name = p.get("name") if isinstance(p, dict) else None
            if not isinstance(name, str) or not name.startswith(base):
                continue
            suffix = name[len(base):]
            source = os.path.join(folder, name)
            if PREVIEW_SUFFIX.match(suffix) and os.path.isfile(source) and not os.path.islink(source):
                writer.file(f"previews/{number}/{suffix}", source)
                n += 1
    return n
