"""A document's text and words (recommend/text.py): the quick paths give exactly what the plain definitions give,
for any text (accents, other scripts' marks, control characters, lone surrogates)."""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from lora_manager.recommend.text import STOP, WORD, clean, words


def plain_clean(text: str) -> str:
    text = text.encode("utf-8", "replace").decode("utf-8")
    return "".join(c if c.isprintable() or c in "\n\t" else " " for c in text)


def plain_words(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", (text or "").lower())
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    return [w for w in WORD.findall(folded) if w not in STOP and len(w) < 40]


SAMPLES = ["Café crème brûlée", "がぎぐげご パピプペポ", "Tiếng Việt có dấu", "नमस्ते दुनिया", "Ωμέγα ἄλφα",
           "tab\there\nnew line\x00nul\x7fdel", "lone \ud800 surrogate", "zero\u200bwidth\u2028line",
           "plain ascii words",
           "e\u0301\u0302\u0323 stacked", "\u0301 a mark first", "ＦＵＬＬ ｗｉｄｔｈ ①②", ""]


def test_the_samples_are_as_the_plain_definitions_give_them():
    for text in SAMPLES:
        assert clean(text) == plain_clean(text), text
        assert words(text) == plain_words(text), text
    assert words("Café crème") == ["cafe", "creme"] and words("がぎ") == ["かき"]
    assert clean("a\x00b\tc") == "a b\tc" and clean("x \ud800") == "x ?"


MARKED = "aeiouAEIOUnc \u0300\u0301\u0308\u0323\u3099\u309a\u05b0\u0e48\u1ab0\u20d0\ufe20\U0001d165"


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.one_of(st.characters(exclude_categories=()), st.sampled_from(MARKED)), max_size=60))
def test_any_text_is_as_the_plain_definitions_give_it(text):
    assert clean(text) == plain_clean(text)
    assert words(text) == plain_words(text)
