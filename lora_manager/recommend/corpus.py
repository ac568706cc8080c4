"""The library in memory as the recommender ranks it: documents, BM25, triggers,
look-ups by id and prompt name. Immutable once built; a change builds a new one."""

from __future__ import annotations

from dataclasses import dataclass, field

from .lexical import BM25, TriggerIndex
from .text import LoraDoc


@dataclass
class Corpus:
    docs: list[LoraDoc]
    bm25: BM25 = field(init=False)
    triggers: TriggerIndex = field(init=False)
    pos: dict[int, int] = field(init=False)  # id -> position in docs
    by_name: dict[str, int] = field(init=False)  # prompt name (and its lower case) -> position

    def __post_init__(self) -> None:
        self.bm25 = BM25([d.words for d in self.docs])
        self.triggers = TriggerIndex(self.docs)
        self.pos = {d.id: i for i, d in enumerate(self.docs)}
        self.by_name = {}
        for i, d in enumerate(self.docs):
            self.by_name.setdefault(d.prompt_name, i)
        for i, d in enumerate(self.docs):
            self.by_name.setdefault(d.prompt_name.lower(), i)

    def __len__(self) -> int:
        return len(self.docs)

    def find(self, prompt_name: str) -> int | None:
        """Position of the LoRA a prompt names (as the host resolves it; case-blind as a fallback)."""
        hit = self.by_name.get(prompt_name)
        return hit if hit is not None else self.by_name.get(prompt_name.lower())
