"""Civitai's additions to an infotext (its generator and the A1111 Civitai extension write them).

`Hashes: {"model": "<AutoV2>", "lora:<name>": "<AutoV2>", ...}`: full-file SHA-256 prefixes (10 hex).
`Civitai resources: [{"type": "lora", "weight": 0.8, "modelVersionId": 1, "modelName": "...", ...}]`:
the resources used, by Civitai id; a LoRA there but not in the prompt joins the stack under its name.
"""

from __future__ import annotations

import re
from typing import Any


from ...library.sidecar_values import loads_or_none

HEX = re.compile(r"^[0-9a-fA-F]{8,64}$")




def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**53 else None


def add(fields: dict[str, Any], params: dict[str, str], notes: list[str]) -> None:
    hashes = loads_or_none(params.get("Hashes"))
    if isinstance(hashes, dict):
        for key, value in hashes.items():
            if not (isinstance(key, str) and isinstance(value, str) and HEX.match(value)):
                continue
            if key == "model" and not fields.get("checkpoint_hash"):
                fields["checkpoint_hash"] = value.lower()
            elif key.startswith("lora:"):
                for lora in fields["loras"]:
                    if lora["name"] == key[5:]:
                        lora["sha256"] = value.lower()
    elif params.get("Hashes"):
        notes.append("the 'Hashes' field is not the JSON Civitai writes; ignored")
    resources = loads_or_none(params.get("Civitai resources"))
    if params.get("Civitai resources") and not isinstance(resources, list):
        notes.append("the 'Civitai resources' field is not a JSON list; ignored")
        return
    for res in (resources or [])[:64]:
        if not isinstance(res, dict):
            continue
        kind = str(res.get("type") or "").lower()
        version, model = _int(res.get("modelVersionId")), _int(res.get("modelId"))
        name = str(res.get("modelName") or "")[:300]
        if kind == "checkpoint":
            if name and not fields.get("checkpoint"):
                fields["checkpoint"] = name
            continue
        if kind not in ("lora", "locon", "lycoris", "dora"):
            continue
        match = next((lo for lo in fields["loras"] if name and _same(lo["name"], name)), None)
        if match is None:
            clean = re.sub(r"[<>:\n\r\x00]", " ", name).strip() or f"civitai-{version or model or 'lora'}"
            match = {"name": clean[:300], "weight": 1.0}
            fields["loras"].append(match)
        weight = res.get("weight")
        if isinstance(weight, (int, float)) and not isinstance(weight, bool) and -20 <= weight <= 20:
            match["weight"] = float(weight)
        if version:
            match["civitai_version_id"] = version
        if model:
            match["civitai_model_id"] = model


def _same(a: str, b: str) -> bool:
    def norm(s: str) -> str:
        return re.sub(r"[^0-9a-z]", "", s.lower())

    return norm(a) == norm(b)


def link(model_id: int | None, version_id: int | None) -> str | None:
    """Civitai's page of a LoRA, when its ids are known."""
    if model_id:
        return f"https://civitai.com/models/{model_id}" + (f"?modelVersionId={version_id}" if version_id else "")
    if version_id:
        return f"https://civitai.com/api/v1/model-versions/{version_id}"
    return None
