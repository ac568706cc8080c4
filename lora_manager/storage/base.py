"""The tables every store reads, and two small helpers (time, batches)."""

from __future__ import annotations

from collections.abc import Iterable

from ..library.clock import utcnow  # noqa: F401 - the stores' clock, one for every layer
from .models import Lora, LoraModelTag, LoraTag, LoraUser

L = Lora.__table__
U = LoraUser.__table__
T = LoraTag.__table__
MT = LoraModelTag.__table__  # the model's own tags (derived from source_tags)


def chunks(items: list, size: int = 500) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
