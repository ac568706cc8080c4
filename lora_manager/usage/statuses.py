"""What became of each LoRA a generation asked for (applied, skipped, not found, not applied):
the rows of `generation_loras` for one event, decided here; `storage/usage_store.py` writes them."""

from __future__ import annotations

from typing import Any

from .prompts import is_skipped

STATUSES = ("applied", "skipped", "not_found", "not_applied")


def status(ref: dict[str, Any], applied: dict[str, dict[str, Any]], known: dict[str, int]) -> str:
    """`ref`: a requested LoRA ({name, te, unet}); `applied`: what the host applied, by name;
    `known`: prompt names the library has, with their ids."""
    if ref["name"] in applied:
        return "applied"
    if is_skipped(ref.get("te"), ref.get("unet")):
        return "skipped"
    return "not_found" if ref["name"] not in known else "not_applied"


def lora_rows(generation_id: int, event: dict[str, Any], known: dict[str, int]) -> list[dict[str, Any]]:
    """The LoRA rows of one stored event (see recorder.GenerationEvent.as_row): each requested LoRA in
    prompt order, then those applied without being asked for in the prompt."""
    applied = {a["name"]: a for a in event.get("applied", [])}
    rows = []
    for pos, ref in enumerate(event.get("requested", [])):
        hit = applied.get(ref["name"])
        rows.append({
            "generation_id": generation_id, "position": pos, "prompt_name": ref["name"][:500],
            "lora_id": known.get(ref["name"]), "requested_weight": ref.get("weight"), "requested_te": ref.get("te"),
            "requested_unet": ref.get("unet"), "schedule": ref.get("schedule"), "applied": hit is not None,
            "applied_te": hit.get("te") if hit else None, "applied_unet": hit.get("unet") if hit else None,
            "status": status(ref, applied, known),
        })
    requested = {r["name"] for r in event.get("requested", [])}
    for extra in (a for a in event.get("applied", []) if a["name"] not in requested):
        # Applied without being in the prompt (a style, an extension): still used.
        rows.append({
            "generation_id": generation_id, "position": len(rows), "prompt_name": extra["name"][:500],
            "lora_id": known.get(extra["name"]), "requested_weight": None, "requested_te": None,
            "requested_unet": None, "schedule": None, "applied": True, "applied_te": extra.get("te"),
            "applied_unet": extra.get("unet"), "status": "applied",
        })
    return rows
