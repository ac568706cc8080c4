"""User data other tools left beside the LoRAs, read into ours (`import --from ...`; docs/transfer.md).

- `sdnext`: the SDNext/A1111 user metadata `<base>.json` (activation text, preferred weight, notes,
  negative text; its description and "sd version" are file facts every scan already reads).
- `lm`: ComfyUI-Lora-Manager's `<base>.metadata.json` (favorite, tags, notes, trigger words, usage tips:
  strength and its range; its preview is a file beside the LoRA, which scans already find).
- `civitai-helper`: Civitai Helper's `<base>.civitai.info` (the trained words of the Civitai version).

The files are read with the same readers as scans (library/sidecars.py: size caps, any encoding a tool
writes, bad JSON reported). Trigger words count as the user's only when they say something the
extracted ones do not (scans already merge every sidecar's words into those).
"""

from __future__ import annotations

import os
from typing import Any

from ..errors import InvalidInput
from ..library.sidecars import read_sidecars
from ..storage.transfer_store import Changes, TransferStore
from .importer import plan_user
from .matching import LocalIndex
from .merge import clean

SOURCES = {
    "sdnext": (".json", ("a1111_json",)),
    "lm": (".metadata.json", ("lm_metadata",)),
    "civitai-helper": (".civitai.info", ("civitai_info",)),
}
LIVE = ("ok", "broken", "unsupported")


def _fields(source: str, facts) -> dict[str, Any]:
    if source == "sdnext":
        return {"triggers": facts.triggers or None, "preferred_weight": facts.preferred_weight, "notes": facts.notes,
                "negative_text": facts.negative_text}
    if source == "lm":
        return {"favorite": bool(facts.favorite), "tags": facts.tags, "notes": facts.notes,
                "triggers": facts.triggers or None, "preferred_weight": facts.preferred_weight,
                "weight_min": facts.weight_min, "weight_max": facts.weight_max}
    return {"triggers": facts.triggers or None}


def _new_words(theirs: list[str] | None, extracted: list[str] | None) -> bool:
    known = {w.casefold() for w in extracted or []}
    return bool(theirs) and any(w.casefold() not in known for w in theirs)


def plan_peers(store: TransferStore, source: str, policy: str, report: dict[str, Any]) -> Changes:
    if source not in SOURCES:
        raise InvalidInput(f"unknown source {source!r} (sdnext, lm, civitai-helper)")
    suffix, kinds = SOURCES[source]
    identities = store.identities()
    index = LocalIndex(identities)
    local = store.user_data()
    changes = Changes()
    report["files"] = {"read": 0, "unreadable": 0, "other_dialect": 0}
    for row in identities:
        if row["state"] not in LIVE:
            continue
        folder, file_name = os.path.split(row["path"])
        base = file_name.rsplit(".", 1)[0]
        name = base + suffix
        if not os.path.isfile(os.path.join(folder, name)):
            continue
        facts = next(iter(read_sidecars(folder, base, [name], sha256=row["sha256"])), None)
        if facts is None:
            continue
        if facts.error:
            report["files"]["unreadable"] += 1
            report["problems"].append({"path": os.path.join(folder, name), "problem": facts.error})
            continue
        if facts.kind not in kinds:
            report["files"]["other_dialect"] += 1  # e.g. SDNext's Civitai model answer under the same name
            continue
        report["files"]["read"] += 1
        raw = _fields(source, facts)
        if not _new_words(raw.get("triggers"), row["triggers"]):
            raw.pop("triggers", None)
        theirs: dict[str, Any] = {}
        for field, value in raw.items():
            try:
                theirs.update(clean({field: value}))
            except InvalidInput as exc:  # one bad value in a tool's file skips that value, not the LoRA
                report["problems"].append({"path": os.path.join(folder, name), "problem": f"{field}: {exc.message}"})
        if theirs.get("weight_min") is not None and theirs.get("weight_max") is not None \
                and theirs["weight_min"] > theirs["weight_max"]:
            theirs.pop("weight_min")
            theirs.pop("weight_max")
        plan_user(changes, report, local, index, name, [row["id"]], "beside", theirs, policy)
    return changes
