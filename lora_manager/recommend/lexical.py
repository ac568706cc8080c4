"""The ranking that needs no model: BM25 over the documents' words, and trigger
hits (exact phrase, or close: every word present, or one letter off).

Pure Python on purpose: this is what answers while the model loads or when
torch is absent, so it must not need numpy either.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from .text import LoraDoc, words

K1 = 1.2
B = 0.75
MIN_IDF = 0.05  # words in nearly every document add nothing but time
FUZZY_MIN_LEN = 5  # one letter off only counts on words this long


class BM25:
    """Okapi BM25 with each posting's weight precomputed: a query only adds numbers."""

    def __init__(self, docs: list[list[str]]):
        self.n = len(docs)
        avg = sum(len(d) for d in docs) / self.n if self.n else 1.0
        df: Counter[str] = Counter()
        for d in docs:
            df.update(set(d))
        self.idf = {t: math.log(1 + (self.n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
        self.postings: dict[str, list[tuple[int, float]]] = {}
        for pos, d in enumerate(docs):
            norm = K1 * (1 - B + B * len(d) / (avg or 1.0))
            for term, tf in Counter(d).items():
                idf = self.idf[term]
                if idf >= MIN_IDF:
                    self.postings.setdefault(term, []).append((pos, idf * tf * (K1 + 1) / (tf + norm)))

    def scores(self, query: list[str]) -> dict[int, float]:
        """Position -> BM25 score for the documents sharing a word with `query`."""
        acc: dict[int, float] = {}
        get = acc.get
        for term in set(query):
            for pos, w in self.postings.get(term, ()):
                acc[pos] = get(pos, 0.0) + w
        return acc

    def max_score(self, query: list[str]) -> float:
        """A document holding every query word once: scores divided by this land in [0, ~1]."""
        return sum(self.idf.get(t, 0.0) * (K1 + 1) / (1 + K1) for t in set(query)) or 1.0


@dataclass(slots=True)
class TriggerHit:
    trigger: str
    exact: bool
    weight: float  # rarer triggers count more: a trigger many LoRAs share says little


LETTERS = "abcdefghijklmnopqrstuvwxyz0123456789"


def _edits1(word: str) -> set[str]:
    """Every word one deletion, swap, replacement or insertion away (Norvig's speller):
    a few hundred look-ups per prompt word instead of an index of every trigger's neighbours."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    out = {a + b[1:] for a, b in splits if b}
    out |= {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    out |= {a + c + b[1:] for a, b in splits if b for c in LETTERS}
    out |= {a + c + b for a, b in splits for c in LETTERS}
    return out


class TriggerIndex:
    def __init__(self, docs: list[LoraDoc]):
        self.entries: list[tuple[int, str, tuple[str, ...]]] = []  # (position, trigger, its words)
        by_word: dict[str, list[int]] = {}
        shared: Counter[tuple[str, ...]] = Counter()
        for pos, doc in enumerate(docs):
            for trig in doc.triggers:
                toks = tuple(words(trig))
                if not toks or len(toks) > 12:
                    continue
                shared[toks] += 1
                for w in set(toks):
                    by_word.setdefault(w, []).append(len(self.entries))
                self.entries.append((pos, trig, toks))
        self.by_word = by_word
        self.shared = shared

    def hits(self, prompt_words: list[str]) -> dict[int, TriggerHit]:
        """Position -> its best trigger hit in the prompt."""
        present = set(prompt_words)
        close: dict[str, str] = {w: w for w in present if w in self.by_word}  # trigger word -> prompt word
        for w in present:
            if len(w) >= FUZZY_MIN_LEN - 1 and w.isascii():
                for t in _edits1(w):
                    if len(t) >= FUZZY_MIN_LEN and t in self.by_word:
                        close.setdefault(t, w)
        seen: set[int] = set()
        out: dict[int, TriggerHit] = {}
        text = " " + " ".join(prompt_words) + " "
        for t in close:
            for e in self.by_word.get(t, ()):
                if e in seen:
                    continue
                seen.add(e)
                pos, trig, toks = self.entries[e]
                if not all(w in close for w in toks):
                    continue
                exact = (" " + " ".join(toks) + " ") in text
                weight = (1.0 if exact else 0.6) / (1.0 + math.log(self.shared[toks]))
                best = out.get(pos)
                if best is None or weight > best.weight:
                    out[pos] = TriggerHit(trig, exact, weight)
        return out
