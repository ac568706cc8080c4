"""The recommender's word index costs nothing until it is used, and little once it is.

With the model off, `serve` does not read the library into the recommender at
start: the first recommendation builds the index (from a stream of rows), and
from then on it follows changes. The index is arrays; documents keep neither
their words nor (with no model) their text."""

from __future__ import annotations

import os
import subprocess
import sys
from array import array

import httpx
import pytest

from lora_manager.recommend.lexical import BM25

from .browser import free_port, wait_for
from .conftest import scan
from .loras import write_lora
from .test_recommend import LIBRARY, build_library

P = "/lora-manager/v1"


def test_serve_with_the_model_off_builds_the_index_on_the_first_recommendation(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    build_library(lib)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LORA_MANAGER_")}
    env.update(LORA_MANAGER_EMBED_MODEL="off", LORA_MANAGER_WATCH_INTERVAL="0")
    proc = subprocess.Popen([sys.executable, "-m", "lora_manager", "serve", "--no-ui", "--lora-dir", str(lib),
                             "--data-dir", str(tmp_path / "data"), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True)
    base = f"http://127.0.0.1:{port}{P}"
    try:
        wait_for(lambda: httpx.get(base + "/loras", timeout=2).json()["total"] == len(LIBRARY), timeout=60)
        wait_for(lambda: not httpx.get(base + "/scans/current", timeout=2).json()["running"], timeout=60)
        status = httpx.get(base + "/recommendations/status").json()
        assert status["index"]["library"] is None, status  # nothing read at start
        r = httpx.post(base + "/recommendations/for-prompt",
                       json={"prompt": "glowing cyberpunk metropolis", "limit": 3})
        assert r.status_code == 200 and r.json()["items"][0]["lora"]["prompt_name"] == "neonCity_v2"
        assert httpx.get(base + "/recommendations/status").json()["index"]["library"] == len(LIBRARY)
        # once built, it follows the library
        write_lora(lib / "pixelHero.safetensors", seed=42, metadata={"modelspec.description": "retro pixel art hero"})
        assert httpx.post(base + "/scans").status_code in (200, 202)
        wait_for(lambda: httpx.get(base + "/recommendations/status").json()["index"]["library"] == len(LIBRARY) + 1,
                 timeout=60)
        top = httpx.post(base + "/recommendations/for-prompt", json={"prompt": "pixel art", "limit": 1}).json()
        assert top["items"][0]["lora"]["prompt_name"] == "pixelHero"
    finally:
        proc.terminate()
        print(proc.communicate(timeout=30)[0])


def test_the_index_is_compact_and_answers_as_before(make_app, library):
    build_library(library)
    core = make_app(library, embed_model="off")
    scan(core)
    rec = core.recommender
    body = rec.for_prompt("glowing neon city streets at night", limit=3)
    corpus = rec._corpus
    assert len(corpus) == len(LIBRARY)
    assert all(not d.words and not d.triggers and d.text == "" for d in corpus.docs)
    assert all(isinstance(p, array) and isinstance(w, array) for p, w in corpus.bm25.postings.values())
    top = body["items"][0]
    assert top["lora"]["prompt_name"] == "neonCity_v2"
    words = [r for r in top["reasons"] if r["kind"] == "words"][0]["words"]
    assert {"neon", "city"} <= set(words)
    # "like this one" reads the LoRA's own words again from the database
    like = rec.similar("neonCity_v2", limit=3, base="xl")
    assert [i["lora"]["prompt_name"] for i in like["items"]] == ["xlNeonGlow"]
    assert {"neon", "city"} <= set([r for r in like["items"][0]["reasons"] if r["kind"] == "words"][0]["words"])


def test_bm25_built_one_document_at_a_time_scores_as_okapi():
    import math

    docs = [["neon", "city", "rain"], ["neon", "glow"], ["knight", "armor", "armor"], ["cat", "ears"]]
    index = BM25(docs)
    avg = sum(map(len, docs)) / len(docs)

    def okapi(term, doc):
        f = sum(term in d for d in docs)
        idf = math.log(1 + (len(docs) - f + 0.5) / (f + 0.5))
        tf = doc.count(term)
        return idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * len(doc) / avg))

    got = index.scores(["armor", "neon"])
    assert set(got) == {0, 1, 2}
    for pos, score in got.items():
        want = sum(okapi(t, docs[pos]) for t in ("armor", "neon") if t in docs[pos])
        assert math.isclose(score, want, rel_tol=1e-6)
    assert index.has("armor", 2) and not index.has("armor", 1) and not index.has("nothing", 0)


def test_the_trigger_index_holds_each_trigger_once_and_finds_it_as_before():
    from lora_manager.recommend.lexical import TriggerIndex

    class Doc:
        def __init__(self, triggers):
            self.triggers = triggers

    # 300 LoRAs share two triggers, a few have their own: the index keeps each distinct trigger once
    docs = [Doc(["neon city", "nc_neon"]) for _ in range(300)] + [Doc(["armored knight"]), Doc(["Neon City"]), Doc([])]
    index = TriggerIndex(docs)
    assert sorted(index.trigs) == ["Neon City", "armored knight", "nc_neon", "neon city"]
    assert len(index.entry_pos) == 602 and isinstance(index.entry_pos, array)
    assert all(isinstance(held, array) for held in index.by_word.values())
    with pytest.raises(RuntimeError):
        index.add(303, ["late"])  # finished: documents go in before the first query
    hits = index.hits(["armored", "knight", "in", "the", "neon", "city"])
    assert sorted(hits) == [*range(300), 300, 301]
    assert hits[300].exact and hits[300].trigger == "armored knight"
    # "neon city" is shared by 301 LoRAs: it says less than the knight's own trigger
    assert hits[301].exact and hits[301].weight < hits[300].weight and hits[0].weight == hits[301].weight
    close = index.hits(["armored", "knigth"])  # one letter off (a swap) on a word of 5 letters or more
    assert list(close) == [300] and not close[300].exact and close[300].weight == pytest.approx(0.6)


def _words_slow(text):
    import unicodedata

    from lora_manager.recommend.text import STOP, WORD

    folded = unicodedata.normalize("NFKD", (text or "").lower())
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    return [w for w in WORD.findall(folded) if w not in STOP and len(w) < 40]


def _clean_slow(text):
    text = text.encode("utf-8", "replace").decode("utf-8")
    return "".join(c if c.isprintable() or c in "\n\t" else " " for c in text)


@pytest.mark.parametrize("text", [
    "", "cyberpunk City v 2 xl. Triggers: nc_neon", "Tab\there\nnew line", "bell\x07 and del\x7f and esc\x1b[0m",
    "Café Crème", "ＦＵＬＬwidth", "ﬁne ligature", "x²", "İstanbul", "lone \ud800 surrogate", "Kelvin \u212a",
    "zero\u200bwidth", "nbsp\xa0space", "A" * 50 + " word", "猫耳の女の子",
])
def test_the_ascii_fast_paths_give_what_the_full_unicode_path_gives(text):
    from lora_manager.recommend.text import clean, words

    assert words(text) == _words_slow(text)
    assert clean(text) == _clean_slow(text)


def test_the_training_tags_are_read_from_their_stored_text():
    import orjson

    from lora_manager.recommend.text import TRAINING_TAGS, training_head

    tags = [[f"tag_{i}", 50 - i] for i in range(40)]
    assert training_head(orjson.dumps(tags).decode()) == [f"tag {i}" for i in range(TRAINING_TAGS)]
    odd = [["  ", 5], [None, 2], "plain", [], ["y_z", 1], {"k": "v"}, [3, 1]]
    assert training_head(orjson.dumps(odd).decode()) == ["plain", "y z"]
    assert training_head(None) == training_head("null") == training_head("") == training_head("[[") == []


def test_a_lora_is_found_by_its_training_tags(make_app, library):
    import json

    build_library(library)
    write_lora(library / "plainName.safetensors", seed=7, metadata={
        "ss_tag_frequency": json.dumps({"10_set": {"origami crane": 30, "folded paper": 12, "1girl": 2}})})
    core = make_app(library, embed_model="off")
    scan(core)
    top = core.recommender.for_prompt("a folded paper origami crane", limit=1)["items"][0]
    assert top["lora"]["prompt_name"] == "plainName"
    assert {"origami", "crane"} <= set([r for r in top["reasons"] if r["kind"] == "words"][0]["words"])
