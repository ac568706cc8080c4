"""The recommender's whole re-reads wait for the training tags pass: a new library's tags arrive in parts
for a minute or more, and a re-read in the middle of them read a half-filled library at twice the CPU and
left the server's heap fragmented (recommend/pacing.py). Edits of a few LoRAs still go in place at once."""

from __future__ import annotations

import threading
import time

from lora_manager.recommend.pacing import Pacer

from .test_recommend import embedder, names, rec_app  # noqa: F401 - the fixtures
from .test_recommend_edits import lexical_app  # noqa: F401 - the fixture


def _recorded(monkeypatch, rec) -> tuple[list, list]:
    """The recommender's reads of documents (`ids`: None for a whole read) and its updates in place, recorded as
    they happen (each still done)."""
    from lora_manager.recommend import service

    reads, updates, real_read, real_update = [], [], service.read_docs, rec._update
    monkeypatch.setattr(service, "read_docs", lambda store, ids=None: (reads.append(ids), real_read(store, ids))[1])
    monkeypatch.setattr(rec, "_update", lambda ids: (updates.append(ids), real_update(ids))[1])
    return reads, updates


def test_the_pacer_holds_while_told_and_no_longer_than_its_limit():
    held = [True]
    pace = Pacer(hold=lambda: held[0], hold_max=0.3)
    assert not pace.due()  # nothing read yet, but held
    held[0] = False
    assert pace.due()  # let go
    held[0] = True
    started = time.monotonic()
    while not pace.due():  # a pass that never ends holds no longer than the limit
        time.sleep(0.01)
    assert 0.25 <= time.monotonic() - started < 5
    with pace.timing():  # a read starts the limit again
        pass
    assert not pace.due()


def test_a_hold_that_cannot_tell_holds_nothing():
    def broken():
        raise RuntimeError("gone")

    assert Pacer(hold=broken).due()


def test_whole_reads_wait_for_the_training_tags_pass_and_read_what_it_filled(lexical_app, monkeypatch):  # noqa: F811
    from lora_manager.recommend import service

    rec, training = lexical_app.recommender, lexical_app.scans.training
    assert rec.wait_idle(30) and training.wait(30)
    reads, real = [], service.read_docs

    def counting(store, ids=None):
        if ids is None:
            reads.append(time.monotonic())
        return real(store, ids)

    monkeypatch.setattr(service, "read_docs", counting)
    release = threading.Event()
    monkeypatch.setattr(training, "_pass", lambda: release.wait(30))  # a pass that takes its time (its thread is real)
    training.wake()
    assert training.running
    corpus = rec._corpus
    lexical_app.events.library_changed()  # files changed while the pass runs: a whole read is due
    time.sleep(1.0)
    assert reads == [] and not rec._idle.is_set()  # due, and held
    assert names(rec.for_prompt("neon city", limit=3))  # queries answer from what was read meanwhile
    lexical_app.catalog.edit("catEars", {"triggers": ["nekomimi headband"]})  # an edit goes in place all the same
    end = time.monotonic() + 10
    while "catEars" not in names(rec.for_prompt("nekomimi headband", limit=3)) and time.monotonic() < end:
        time.sleep(0.05)
    assert reads == [] and "catEars" in names(rec.for_prompt("nekomimi headband", limit=3))
    release.set()
    assert training.wait(10) and rec.wait_idle(30)
    assert len(reads) == 1 and rec._corpus is not corpus  # read once, when the pass ended


def test_while_a_read_is_held_an_edit_is_embedded_at_once(rec_app, monkeypatch):  # noqa: F811
    """With the model on: the held read does not hold the vectors; the edited LoRA is embedded again meanwhile."""
    rec, training = rec_app.recommender, rec_app.scans.training
    assert training.wait(30) and rec.wait_idle(60) and rec.mode == "semantic"
    lid = rec_app.catalog.get("catEars")["id"]
    release = threading.Event()
    monkeypatch.setattr(training, "_pass", lambda: release.wait(60))
    training.wake()
    try:
        before = len(rec.embedded)
        rec_app.events.library_changed()  # a whole read is due, and held
        rec_app.catalog.edit("catEars", {"triggers": ["nekomimi headband"]})
        end = time.monotonic() + 30
        while rec.embedded[before:] != [lid] and time.monotonic() < end:
            time.sleep(0.05)
        assert rec.embedded[before:] == [lid] and not rec._idle.is_set()  # embedded while the read is held
    finally:
        release.set()
    assert training.wait(10) and rec.wait_idle(60)


def test_a_corpus_a_whole_read_replaced_is_freed(lexical_app):  # noqa: F811
    """An edit put in place, then a whole read: nothing of ours keeps the corpus it replaced (the recommender's
    thread once kept it in a local of its loop: 100k documents and their index, until the next edit)."""
    import gc
    import weakref

    rec = lexical_app.recommender
    lexical_app.catalog.edit("catEars", {"triggers": ["nekomimi"]})  # in place: the thread handles the corpus
    assert rec.wait_idle(30)
    old = weakref.ref(rec._corpus)
    lexical_app.events.library_changed()  # a whole read replaces it
    assert rec.wait_idle(30) and rec._corpus is not old()
    gc.collect()
    assert old() is None


def test_the_passs_fills_wait_for_one_whole_read_after_it(lexical_app, monkeypatch):  # noqa: F811
    """The training tags pass's parts are no one's edit: none is put in place (at 100k, parts of 100 put in place
    while the read was held grew the index's arrays: 554 MB held against 428), the read after the pass reads
    them all at once; a person's edit meanwhile still goes in place."""
    from sqlalchemy import text

    from .loras import write_lora

    rec, training, root = lexical_app.recommender, lexical_app.scans.training, lexical_app.settings.lora_dirs[0]
    write_lora(f"{root}/zoo.safetensors", seed=77, metadata={"ss_tag_frequency": '{"1_a": {"zebrastripes": 9}}'})
    lexical_app.scan(hash_after=False)
    assert rec.wait_idle(30) and "zoo" in names(rec.for_prompt("zebrastripes", limit=3))
    with lexical_app.db.engine.begin() as conn:  # left for the pass, as a large scan leaves it
        conn.execute(text("UPDATE loras SET training_tags = 'null' WHERE file_name = 'zoo.safetensors'"))
    rec.changed()
    assert rec.wait_idle(30) and "zoo" not in names(rec.for_prompt("zebrastripes", limit=3))
    reads, updates = _recorded(monkeypatch, rec)
    release, real_pass, heard = threading.Event(), training._pass, []
    lexical_app.events.on_library_changed(heard.append, inline=True)
    monkeypatch.setattr(training, "_pass", lambda: (real_pass(), release.wait(30)))  # fills, then takes its time
    training.wake()
    end = time.monotonic() + 10
    while not heard and time.monotonic() < end:
        time.sleep(0.05)
    assert [(c.ids, c.filled) for c in heard] == [((lexical_app.catalog.get("zoo")["id"],), True)]
    lexical_app.catalog.edit("catEars", {"triggers": ["nekomimi headband"]})
    end = time.monotonic() + 10
    while "catEars" not in names(rec.for_prompt("nekomimi headband", limit=3)) and time.monotonic() < end:
        time.sleep(0.05)
    time.sleep(1.0)  # two polls of the held read
    assert "catEars" in names(rec.for_prompt("nekomimi headband", limit=3))  # the edit, in place
    assert "zoo" not in names(rec.for_prompt("zebrastripes", limit=3))  # the fill, not
    assert reads == [] and updates == [[lexical_app.catalog.get("catEars")["id"]]]
    release.set()
    assert training.wait(10) and rec.wait_idle(30)
    assert reads == [None] and len(updates) == 1 and "zoo" in names(rec.for_prompt("zebrastripes", limit=3))


def test_a_fill_during_a_querys_first_read_waits_for_the_pass(lexical_app, monkeypatch):  # noqa: F811
    """A fill said while a query reads the library for the first time: once that read ends, the recommender's
    thread sees it as the spacing's start and the pass's hold, and does not read the library again at once (it
    did, decided before it waited for the query's read: at 100k, 775 MB at the peak against 612)."""
    from lora_manager.recommend import service

    rec, training = lexical_app.recommender, lexical_app.scans.training
    assert rec.wait_idle(30) and training.wait(30)
    release = threading.Event()
    monkeypatch.setattr(training, "_pass", lambda: release.wait(30))
    training.wake()
    reads, real = [], service.read_docs

    def slow(store, ids=None):
        if ids is None:
            reads.append(time.monotonic())
            time.sleep(1.0)  # a first read that takes its time
        return real(store, ids)

    monkeypatch.setattr(service, "read_docs", slow)
    rec._corpus = None  # as before a server's first query
    rec._pace.gap = 0  # no spacing after a read: the pass's hold alone keeps the second read back
    asking = threading.Thread(target=rec.for_prompt, args=("neon city",))
    asking.start()
    deadline = time.monotonic() + 30
    while not reads and time.monotonic() < deadline:
        time.sleep(0.01)
    lexical_app.events.library_changed([lexical_app.catalog.get("catEars")["id"]], filled=True)
    asking.join(30)
    time.sleep(1.5)  # three polls
    assert len(reads) == 1 and rec._corpus is not None and not rec._idle.is_set()
    release.set()
    assert training.wait(10) and rec.wait_idle(30) and len(reads) == 2


def test_a_read_begun_after_a_change_is_that_changes_read(lexical_app, monkeypatch):  # noqa: F811
    """A query's read that began after a change holds it: the recommender's thread, which took the change
    before the read and waited for it, does not read again; a change said while a read runs is read after it."""
    from lora_manager.recommend import service

    rec = lexical_app.recommender
    assert rec.wait_idle(30)
    rec._pace.gap = 0  # no spacing: what each read holds alone decides
    reads, _ = _recorded(monkeypatch, rec)
    recording = service.read_docs
    with rec._corpus_lock:  # a query's read under way: the thread waits here to read
        rec.changed()
        time.sleep(0.5)  # the thread takes the change (after its 0.3 s debounce) and waits for the lock
        rec._read_corpus()  # the query's read, begun after the change
    assert rec.wait_idle(30) and reads == [None]

    def changed_meanwhile(store, ids=None):
        if ids is None and len(reads) == 1:
            rec.changed()  # said while this read runs: it may have missed it
        return recording(store, ids)

    monkeypatch.setattr(service, "read_docs", changed_meanwhile)
    with rec._corpus_lock:
        rec._read_corpus()
    assert rec.wait_idle(30) and reads == [None, None, None]


def test_another_hosts_fills_go_in_place(lexical_app, monkeypatch):  # noqa: F811
    """Fills said here for another host's pass (its notices): nothing here holds a read for them, so each goes in
    place as an edit does, not as a whole read per notice."""

    rec, training = lexical_app.recommender, lexical_app.scans.training
    assert rec.wait_idle(30) and training.wait(30) and not training.running
    reads, updates = _recorded(monkeypatch, rec)
    lid = lexical_app.catalog.get("catEars")["id"]
    for _ in range(3):
        lexical_app.events.library_changed([lid], filled=True)
        assert rec.wait_idle(30)
    assert [r for r in reads if r is None] == [] and updates == [[lid]] * 3
