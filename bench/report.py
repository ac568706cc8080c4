"""Printing a benchmark's figures, and saving them with --json."""

from __future__ import annotations

import json


def emit(result: dict, path: str | None) -> None:
    text = json.dumps(result, indent=2)
    print(text)
    if path:
        with open(path, "w") as f:
            f.write(text + "\n")
