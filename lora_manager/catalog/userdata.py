"""Validation of what a user may say about a LoRA (pure; shared by CLI, API and tab)."""

from __future__ import annotations

import math
from typing import Any

from ..errors import InvalidInput
from ..library.basemodel import FAMILIES

# The limits of user data, here once: the API's schemas (api/schemas.py) are built from them.
MAX_NOTES = 20_000  # notes, negative text
MAX_TAG = 100  # one tag
MAX_TAGS = 200  # tags of one LoRA
MAX_TRIGGER = 200  # one trigger word
MAX_TRIGGERS = 100  # trigger words of one LoRA
MAX_COLLECTION = 200  # a collection's name
MAX_RATING = 5
MAX_DISPLAY_NAME = 300
WEIGHT_LIMIT = 10.0  # weights lie in -WEIGHT_LIMIT..WEIGHT_LIMIT
# Text a database keeps faithfully (PostgreSQL refuses NUL), and such text with something in it,
# as patterns for the API's schemas (check_text below says the same to every face).
TEXT = r"^[^\x00]*$"
WORD = r"^[^\x00]*[^\x00\s][^\x00]*$"
USER_FIELDS = (
    "favorite", "rating", "notes", "triggers", "preferred_weight", "weight_min", "weight_max", "negative_text",
    "base_override", "display_name",
)
EDITABLE = USER_FIELDS + ("tags", "base_model")


def check_text(name: str, value: str) -> str:
    """Refuse text no database keeps faithfully: NUL characters (PostgreSQL rejects
    them) and lone surrogates (not encodable as UTF-8)."""
    if "\x00" in value:
        raise InvalidInput(f"{name} contains a NUL character", {"field": name})
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(f"{name} is not valid Unicode text", {"field": name}) from None
    return value


def normalise_tag(tag: Any) -> str:
    if not isinstance(tag, str):
        raise InvalidInput("a tag must be a string", {"tag": repr(tag)[:100]})
    check_text("tag", tag)
    tag = " ".join(tag.strip().lower().split())
    if not tag:
        raise InvalidInput("a tag cannot be empty")
    if len(tag) > MAX_TAG:
        raise InvalidInput(f"a tag is at most {MAX_TAG} characters", {"tag": tag[:100]})
    return tag


def normalise_tags(tags: Any) -> list[str]:
    if isinstance(tags, str):
        tags = [t for t in tags.split(",") if t.strip()]
    if not isinstance(tags, (list, tuple)):
        raise InvalidInput("tags must be a list of strings")
    out = list(dict.fromkeys(normalise_tag(t) for t in tags))
    if len(out) > MAX_TAGS:
        raise InvalidInput(f"at most {MAX_TAGS} tags")
    return out


def _weight(name: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise InvalidInput(f"{name} must be a number", {"field": name}) from None
    value = float(value)
    if not math.isfinite(value) or abs(value) > WEIGHT_LIMIT:
        raise InvalidInput(f"{name} must be between -{WEIGHT_LIMIT:g} and {WEIGHT_LIMIT:g}", {"field": name})
    return value


def _text(name: str, value: Any, cap: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be text", {"field": name})
    check_text(name, value)
    if len(value) > cap:
        raise InvalidInput(f"{name} is at most {cap} characters", {"field": name})
    return value


TEXT_CAPS = {"notes": MAX_NOTES, "negative_text": MAX_NOTES, "display_name": MAX_DISPLAY_NAME}


def _tidy(name: str, value: str | None) -> str | None:
    """A display name is one line with single spaces; blank resets it (the title shows again)."""
    if name != "display_name" or value is None:
        return value
    return " ".join(value.split()) or None


def validate_edit(fields: dict[str, Any]) -> dict[str, Any]:
    """Check an edit of user data; returns normalised values. Unknown fields are refused."""
    unknown = sorted(set(fields) - set(EDITABLE))
    if unknown:
        raise InvalidInput(f"unknown field(s): {', '.join(unknown)}", {"allowed": list(EDITABLE)})
    out: dict[str, Any] = {}
    for name, value in fields.items():
        if name == "favorite":
            value = False if value is None else value  # null resets: not a favorite
            if not isinstance(value, bool):
                raise InvalidInput("favorite must be true or false", {"field": name})
            out[name] = value
        elif name == "rating":
            whole = isinstance(value, int) and not isinstance(value, bool)
            if value is not None and not (whole and 0 <= value <= MAX_RATING):
                raise InvalidInput(f"rating must be a whole number from 0 to {MAX_RATING}, or null", {"field": name})
            out[name] = value
        elif name in TEXT_CAPS:
            out[name] = _tidy(name, _text(name, value, TEXT_CAPS[name]))
        elif name == "triggers":
            if value is None:
                out[name] = None  # back to the extracted trigger words
            else:
                if isinstance(value, str):
                    value = [v for v in value.split(",")]
                if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
                    raise InvalidInput("triggers must be a list of strings, or null", {"field": name})
                words = list(dict.fromkeys(check_text("triggers", v).strip() for v in value if v.strip()))
                if len(words) > MAX_TRIGGERS or any(len(w) > MAX_TRIGGER for w in words):
                    raise InvalidInput(f"at most {MAX_TRIGGERS} trigger words of up to {MAX_TRIGGER} characters",
                                       {"field": name})
                out[name] = words
        elif name in ("preferred_weight", "weight_min", "weight_max"):
            out[name] = _weight(name, value)
        elif name in ("base_override", "base_model"):
            if value in (None, ""):
                out["base_override"] = None
            elif value not in FAMILIES:
                raise InvalidInput(f"unknown base model family {str(value)[:40]!r}",
                                   {"field": name, "allowed": list(FAMILIES)})
            else:
                out["base_override"] = value
        elif name == "tags":
            out[name] = [] if value is None else normalise_tags(value)  # null resets: no tags
    lo, hi = out.get("weight_min"), out.get("weight_max")
    if lo is not None and hi is not None and lo > hi:
        raise InvalidInput("weight_min must not be above weight_max")
    return out
