"""Each LoRA of a recipe against the library: by its hashes first (the tensor hash A1111/SDNext write in
`Lora hashes`, AutoV3; then the full-file SHA-256 or its AutoV2 prefix from Civitai's `Hashes`), then by
name (the prompt name the host resolves). A LoRA found by name whose recorded hash differs is a
different file: it is reported as such, never silently taken."""

from __future__ import annotations

from typing import Any

from ..errors import NotFound
from .parse.civitai import link

PRESENT = ("ok", "unsupported")


def _find(catalog, key: str | int) -> dict[str, Any] | None:
    try:
        return catalog.get(key)
    except NotFound:
        return None


def match(catalog, lora: dict[str, Any]) -> dict[str, Any]:
    """{present, lora_id, prompt_name, state, base_model, matched_by, civitai_url, note}."""
    entry, by = None, None
    for field, label in (("tensor_sha256", "tensor_hash"), ("sha256", "sha256")):
        value = lora.get(field)
        if value:
            entry = _find(catalog, value)
            if entry is not None and not _agrees(entry, field, value):
                entry = None  # a name or prefix of another kind matched: not this hash
            if entry is not None:
                by = label
                break
    note = None
    if entry is None and lora.get("name"):
        entry = _find(catalog, lora["name"])
        if entry is not None:
            by = "name"
            if _contradicts(entry, lora):
                note = "a LoRA of this name is in the library, but its hash differs (another version?)"
    present = entry is not None and entry.get("state") in PRESENT
    return {
        "present": bool(present and note is None), "lora_id": entry["id"] if entry else None,
        "prompt_name": entry["prompt_name"] if entry else None, "state": entry["state"] if entry else None,
        "base_model": entry.get("base_model") if entry else None, "matched_by": by,
        "preview": bool(entry.get("previews")) if entry else False,
        "civitai_url": link(lora.get("civitai_model_id"), lora.get("civitai_version_id")), "note": note,
        "entry": entry,
    }


def _agrees(entry: dict[str, Any], field: str, value: str) -> bool:
    own = (entry.get(field) or "").lower()
    return bool(own) and own.startswith(value.lower())


def _contradicts(entry: dict[str, Any], lora: dict[str, Any]) -> bool:
    for field in ("tensor_sha256", "sha256"):
        given, own = lora.get(field), entry.get(field)
        if given and own and not own.lower().startswith(given.lower()):
            return True
    return False


def settle(catalog, loras: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The stack as stored: each LoRA found in the library gets its full hashes and the prompt name the host
    resolves (a hash match may find a renamed file); the others stay as given."""
    out = []
    for lora in loras:
        found = match(catalog, lora)
        entry = found["entry"]
        item = dict(lora)
        if entry is not None and found["note"] is None:
            item["name"] = entry["prompt_name"]
            item["sha256"] = entry.get("sha256") or item.get("sha256")
            item["tensor_sha256"] = entry.get("tensor_sha256") or item.get("tensor_sha256")
        out.append(item)
    return out


def presence(catalog, loras: list[dict[str, Any]], seen: dict | None = None) -> list[dict[str, Any]]:
    """The stack with each LoRA's presence (no entry bodies); `seen` keeps answers across the recipes of a page."""
    seen = {} if seen is None else seen
    out = []
    for lora in loras:
        key = (lora.get("name"), lora.get("sha256"), lora.get("tensor_sha256"), lora.get("civitai_model_id"),
               lora.get("civitai_version_id"))
        if key not in seen:
            found = match(catalog, lora)
            found.pop("entry")
            seen[key] = found
        out.append({**lora, **seen[key]})
    return out
