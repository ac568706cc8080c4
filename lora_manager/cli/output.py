"""What a command prints: text for a person, or JSON with --json."""

from __future__ import annotations

import json
from typing import Any

import orjson


def emit(args, data: Any, text: str) -> None:
    print(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() if args.json else text)



def value_text(v: Any) -> str:
    """Text as it is; numbers, booleans and lists as JSON (true, ["a", "b"]), never Python reprs."""
    return v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)

