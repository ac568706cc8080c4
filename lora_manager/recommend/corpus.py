"""The library in memory as the recommender ranks it: documents, BM25, triggers,
look-ups by id and prompt name. A change of files builds a new one; an edit of
a few LoRAs' own data replaces their documents in place (`update`).

Built from a stream of documents (`read_docs`): each one's words go into the
index and the rest into columns (recommend/columns.py); no document object is
kept, so only the compact index stays (a document's words are read again from
the database when a query needs them)."""

from __future__ import annotations

import threading
from array import array
from contextlib import contextmanager
from sys import intern
from collections.abc import Iterable

from ..errors import NotFound
from ..storage.catalog_store import CatalogStore, LoraQuery
from .columns import Docs, Names, Positions, Strings
from .lexical import BM25, TriggerIndex
from .text import DOC_FIELDS, LoraDoc, doc_of, training_head

PAGE = 2_000  # rows read at a time: only one page of full entries is alive while the corpus is built


def read_docs(store: CatalogStore, ids: list[int] | None = None):
    """The documents of the library's listed LoRAs (or of those of `ids` still listed), in id order."""
    cursor = None
    while True:
        page = store.list_loras(LoraQuery(state="ok", ids=ids, fields=list(DOC_FIELDS), sort="id",
                                          limit=PAGE if ids is None else max(1, len(ids)), cursor=cursor))
        cursor = page.next_cursor if ids is None else None
        items, page = page.items, None
        training = store.training_tags_text([e["id"] for e in items])
        items.reverse()
        while items:  # each entry is let go once it is a document
            entry = items.pop()
            yield doc_of(entry, training_head(training.pop(entry["id"], None)))
        if cursor is None:
            return


def changed_docs(corpus: Corpus, store: CatalogStore, ids: list[int]) -> list[LoraDoc] | None:
    """The documents of edited `ids` as they are now, to put in place; None when one of them left the list
    (the library is read again)."""
    docs = list(read_docs(store, ids))
    listed = {d.id for d in docs}
    return None if any(i in corpus.pos for i in ids if i not in listed) else docs


def read_texts(store: CatalogStore, docs: list[LoraDoc]) -> bool:
    """Give those of `docs` whose texts went (`Corpus.drop_texts`) their texts again, read by id: a vector lost
    for a LoRA nobody changed costs its own read, not the library's. False when one cannot be given its text
    here (it left the list or changed meanwhile, or more than a page of them went): read the library again."""
    blank = [d for d in docs if not d.text]
    if len(blank) > PAGE:
        return False
    fresh = {d.id: d for d in read_docs(store, [d.id for d in blank])} if blank else {}
    for d in blank:
        now = fresh.get(d.id)
        if now is None or now.digest != d.digest or not now.text:
            return False
        d.text = now.text
    return True


class ReadWriteLock:
    """Queries read the corpus together; an edit writes it alone, let in before readers that come after it."""

    def __init__(self):
        self._cond = threading.Condition()
        self._readers = 0
        self._writing = False
        self._waiting = 0

    @contextmanager
    def reading(self):
        with self._cond:
            while self._writing or self._waiting:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if not self._readers:
                    self._cond.notify_all()

    @contextmanager
    def writing(self):
        with self._cond:
            self._waiting += 1
            while self._writing or self._readers:
                self._cond.wait()
            self._waiting -= 1
            self._writing = True
        try:
            yield
        finally:
            with self._cond:
                self._writing = False
                self._cond.notify_all()


def fresh_doc(store: CatalogStore, lid: int) -> LoraDoc:
    """One listed LoRA's document as it is now (its words and text, which the corpus does not keep)."""
    doc = next(read_docs(store, [lid]), None)
    if doc is None:
        raise NotFound("that LoRA is not in the library now (missing, trashed or unreadable)", {"id": lid})
    return doc


class Corpus:
    def __init__(self, docs: Iterable[LoraDoc], *, keep_text: bool = True):
        """`keep_text=False` drops the embedder's text and digest (no model to feed)."""
        self.docs = Docs(keep_text)  # by position (recommend/columns.py)
        self.bm25 = BM25()
        self.triggers = TriggerIndex()
        # The triggers wait in one buffer until the read is over: the index's objects (one string, one tuple of
        # words and a count per distinct trigger) are then made one after another, packed in memory, rather than
        # between the pages of rows read, whose memory they would keep from going back to the system.
        trig_pos, trig_text = array("I"), Strings()
        for d in docs:
            self.bm25.add(d.words)
            for trig in d.triggers:
                trig_pos.append(len(self.docs))
                trig_text.append(trig)
            self._keep(d)
            self.docs.append(d)
        for pos, trig in zip(trig_pos, trig_text, strict=True):
            self.triggers.add(pos, (trig,))
        del trig_pos, trig_text
        self.pos = Positions(self.docs.ids)  # id -> position
        self._names = Names(self.docs.names)
        self.bm25.finish()
        self.triggers.finish()

    def update(self, docs: list[LoraDoc]) -> bool:
        """Each of `docs` replaces the document of its LoRA in place (its own data was edited). False, and
        nothing changed, when one is not here or its prompt name changed: the whole library is read again."""
        places = [self.pos.get(d.id) for d in docs]
        if any(p is None or self.docs.names[p] != d.prompt_name for p, d in zip(places, docs, strict=True)):
            return False
        for p, d in zip(places, docs, strict=True):
            self.bm25.remove(p)
            self.bm25.put(p, d.words)
            self.triggers.remove(p)
            self.triggers.put(p, d.triggers)
            self._keep(d)
            self.docs[p] = d
        return True

    def _keep(self, d: LoraDoc) -> None:
        """What a document keeps once its words and triggers are in the index."""
        if d.family is not None:
            d.family = intern(d.family)  # a few families, each held once

    def drop_texts(self) -> None:
        """Every document is embedded: the texts go (a change reads the library again, with its texts).
        The digests stay, to tell what a later change needs embedded."""
        self.docs.drop_texts()

    def __len__(self) -> int:
        return len(self.docs)

    def find(self, prompt_name: str) -> int | None:
        """Position of the LoRA a prompt names (as the host resolves it; case-blind as a fallback)."""
        return self._names.find(prompt_name)
