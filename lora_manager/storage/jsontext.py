"""JSON kept as text, written with orjson.

Values may arrive already serialised as `bytes` (header workers serialise
their rows so the scanning process only passes them through): bytes are
stored as they are. No column here ever holds a JSON *string* at top level.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator


class JSONText(TypeDecorator):
    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect) -> str | None:
        if value is None:
            return None
        if isinstance(value, (bytes, bytearray, memoryview)):
            return bytes(value).decode()
        return orjson.dumps(value).decode()

    def process_result_value(self, value: str | None, dialect) -> Any:
        return None if value is None else orjson.loads(value)
