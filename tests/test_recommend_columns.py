"""The corpus's documents in columns (recommend/columns.py): what a position gives back, look-ups by id (ids in
order or not) and by prompt name as the dicts they replace answered, and no object kept per document."""

from __future__ import annotations

import gc
import hashlib
import random

import numpy

from lora_manager.recommend.columns import Docs, Names, Positions, Strings
from lora_manager.recommend.corpus import Corpus
from lora_manager.recommend.text import LoraDoc


def _doc(i: int, name: str, **kw) -> LoraDoc:
    return LoraDoc(id=i, prompt_name=name, family=kw.get("family"), text=kw.get("text", f"text {i}"),
                   words=[name.lower()], triggers=kw.get("triggers", []), weight=kw.get("weight"),
                   digest=kw.get("digest", f"{i:032x}"))


def _dict_find(names: list[str], prompt_name: str) -> int | None:
    """How the corpus found a name before the columns: a dict of exact names, then of lower-case ones."""
    by_name: dict[str, int] = {}
    for i, n in enumerate(names):
        by_name.setdefault(n, i)
    for i, n in enumerate(names):
        if n.lower() != n:
            by_name.setdefault(n.lower(), i)
    hit = by_name.get(prompt_name)
    return hit if hit is not None else by_name.get(prompt_name.lower())


def test_a_position_gives_back_the_document_and_an_edit_replaces_it():
    docs = Docs(keep_text=True)
    docs.append(_doc(3, "Ink", family="sdxl", weight=0.7, text="ink wash", digest="a" * 32))
    docs.append(_doc(9, "neon", weight=None))
    got = docs[0]
    assert (got.id, got.prompt_name, got.family, got.weight, got.text, got.digest) == (3, "Ink", "sdxl", 0.7,
                                                                                       "ink wash", "a" * 32)
    assert docs[1].weight is None and not docs[1].words and not docs[1].triggers
    got.text = "changed on the copy"
    assert docs[0].text == "ink wash"  # a copy: nothing held changes
    docs[1] = _doc(9, "neon", family="f1", weight=1.25, text="neon city", digest="b" * 32)
    assert (docs[1].family, docs[1].weight, docs[1].text) == ("f1", 1.25, "neon city")
    docs.drop_texts()
    assert [d.text for d in docs] == ["", ""] and [d.digest for d in docs] == ["a" * 32, "b" * 32]
    lean = Docs(keep_text=False)
    lean.append(_doc(1, "x", text="kept nowhere"))
    assert (lean[0].text, lean[0].digest) == ("", "")


def test_ids_find_their_positions_in_order_or_not():
    for ids in ([2, 5, 9, 40, 41], [40, 2, 9, 41, 5]):
        col = Docs(keep_text=False)
        for i in ids:
            col.append(_doc(i, f"n{i}"))
        pos = Positions(col.ids)
        assert {i: pos.get(i) for i in ids} == {i: p for p, i in enumerate(ids)}
        assert pos[41] == ids.index(41) and 41 in pos and 3 not in pos and "41" not in pos and None not in pos
        assert numpy.int64(41) in pos and pos.get(numpy.int64(9)) == ids.index(9)  # ids as the vectors hold them
        assert pos.get(3) is None and pos.get(100) is None and pos.get(0) is None
        assert sorted(pos) == sorted(ids) and len(pos) == len(ids)
        assert set(pos) - {2, 5} == {9, 40, 41}


def test_names_answer_as_the_dicts_did():
    rng = random.Random(7)
    stems = ["Ink", "ink", "INK", "neon_City", "neon_city", "Mira", "mira", "", "Ärger", "ärger", "ß"]
    names = [rng.choice(stems) + rng.choice(["", "", "_v2", "_V2"]) for _ in range(400)]
    packed = Strings()
    for n in names:
        packed.append(n)
    asks = set(names) | {n.lower() for n in names} | {n.upper() for n in names} | {"absent", "NEON"}
    for found in (Names(names), Names(packed)):
        for ask in sorted(asks):
            assert found.find(ask) == _dict_find(names, ask), ask


def test_the_corpus_keeps_no_object_per_document():
    docs = [_doc(i, f"LoRA_{i}", family="sdxl", weight=0.5, triggers=[f"trig {i}"]) for i in range(1, 2001)]
    gc.collect()
    corpus = Corpus(iter(docs), keep_text=False)
    assert corpus.find("lora_1500") == 1499 and corpus.pos[2000] == 1999 and len(corpus) == 2000
    held = sum(1 for o in gc.get_objects() if type(o) is LoraDoc)
    del docs
    gc.collect()
    assert sum(1 for o in gc.get_objects() if type(o) is LoraDoc) == held - 2000
    assert corpus.docs[1999].prompt_name == "LoRA_2000" and corpus.docs[1999].weight == 0.5


def test_strings_packed_in_one_buffer_give_back_what_went_in():
    texts = ["Ink", "", "ärger_v2", "夜の街", "emoji 🐉", "lone \udc80 surrogate", "plain"]
    held = Strings()
    for t in texts:
        held.append(t)
    assert list(held) == texts and len(held) == len(texts) and held[3] == "夜の街"
    held[2] = "longer than ärger_v2 was"
    held[0] = ""
    held[6] = "plain"  # the same: nothing moves
    assert list(held) == ["", "", "longer than ärger_v2 was", "夜の街", "emoji 🐉", "lone \udc80 surrogate", "plain"]
    for bad in (len(texts), -1):
        try:
            held[bad]
        except IndexError:
            continue
        raise AssertionError(f"{bad} gave a string")


def test_digests_packed_give_back_what_went_in_whatever_its_form():
    from lora_manager.recommend.columns import Digests

    real = hashlib.blake2b(b"neon city", digest_size=16).hexdigest()
    forms = [real, "", "A" * 32, "z" * 32, "abc", real]
    held = Digests()
    for d in forms:
        held.append(d)
    assert [held[p] for p in range(len(forms))] == forms
    assert len(held.raw) == 16 * len(forms) and set(held.other) == {1, 2, 3, 4}  # only the odd ones beside
    held[0], held[1] = "", real  # packed -> beside, beside -> packed
    assert (held[0], held[1], held[5]) == ("", real, real) and set(held.other) == {0, 2, 3, 4}
