"""The ranking that needs no model: BM25 over the documents' words, and trigger
hits (exact phrase, or close: every word present, or one letter off).

Pure Python on purpose: this is what answers while the model loads or when
torch is absent, so it must not need numpy either. Postings are stdlib
arrays (4 bytes a position, 4 a weight), filled one document at a time: at
100k LoRAs a dict of lists of tuples would hold about a gigabyte.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass
from sys import intern
from collections.abc import Iterable

from .text import words

K1 = 1.2
B = 0.75
MIN_IDF = 0.05  # words in nearly every document add nothing but time
FUZZY_MIN_LEN = 5  # one letter off only counts on words this long


class BM25:
    """Okapi BM25 with each posting's weight precomputed: a query only adds numbers.

    Fill with `add(words)` in document order, then `finish()`; or pass every
    document's words at once."""

    def __init__(self, docs: Iterable[list[str]] = ()):
        self.n = 0
        self.idf: dict[str, float] = {}
        # term -> (positions ascending, term frequencies; then weights once finished)
        self.postings: dict[str, tuple[array, array]] = {}
        self._lens = array("I")
        for d in docs:
            self.add(d)
        if self.n:
            self.finish()

    def add(self, doc: list[str]) -> None:
        pos = self.n
        self.n += 1
        self._lens.append(len(doc))
        post = self.postings
        for term, tf in Counter(doc).items():
            hit = post.get(term)
            if hit is None:
                hit = post[intern(term)] = (array("I"), array("f"))
            hit[0].append(pos)
            hit[1].append(tf)

    def finish(self) -> None:
        """Term frequencies become weights; words too common to matter are dropped."""
        avg = (sum(self._lens) / self.n if self.n else 1.0) or 1.0
        norms = [K1 * (1 - B + B * length / avg) for length in self._lens]
        kept: dict[str, tuple[array, array]] = {}
        for term, (positions, tfs) in self.postings.items():
            f = len(positions)
            idf = math.log(1 + (self.n - f + 0.5) / (f + 0.5))
            self.idf[term] = idf
            if idf >= MIN_IDF:
                kept[term] = (
                    positions,
                    array("f", (idf * tf * (K1 + 1) / (tf + norms[p]) for p, tf in zip(positions, tfs, strict=False))),
                )
        self.postings = kept
        self._lens = array("I")

    def scores(self, query: list[str]) -> dict[int, float]:
        """Position -> BM25 score for the documents sharing a word with `query`."""
        acc: dict[int, float] = {}
        get = acc.get
        for term in set(query):
            hit = self.postings.get(term)
            if hit is not None:
                for pos, w in zip(*hit, strict=False):
                    acc[pos] = get(pos, 0.0) + w
        return acc

    def has(self, term: str, pos: int) -> bool:
        """Whether the document at `pos` holds `term` (a binary search in its postings)."""
        hit = self.postings.get(term)
        if hit is None:
            return False
        positions = hit[0]
        i = bisect_left(positions, pos)
        return i < len(positions) and positions[i] == pos

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
    """Fill with `add(position, triggers)` in document order (or pass the documents), then `finish()`.

    Compact like the postings: an entry (a document's trigger) is two 4-byte numbers, its position and
    its trigger among the distinct ones; each distinct trigger and its words are held once (a library
    repeats its triggers), and each word lists its entries in an array. At 100k LoRAs with three
    triggers each, tuples per entry held 60 MB."""

    def __init__(self, docs: Iterable | None = None):
        self.entry_pos = array("I")  # entry -> document position
        self.entry_trig = array("I")  # entry -> distinct trigger
        self.trigs: list[str] = []  # distinct trigger -> its text
        self.toks: list[tuple[str, ...]] = []  # distinct trigger -> its words
        self.by_word: dict[str, array] = {}  # word -> entries holding it, ascending
        self.shared: Counter[tuple[str, ...]] = Counter()  # words of a trigger -> entries with them
        self._known: dict[str, int] | None = {}  # trigger text -> distinct trigger, while filling
        if docs is not None:
            for pos, doc in enumerate(docs):
                self.add(pos, doc.triggers)
            self.finish()

    def add(self, pos: int, triggers: list[str]) -> None:
        known = self._known
        if known is None:
            raise RuntimeError("the trigger index is finished")
        for trig in triggers:
            tid = known.get(trig)
            if tid is None:
                toks = tuple(intern(w) for w in words(trig))
                if not toks or len(toks) > 12:
                    continue
                tid = known[trig] = len(self.trigs)
                self.trigs.append(trig)
                self.toks.append(toks)
            toks = self.toks[tid]
            self.shared[toks] += 1
            entry = len(self.entry_pos)
            for w in set(toks):
                held = self.by_word.get(w)
                if held is None:
                    held = self.by_word[w] = array("I")
                held.append(entry)
            self.entry_pos.append(pos)
            self.entry_trig.append(tid)

    def finish(self) -> None:
        """No more documents: the look-up used while filling goes."""
        self._known = None

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
                tid = self.entry_trig[e]
                pos, trig, toks = self.entry_pos[e], self.trigs[tid], self.toks[tid]
                if not all(w in close for w in toks):
                    continue
                exact = (" " + " ".join(toks) + " ") in text
                weight = (1.0 if exact else 0.6) / (1.0 + math.log(self.shared[toks]))
                best = out.get(pos)
                if best is None or weight > best.weight:
                    out[pos] = TriggerHit(trig, exact, weight)
        return out
