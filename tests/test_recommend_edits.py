"""An edit of a few LoRAs' own data updates their documents in the recommender's index in place; a change of
files reads the library again. Whichever way, the answers are those of an index built afresh."""

from __future__ import annotations

import itertools
import math

import pytest

from lora_manager.recommend.lexical import BM25, TriggerIndex

from .conftest import scan
from .test_recommend import LIBRARY, build_library, names


def test_bm25_with_a_document_replaced_scores_as_one_built_afresh():
    docs = [["neon", "city", "rain"], ["neon", "glow", "night"], ["knight", "armor", "armor"], ["cat", "ears", "fur"]]
    index = BM25(docs)
    edited = [*docs[:2], ["neon", "knight", "city"], docs[3]]  # the same length: the same average
    index.remove(2)
    index.put(2, edited[2])
    fresh = BM25(edited)
    for query in (["neon"], ["armor"], ["knight", "city"], ["cat", "neon", "glow"], ["nothing"]):
        got, want = index.scores(query), fresh.scores(query)
        assert set(got) == set(want), query
        assert all(math.isclose(got[p], want[p], rel_tol=1e-6) for p in want), query
        assert math.isclose(index.max_score(query), fresh.max_score(query), rel_tol=1e-9)
    assert index.idf("armor") == 0.0 and not index.has("armor", 2) and index.has("knight", 2)
    assert list(index.postings["knight"][0]) == [2]


def test_the_trigger_index_with_a_document_replaced_finds_what_one_built_afresh_finds():
    class Doc:
        def __init__(self, triggers):
            self.triggers = triggers

    before = [["neon city"], ["neon city", "glow"], ["armored knight"], []]
    after = [["neon city"], ["glow"], ["armored knight"], ["neon city", "cat ears"]]
    index = TriggerIndex([Doc(t) for t in before])
    for pos in (1, 3):
        index.remove(pos)
        index.put(pos, after[pos].copy())
    index.remove(3)  # edited twice: the second edit replaces the first one's triggers
    index.put(3, after[3].copy())
    fresh = TriggerIndex([Doc(t) for t in after])
    for prompt in (["neon", "city"], ["cat", "ears", "neon", "city"], ["glow"], ["armored", "knigth"]):
        got = {p: (h.trigger, h.exact, round(h.weight, 9)) for p, h in index.hits(prompt).items()}
        assert got == {p: (h.trigger, h.exact, round(h.weight, 9)) for p, h in fresh.hits(prompt).items()}, prompt


@pytest.fixture
def lexical_app(make_app, library):
    build_library(library)
    core = make_app(library, embed_model="off")
    scan(core)
    core.recommender.for_prompt("anything", limit=1)  # builds the index
    return core


def test_an_edit_updates_the_index_in_place_and_answers_as_a_fresh_read(lexical_app):
    rec = lexical_app.recommender
    corpus = rec._corpus
    lexical_app.catalog.edit("catEars", {"triggers": ["nekomimi headband"], "tags": ["accessory"]})
    assert rec.wait_idle(30) and rec._corpus is corpus  # not read again
    assert names(rec.for_prompt("a girl with a nekomimi headband", limit=1)) == ["catEars"]
    assert "catEars" not in names(rec.for_prompt("kemonomimi", limit=10))
    lexical_app.catalog.edit("oldKnight", {"favorite": True, "rating": 5})  # not in its document
    assert rec.wait_idle(30) and rec._corpus is corpus
    prompts = ["girl with nekomimi headband and cat ears", "neon city at night", "knight in armor",
               "watercolor painting", "accessory"]
    in_place = [rec.for_prompt(p, limit=5) for p in prompts]
    rec.changed()  # a change of files: the whole library read again
    assert rec.wait_idle(30) and rec._corpus is not corpus
    for p, got in zip(prompts, in_place, strict=True):
        want = rec.for_prompt(p, limit=5)
        assert names(got) == names(want), p
        assert [i["score"] for i in got["items"]] == pytest.approx([i["score"] for i in want["items"]], abs=0.02), p


def test_a_lora_that_leaves_the_list_or_many_edits_read_the_library_again(lexical_app, library):
    rec = lexical_app.recommender
    corpus = rec._corpus
    lid = rec.catalog_store.resolve("watercolorWash")
    (library / "watercolorWash.safetensors").unlink()
    lexical_app.scanner.scan()  # the scanner alone says nothing: the row is missing, the index does not know
    rec.changed(Change((lid,)))  # said as an edit of it: it is not listed any more
    assert rec.wait_idle(30) and rec._corpus is not corpus and len(rec._corpus) == len(LIBRARY) - 1
    assert "watercolorWash" not in names(rec.for_prompt("soft watercolor painting", limit=10))
    corpus = rec._corpus
    rec.changed(Change(tuple(range(1000, 1000 + 201))))  # more than EDITS_IN_PLACE at once
    assert rec.wait_idle(30) and rec._corpus is not corpus


def test_a_lora_the_index_has_not_read_said_as_an_edit_reads_the_library_again(lexical_app, library):
    """Its update in place fails (it is not there): the whole read is due even though the last read began after
    the last change said (another host's pass fills a new LoRA's tags as an edit)."""
    from .loras import write_lora

    rec = lexical_app.recommender
    assert rec.wait_idle(30)
    corpus = rec._corpus
    write_lora(library / "lanternFestival.safetensors", seed=40, metadata={"modelspec.trigger_phrase": "paper lantern"})
    lexical_app.scanner.scan()  # the scanner alone says nothing: the index does not know it
    rec.changed(Change((rec.catalog_store.resolve("lanternFestival"),)))
    assert rec.wait_idle(30) and rec._corpus is not corpus and len(rec._corpus) == len(LIBRARY) + 1
    assert names(rec.for_prompt("paper lantern", limit=1)) == ["lanternFestival"]


class Change:
    def __init__(self, ids):
        self.ids = ids


def test_an_edit_whose_update_failed_is_read_in_with_the_next_change(lexical_app):
    rec = lexical_app.recommender
    store, calls = rec.catalog_store, []
    real = store.training_tags_text

    def failing_once(ids):
        calls.append(ids)
        if len(calls) == 1:
            raise OSError("disk I/O error")
        return real(ids)

    store.training_tags_text = failing_once
    try:
        lexical_app.catalog.edit("catEars", {"triggers": ["nekomimi headband"]})
        assert rec.wait_idle(30) and rec.build["error"].startswith("OSError")
        lexical_app.catalog.edit("oldKnight", {"tags": ["plate"]})  # the next change reads the whole library
        assert rec.wait_idle(30)
    finally:
        store.training_tags_text = real
    assert names(rec.for_prompt("nekomimi headband", limit=1)) == ["catEars"]


def test_an_edit_made_while_a_query_reads_the_library_goes_into_what_it_read(make_app, library):
    import threading
    import time

    build_library(library)
    core = make_app(library, embed_model="off")
    scan(core)
    rec = core.recommender
    store = rec.catalog_store
    real, read, go = store.training_tags_text, threading.Event(), threading.Event()

    def held(ids):  # the first read has its entries: it waits here while the edit is made
        if not read.is_set():
            read.set()
            go.wait(30)
        return real(ids)

    assert rec.wait_idle(30)  # its thread is up and waiting; the model is off, so nothing is read yet
    store.training_tags_text = held
    answers = []
    query = threading.Thread(target=lambda: answers.append(rec.for_prompt("nekomimi headband", limit=1)))
    query.start()
    try:
        assert read.wait(30)
        core.catalog.edit("catEars", {"triggers": ["nekomimi headband"]})
        for _ in range(200):  # the recommender's thread has taken the edit while the read still waits
            if not rec._edited:
                break
            time.sleep(0.05)
        time.sleep(0.2)
    finally:
        go.set()
        query.join(30)
        store.training_tags_text = real
    assert rec.wait_idle(30)
    assert names(rec.for_prompt("nekomimi headband", limit=1)) == ["catEars"]


def test_many_edits_of_one_lora_keep_the_indexes_small_and_right():
    class Doc:
        def __init__(self, triggers):
            self.triggers = triggers

    before = [[f"trigger {i}", "neon city"] for i in range(10)]
    index = TriggerIndex([Doc(t) for t in before])
    bm25 = BM25([["neon", "city", f"w{i}"] for i in range(10)])
    for n in range(3000):
        index.remove(3)
        index.put(3, [f"edit {n % 7}", "neon city"])
        bm25.remove(3)
        bm25.put(3, ["neon", "city", f"once{n}"])
    assert len(index.entry_pos) < 1100 and len(index.trigs) == 10 + 1 + 7  # each distinct trigger held once
    assert "once2998" not in bm25.postings and "once2998" not in bm25.baked and bm25.has("once2999", 3)
    after = list(before)
    after[3] = [f"edit {2999 % 7}", "neon city"]  # the last edit's triggers
    fresh = TriggerIndex([Doc(t) for t in after])
    for prompt in (["neon", "city"], ["edit", str(2999 % 7)], ["trigger", "3"]):
        got = {p: (h.trigger, h.exact, round(h.weight, 9)) for p, h in index.hits(prompt).items()}
        assert got == {p: (h.trigger, h.exact, round(h.weight, 9)) for p, h in fresh.hits(prompt).items()}, prompt


def test_queries_read_together_and_an_edit_writes_alone():
    import threading
    import time

    from lora_manager.recommend.corpus import ReadWriteLock

    lock, inside, log = ReadWriteLock(), threading.Barrier(2, timeout=10), []

    def reader(name):
        with lock.reading():
            inside.wait()  # both readers are in at once
            time.sleep(0.2)
            log.append(name)

    readers = [threading.Thread(target=reader, args=(f"r{i}",)) for i in range(2)]
    for t in readers:
        t.start()
    time.sleep(0.05)

    def writer():
        with lock.writing():
            log.append("w")

    w = threading.Thread(target=writer)
    w.start()
    time.sleep(0.05)
    def late_reader():  # comes while the writer waits: goes in after it
        with lock.reading():
            log.append("late")

    late = threading.Thread(target=late_reader)
    late.start()
    for t in (*readers, w, late):
        t.join(10)
    assert sorted(log[:2]) == ["r0", "r1"] and log[2:] == ["w", "late"]


def test_the_pacer_spaces_reads_by_a_multiple_of_the_last():
    import time

    from lora_manager.recommend.pacing import Pacer

    pace = Pacer(gap=2.0)
    assert pace.due()  # nothing read yet: no wait
    with pace.timing():
        time.sleep(0.05)
    ended = time.monotonic()
    assert not pace.due()
    while not pace.due():
        time.sleep(0.01)
    assert time.monotonic() - ended >= 0.09  # 2 x the read's 0.05 s, counted from its end


def test_changes_that_keep_coming_are_read_in_spaced_whole_reads(lexical_app, monkeypatch):
    """A stream of changes (a new library's training tags arriving in parts) is read in whole re-reads spaced
    by GAP times the last one's length, not back to back; the last change is read all the same."""
    import time

    from lora_manager.recommend import pacing, service

    rec, reads, real = lexical_app.recommender, [], service.read_docs
    assert rec.wait_idle(30)

    def slow(store, ids=None):
        if ids is None:
            time.sleep(0.3)  # a whole read that takes a while
            reads.append(time.monotonic())
        return real(store, ids)

    monkeypatch.setattr(service, "read_docs", slow)
    end = time.monotonic() + 2.0
    while time.monotonic() < end:
        lexical_app.events.library_changed()  # files changed: a whole read
        time.sleep(0.05)
    assert rec.wait_idle(30)
    gaps = [b - a for a, b in itertools.pairwise(reads)]
    # Back to back, a read would start every 0.6 s (0.3 s of reading, 0.3 s of debounce): 3-4 in those 2 s.
    assert 2 <= len(reads) <= 3, reads
    assert all(g >= pacing.GAP * 0.3 for g in gaps), gaps
    assert reads[-1] >= end - 0.05  # the last change was read after it was made
    assert names(rec.for_prompt("neon city", limit=3))  # and the index answers
