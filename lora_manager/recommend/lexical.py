"""The ranking that needs no model: BM25 over the documents' words, and trigger
hits (exact phrase, or close: every word present, or one letter off).

Pure Python on purpose: this is what answers while the model loads or when
torch is absent, so it must not need numpy either. Postings are stdlib
arrays (4 bytes a position, 4 a weight), filled one document at a time: at
100k LoRAs a dict of lists of tuples would hold about a gigabyte.
"""

from __future__ import annotations

import heapq
import math
from array import array
from bisect import bisect_left, bisect_right
from collections import Counter
from dataclasses import dataclass
from operator import itemgetter
from sys import intern
from collections.abc import Iterable

from .text import words

K1 = 1.2
B = 0.75
MIN_IDF = 0.05  # words in nearly every document add nothing but time
FUZZY_MIN_LEN = 5  # one letter off only counts on words this long
COMPACT_AFTER = 1_000  # dead trigger entries (edited away) kept before the live ones are laid out again


def _idf(n: int, df: int) -> float:
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


class BM25:
    """Okapi BM25 with each posting's weight precomputed: a query only adds numbers.

    Fill with `add(words)` in document order, then `finish()`; or pass every document's words at once.
    Once finished, a document's words can be replaced in place (`remove`, then `put`: an edit). A word's
    weights carry its idf of the build (`baked`); a query scales those of a word whose idf an edit moved
    since, so that every idf is that of the postings as they are. The average length stays the build's."""

    def __init__(self, docs: Iterable[list[str]] = ()):
        self.n = 0
        # term -> (positions ascending, term frequencies; then weights once finished)
        self.postings: dict[str, tuple[array, array]] = {}
        self.common: dict[str, int] = {}  # words too common to matter, dropped at the build: their counts then
        self.baked: dict[str, float] = {}  # the idf each word's weights carry
        self.avg = 1.0
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
        self.avg = (sum(self._lens) / self.n if self.n else 1.0) or 1.0
        norms = [K1 * (1 - B + B * length / self.avg) for length in self._lens]
        kept: dict[str, tuple[array, array]] = {}
        for term, (positions, tfs) in self.postings.items():
            idf = _idf(self.n, len(positions))
            if idf >= MIN_IDF:
                self.baked[term] = idf
                kept[term] = (positions, array("f", (idf * tf * (K1 + 1) / (tf + norms[p])
                                                     for p, tf in zip(positions, tfs, strict=False))))
            else:
                self.common[term] = len(positions)
        self.postings = kept
        self._lens = array("I")

    def idf(self, term: str) -> float:
        hit = self.postings.get(term)
        df = len(hit[0]) if hit is not None else self.common.get(term, 0)
        return _idf(self.n, df) if df else 0.0

    def remove(self, pos: int) -> None:
        """The document at `pos` leaves (a binary search in every word's postings: 2-3 ms at 100k LoRAs)."""
        emptied = []
        for term, (positions, weights) in self.postings.items():
            i = bisect_left(positions, pos)
            if i < len(positions) and positions[i] == pos:
                del positions[i]
                del weights[i]
                if not positions:
                    emptied.append(term)
        for term in emptied:  # a word no document holds any more
            del self.postings[term]
            del self.baked[term]
        self.n -= 1

    def put(self, pos: int, doc: list[str]) -> None:
        """`doc` becomes the document at `pos` (after `remove(pos)`); a dropped common word stays dropped."""
        self.n += 1
        norm = K1 * (1 - B + B * len(doc) / self.avg)
        for term, tf in Counter(doc).items():
            if term in self.common:
                continue
            hit = self.postings.get(term)
            if hit is None:
                hit = self.postings[intern(term)] = (array("I"), array("f"))
            idf = self.baked.get(term)
            if idf is None:  # a word new since the build: its weights carry its idf as one document's
                idf = self.baked[term] = _idf(self.n, 1)
            i = bisect_left(hit[0], pos)
            hit[0].insert(i, pos)
            hit[1].insert(i, idf * tf * (K1 + 1) / (tf + norm))

    def scores(self, query: list[str]) -> dict[int, float]:
        """Position -> BM25 score for the documents sharing a word with `query`."""
        acc: dict[int, float] = {}
        get = acc.get
        for term in set(query):
            hit = self.postings.get(term)
            if hit is None:
                continue
            scale = self.idf(term) / self.baked[term]
            if scale == 1.0:  # no edit moved this word's idf: the weights as they are
                for pos, w in zip(*hit, strict=False):
                    acc[pos] = get(pos, 0.0) + w
            else:
                for pos, w in zip(*hit, strict=False):
                    acc[pos] = get(pos, 0.0) + w * scale
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
        return sum(self.idf(t) * (K1 + 1) / (1 + K1) for t in set(query)) or 1.0


def top_matches(bm25: BM25, qwords: list[str], keep: int = 300) -> tuple[dict[int, float], dict[int, list[str]]]:
    """Top BM25 positions (score scaled to ~[0, 1]) and, for them, the words they share with the query."""
    scores = bm25.scores(qwords)
    if not scores:
        return {}, {}
    top = heapq.nlargest(keep, scores.items(), key=lambda kv: kv[1])
    scale = bm25.max_score(qwords)
    query = sorted(set(qwords), key=lambda t: -bm25.idf(t))
    out, matched = {}, {}
    for pos, s in top:
        out[pos] = s / scale
        matched[pos] = [t for t in query if bm25.has(t, pos)]
    return out, matched


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
    triggers each, tuples per entry held 60 MB. An edit marks its document's entries dead and appends new
    ones; when a quarter are dead the live ones are laid out again."""

    def __init__(self, docs: Iterable | None = None):
        self.entry_pos = array("I")  # entry -> document position
        self.entry_trig = array("I")  # entry -> distinct trigger
        self.trigs: list[str] = []  # distinct trigger -> its text
        self.toks: list[tuple[str, ...]] = []  # distinct trigger -> its words
        self.by_word: dict[str, array] = {}  # word -> entries holding it, ascending
        self.shared: Counter[tuple[str, ...]] = Counter()  # words of a trigger -> entries with them
        self._known: dict[str, int] = {}  # trigger text -> distinct trigger
        self._built: int | None = None  # once finished: the entries of the build (in position order)
        self.dead: set[int] = set()  # entries of documents edited since
        self.later: dict[int, list[int]] = {}  # position -> its entries put since the build
        if docs is not None:
            for pos, doc in enumerate(docs):
                self.add(pos, doc.triggers)
            self.finish()

    def add(self, pos: int, triggers: list[str]) -> None:
        if self._built is not None:
            raise RuntimeError("the trigger index is finished")
        self._append(pos, triggers)

    def _append(self, pos: int, triggers: list[str]) -> None:
        known = self._known
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
        """No more documents in order: from now on only `remove` and `put` (edits)."""
        self._built = len(self.entry_pos)

    def remove(self, pos: int) -> None:
        """The triggers of the document at `pos` leave (once finished: an edit)."""
        lo = bisect_left(self.entry_pos, pos, 0, self._built)  # the build's entries are in position order
        hi = bisect_right(self.entry_pos, pos, lo, self._built)
        for e in (*range(lo, hi), *self.later.pop(pos, ())):
            if e not in self.dead:
                self.dead.add(e)
                self.shared[self.toks[self.entry_trig[e]]] -= 1
        if len(self.dead) > max(COMPACT_AFTER, len(self.entry_pos) // 4):
            self._compact()

    def _compact(self) -> None:
        """Many edits left many dead entries: the live ones are laid out again, in position order."""
        entries = range(len(self.entry_pos))
        live = sorted(((self.entry_pos[e], self.entry_trig[e]) for e in entries if e not in self.dead),
                      key=itemgetter(0))  # stable: a document's triggers keep their order
        self.entry_pos, self.entry_trig = array("I", (p for p, _ in live)), array("I", (t for _, t in live))
        self.by_word, self.dead, self.later = {}, set(), {}
        for e, tid in enumerate(self.entry_trig):
            for w in set(self.toks[tid]):
                held = self.by_word.get(w)
                if held is None:
                    held = self.by_word[w] = array("I")
                held.append(e)
        self._built = len(self.entry_pos)

    def put(self, pos: int, triggers: list[str]) -> None:
        """`triggers` become those of the document at `pos` (after `remove(pos)`)."""
        start = len(self.entry_pos)
        self._append(pos, triggers)
        if len(self.entry_pos) > start:
            self.later.setdefault(pos, []).extend(range(start, len(self.entry_pos)))

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
                if e in seen or e in self.dead:
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
