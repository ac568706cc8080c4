"""Score fusion and reasons: many signals in, one ordered list with its "why" out.

Every signal is brought to roughly [0, 1] before it is weighed:
- similar text: cosine of the prompt's and the LoRA's embeddings (MiniLM:
  related texts land at 0.3-0.7, unrelated ones near 0.1), shifted so that
  the unrelated floor adds nothing;
- words in common: BM25 divided by the score of a document holding every
  prompt word once;
- trigger hit: exact phrase 1, close 0.6, divided by 1 + ln(LoRAs sharing it);
- co-usage: generations using it together with a LoRA in the prompt, on a log
  scale saturating at 20;
- popularity: a tie-breaker only (log of uses against the most used);
- feedback: accepts lift, dismissals lower a little, a thumbs down a lot.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Callable

from ..errors import InvalidInput
from ..library.basemodel import FAMILIES
from .corpus import Corpus
from .lexical import TriggerHit


def fits(family: str | None, target: str | None) -> bool:
    """Unknown on either side fits: a LoRA we cannot place is still offered."""
    return target is None or family is None or family == target


MAX_LIMIT = 50  # suggestions a query may ask for
SEMANTIC_FLOOR = 0.15
W = {
    "semantic": {"similar": 1.0, "words": 0.35, "trigger": 0.6, "co_usage": 0.45, "popular": 0.05},
    "lexical": {"similar": 0.0, "words": 1.0, "trigger": 0.6, "co_usage": 0.45, "popular": 0.05},
}
ACCEPT, DISMISS, DOWN = 0.08, -0.06, -1.0  # a thumbs down sinks it below any real match
CO_SATURATION = 20
MIN_SCORE = 0.02


@dataclass(slots=True)
class Suggestion:
    pos: int
    score: float
    reasons: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class Signals:
    similar: dict[int, float] = field(default_factory=dict)  # position -> cosine
    words: dict[int, float] = field(default_factory=dict)  # position -> BM25 in [0, ~1]
    matched: dict[int, list[str]] = field(default_factory=dict)  # position -> words in common (for the reason)
    triggers: dict[int, TriggerHit] = field(default_factory=dict)
    co_usage: dict[int, tuple[int, str]] = field(default_factory=dict)  # position -> (times, with which LoRA)
    popular: dict[int, int] = field(default_factory=dict)  # position -> uses
    feedback: dict[int, tuple[int, int, int]] = field(default_factory=dict)  # position -> (accepts, dismisses, downs)
    popular_candidates: bool = False  # nothing else to go on: the most used LoRAs are candidates too


def fuse(corpus: Corpus, sig: Signals, mode: str, allowed: Callable[[int], bool], limit: int) -> list[Suggestion]:
    w = W[mode]
    candidates = set(sig.similar) | set(sig.words) | set(sig.triggers) | set(sig.co_usage)
    if sig.popular_candidates:
        candidates |= set(sig.popular)
    top_uses = max(sig.popular.values(), default=0)
    out: list[Suggestion] = []
    for pos in candidates:
        if not allowed(pos):
            continue
        score = 0.0
        reasons: list[dict[str, Any]] = []
        hit = sig.triggers.get(pos)
        if hit is not None:
            score += w["trigger"] * hit.weight
            kind = "trigger" if hit.exact else "close_trigger"
            said = "matched trigger" if hit.exact else "close to trigger"
            reasons.append({"kind": kind, "text": f'{said} "{hit.trigger}"', "trigger": hit.trigger})
        cos = sig.similar.get(pos)
        if cos is not None and w["similar"]:
            part = max(0.0, cos - SEMANTIC_FLOOR) / (1 - SEMANTIC_FLOOR)
            score += w["similar"] * part
            if part > 0.15:
                reasons.append({"kind": "similar_text", "text": f"similar text ({cos:.2f})", "value": round(cos, 3)})
        lex = sig.words.get(pos)
        if lex:
            score += w["words"] * min(lex, 1.0)
            shown = sig.matched.get(pos) or []
            if shown and (mode == "lexical" or lex > 0.2):
                reasons.append({"kind": "words", "text": "words in common: " + ", ".join(shown[:5]),
                                "words": shown[:5]})
        co = sig.co_usage.get(pos)
        if co is not None:
            score += w["co_usage"] * min(1.0, math.log1p(co[0]) / math.log1p(CO_SATURATION))
            reasons.append({"kind": "co_usage", "text": f"often used with {co[1]} ({co[0]} times)", "with": co[1],
                            "value": co[0]})
        uses = sig.popular.get(pos)
        if uses:
            score += w["popular"] * math.log1p(uses) / math.log1p(top_uses)
            if sig.popular_candidates or uses >= 5:
                reasons.append({"kind": "popular", "text": f"used {uses} times", "value": uses})
        fb = sig.feedback.get(pos)
        if fb is not None:
            accepts, dismisses, downs = fb
            delta = ACCEPT * math.log1p(accepts) + DISMISS * math.log1p(dismisses) + (DOWN if downs else 0.0)
            score += delta
            if delta > 0:
                reasons.append({"kind": "feedback", "text": "you picked it before", "value": accepts})
            elif delta < 0:
                reasons.append({"kind": "feedback", "text": "you turned it down before", "value": -(dismisses + downs)})
        if score >= MIN_SCORE:
            out.append(Suggestion(pos, score, reasons))
    out.sort(key=lambda s: (-s.score, corpus.docs.names[s.pos]))
    return out[:limit]


def check_query(limit: int, base: str | None) -> tuple[int, str | None]:
    """A query's `limit` and base family, checked (InvalidInput names what is wrong)."""
    if not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be 1..{MAX_LIMIT}")
    if base is not None and base not in FAMILIES:
        raise InvalidInput(f"unknown base family {str(base)[:40]!r}", {"allowed": list(FAMILIES)})
    return limit, base or None
