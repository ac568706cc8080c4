"""The tables every store reads, and two small helpers (time, batches)."""

from __future__ import annotations

from collections.abc import Iterable

from ..library.clock import utcnow  # noqa: F401 - the stores' clock, one for every layer
from .hash_models import LoraHash
from .models import Lora, LoraModelTag, LoraTag, LoraUser

L = Lora.__table__
U = LoraUser.__table__
T = LoraTag.__table__
MT = LoraModelTag.__table__  # the model's own tags (derived from source_tags)
H = LoraHash.__table__  # a LoRA's hashes: one row per LoRA (hash_models.py)
# A LoRA with its hashes, for a query that reads or filters on both (a row of each, always).
LH = L.join(H, H.c.lora_id == L.c.id)


def chunks(items: list, size: int = 500) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
