"""The library in memory as the recommender ranks it: documents, BM25, triggers,
look-ups by id and prompt name. Immutable once built; a change builds a new one.

Built from a stream of documents: each one's words go into the index and are
dropped from the document, so only the compact index stays (a document's
words are read again from the database when a query needs them)."""

from __future__ import annotations

from sys import intern
from collections.abc import Iterable

from .lexical import BM25, TriggerIndex
from .text import LoraDoc


class Corpus:
    def __init__(self, docs: Iterable[LoraDoc], *, keep_text: bool = True):
        """`keep_text=False` drops the embedder's text and digest (no model to feed)."""
        self.docs: list[LoraDoc] = []
        self.bm25 = BM25()
        self.triggers = TriggerIndex()
        self.texts_dropped = not keep_text
        self.pos: dict[int, int] = {}  # id -> position in docs
        self.by_name: dict[str, int] = {}  # prompt name (and its lower case) -> position
        lower: list[tuple[str, int]] = []
        for d in docs:
            i = len(self.docs)
            self.bm25.add(d.words)
            self.triggers.add(i, d.triggers)
            d.words, d.triggers = (), ()  # shared: no empty list per document
            if d.family is not None:
                d.family = intern(d.family)
            if not keep_text:
                d.text, d.digest = "", ""
            self.docs.append(d)
            self.pos[d.id] = i
            self.by_name.setdefault(d.prompt_name, i)
            low = d.prompt_name.lower()
            if low != d.prompt_name:
                lower.append((low, i))
        for low, i in lower:
            self.by_name.setdefault(low, i)
        self.bm25.finish()
        self.triggers.finish()

    def drop_texts(self) -> None:
        """Every document is embedded: the texts go (a change reads the library again, with its texts).
        The digests stay, to tell what a later change needs embedded."""
        for d in self.docs:
            d.text = ""
        self.texts_dropped = True

    def __len__(self) -> int:
        return len(self.docs)

    def find(self, prompt_name: str) -> int | None:
        """Position of the LoRA a prompt names (as the host resolves it; case-blind as a fallback)."""
        hit = self.by_name.get(prompt_name)
        return hit if hit is not None else self.by_name.get(prompt_name.lower())
