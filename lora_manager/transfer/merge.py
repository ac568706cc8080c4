"""How what another library (or tool) says about a LoRA meets what we already have.

A field only the other side has is taken; a field only we have is never erased. Where both have
different values the policy decides: `keep` ours (the default), `theirs`, or `merge`: lists are
united, texts joined (ours first), single values stay ours. Every such field is reported as a
conflict with both values and what was kept.
"""

from __future__ import annotations

from typing import Any

from ..catalog.userdata import USER_FIELDS, validate_edit

FIELDS = (*USER_FIELDS, "tags")
POLICIES = ("keep", "theirs", "merge")


def empty(field: str, value: Any) -> bool:
    if field == "favorite":
        return not value
    if field == "tags":
        return not value
    if field in ("notes", "negative_text"):
        return value is None or not str(value).strip()
    return value is None  # triggers [] is a value: the user cleared the extracted ones


def _merged(field: str, ours: Any, theirs: Any) -> tuple[Any, str]:
    if field in ("tags", "triggers"):
        return list(dict.fromkeys([*ours, *theirs])), "merged"
    if field in ("notes", "negative_text"):
        return (ours, "ours") if theirs.strip() in ours else (f"{ours}\n\n{theirs}", "merged")
    return ours, "ours"


def merge_user(ours: dict[str, Any], theirs: dict[str, Any], policy: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(values to write, conflicts) for one LoRA. `ours`: its current user fields (empty dict when none);
    `theirs`: validated fields from the other side (see `clean`)."""
    changes: dict[str, Any] = {}
    conflicts: dict[str, Any] = {}
    for field, value in theirs.items():
        mine = ours.get(field)
        if empty(field, value) or _same(field, mine, value):
            continue
        if empty(field, mine):
            changes[field] = value
            continue
        if policy == "theirs":
            new, kept = value, "theirs"
        elif policy == "merge":
            new, kept = _merged(field, mine, value)
            if field in ("tags", "triggers", "notes", "negative_text") and _same(field, new, mine):
                continue  # theirs is already within ours: merged before, nothing conflicts
        else:
            new, kept = mine, "ours"
        conflicts[field] = {"ours": mine, "theirs": value, "kept": kept}
        if not _same(field, new, mine):
            changes[field] = new
    lo = changes.get("weight_min", ours.get("weight_min"))
    hi = changes.get("weight_max", ours.get("weight_max"))
    if lo is not None and hi is not None and lo > hi:  # a mix of both sides' ranges that is no range
        for field in ("weight_min", "weight_max"):
            if field in changes:
                conflicts[field] = {"ours": ours.get(field), "theirs": theirs.get(field), "kept": "ours"}
                del changes[field]
    return changes, conflicts


def _same(field: str, a: Any, b: Any) -> bool:
    if field == "tags":
        return sorted(a or []) == sorted(b or [])
    return a == b


def clean(fields: dict[str, Any]) -> dict[str, Any]:
    """The other side's fields through the same rules as an edit (InvalidInput when one breaks them)."""
    given = {k: v for k, v in fields.items() if k in FIELDS}
    out = validate_edit(given)
    if "base_override" in given and "base_override" not in out:
        out["base_override"] = None
    return {k: v for k, v in out.items() if k in FIELDS}
