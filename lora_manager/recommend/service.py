"""The recommender: LoRAs for a prompt, LoRAs like a LoRA, feedback, status.

One background thread owns all slow work: reading the library into a `Corpus` (lexical ranking ready), loading
the model, embedding what changed (the persisted vectors carry the digest of the text each was made from, so only
new or edited LoRAs are embedded again). Queries never wait for it: until the vectors for the current model are
in place they answer from the lexical ranking, and `status()` says so. Nothing starts before the first query or
an explicit `start()`.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any
from collections.abc import Callable

from ..errors import InvalidInput, NotFound
from ..library.basemodel import FAMILIES
from ..usage.prompts import parse_loras, strip_loras
from ..settings import DEFAULT_EMBED_MODEL
from ..storage.catalog_store import CatalogStore, LoraQuery
from ..storage.feedback_store import FeedbackStore
from ..storage.ttl_cache import TtlCache
from .corpus import Corpus, ReadWriteLock, changed_docs, fresh_doc, read_docs, read_texts
from .embedder import DEFAULT_NAMES, Embedder
from .ranking import Signals, Suggestion, check_query, fits, fuse
from .status import status_of
from .lexical import top_matches
from .pacing import POLL, Pacer
from .text import clean, lora_tag, words
from .vectors import VectorStore, store_path

log = logging.getLogger(__name__)
MAX_PROMPT_CHARS = 10_000
BATCH = 16  # small batches: a query's encode waits at most one batch for the shared model
SAVE_EVERY = 2_000
DEBOUNCE = 0.3
EDITS_IN_PLACE = 200  # LoRAs edited at once that are updated in the index; more read the library again
CACHE_TTL = 30.0
PAIRS_TTL = 10.0
OFF = {"off", "none", "disabled"}


class Recommender:
    def __init__(self, catalog_store: CatalogStore, feedback_store: FeedbackStore, data_dir: str, *,
                 model: str = DEFAULT_EMBED_MODEL, device: str = "cpu",
                 host_family: Callable[[], str | None] | None = None,
                 cpu_threads: int | None = 1, embedder: Embedder | None = None, allow_download: bool = True,
                 trim: Callable[[], Any] | None = None, hold: Callable[[], bool] | None = None):
        self.catalog_store = catalog_store  # the library's text, read into the corpus
        self.feedback_store = feedback_store  # feedback and the usage rollups (uses, pairs)
        self.data_dir = data_dir
        model = (model or DEFAULT_EMBED_MODEL).strip()
        self.model_key = DEFAULT_EMBED_MODEL if model in DEFAULT_NAMES else model
        self.disabled = model.lower() in OFF
        self.embedder = embedder or Embedder(model, device, cpu_threads, allow_download)
        self.host_family = host_family
        self.trim = trim  # gives freed memory back to the system after a build (only where we own the process)
        self.store: VectorStore | None = None
        self.build: dict[str, Any] = {"running": False, "done": 0, "total": 0, "rate": None, "error": None}
        self.embedded: list[int] = []  # ids the builder embedded since start, in order (tests count re-embeds)
        self._corpus: Corpus | None = None
        self._vectors_ready = False
        self._dirty = True
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._corpus_lock = threading.Lock()
        self._pace = Pacer(hold=hold)  # whole re-reads spaced while the library changes, held by `hold` (pacing.py)
        self._reading = ReadWriteLock()  # queries read the corpus while no edit is put in place
        self._edits_lock = threading.Lock()
        self._edited: set[int] = set()  # LoRAs whose own data changed since the last look
        # Whole reads begun; the number of the last that ended well; reads begun when a change last made one due.
        # A whole read is due while the last read that ended well began no later (`_due`): work that failed, or
        # an update in place that could not be made, sets `_changed_at` and the next change reads the library.
        self._reads = self._read_began = self._changed_at = 0
        self._start_lock = threading.Lock()
        # usage figures read per query: kept a while (what is recorded meanwhile shows within the ttl)
        self._pairs: TtlCache[dict] = TtlCache(PAIRS_TTL, max_items=512)
        self._usage: TtlCache[dict] = TtlCache(CACHE_TTL, max_items=512)

    # ---------------------------------------------------------------- life
    def start(self) -> None:
        """Start the background work (idempotent; returns at once)."""
        with self._start_lock:
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(target=self._run, name="lora-manager-recommend", daemon=True)
                self._thread.start()

    def changed(self, change=None) -> None:
        """The library changed: read it again soon; when only some LoRAs' own data changed (an edit: `change.ids`),
        update their documents in place. Then embed what changed."""
        ids = getattr(change, "ids", None)
        # A fill of this host's pass goes to the whole read after the pass (pacing.py); another host's pass holds
        # nothing here, and its fills go in place as edits do.
        fill = getattr(change, "filled", False) and self._pace.held()
        with self._edits_lock:
            if ids is None or fill or len(self._edited) + len(ids) > EDITS_IN_PLACE:
                self._dirty, self._changed_at = True, self._reads
            else:
                self._edited.update(ids)
            self._idle.clear()
        self._wake.set()

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Wait until nothing is left to read or embed (tests, benchmarks)."""
        self.start()
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self._idle.wait(0.05):
                with self._edits_lock:
                    if self._idle.is_set() and not self._dirty and not self._edited:
                        return True
        return False

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(10)
        self.embedder.close()

    @property
    def mode(self) -> str:
        return "semantic" if self._vectors_ready and self.embedder.ready else "lexical"

    # ---------------------------------------------------------------- queries
    def for_prompt(self, prompt: str, limit: int = 10, base: str | None = None, user: str = "") -> dict[str, Any]:
        """LoRAs for `prompt` -> {"mode", "base", "items": [{"lora", "score", "reasons", "tag", "triggers"}]}."""
        if not isinstance(prompt, str) or len(prompt) > MAX_PROMPT_CHARS:
            raise InvalidInput(f"a prompt has at most {MAX_PROMPT_CHARS} characters", {"length": len(prompt or "")})
        limit, base = check_query(limit, base)
        corpus = self._ensure_corpus()
        with self._reading.reading():
            return self._for_prompt(corpus, prompt, limit, base, user)

    def _for_prompt(self, corpus: Corpus, prompt: str, limit: int, base: str | None, user: str) -> dict[str, Any]:
        refs = parse_loras(prompt)
        text = clean(strip_loras(prompt))
        in_prompt = {p for p in (corpus.find(r.name) for r in refs) if p is not None}
        family, source = self._target_family(base, corpus, in_prompt)
        mode = self.mode
        qwords = words(text)
        sig = Signals()
        if qwords:
            if mode == "semantic":
                sig.similar = self._semantic(self.embedder.encode([text])[0], corpus, limit, family)
            sig.words, sig.matched = top_matches(corpus.bm25, qwords)
            sig.triggers = corpus.triggers.hits(qwords)
        names = [corpus.docs.names[p] for p in in_prompt] + [r.name for r in refs if corpus.find(r.name) is None]
        sig.co_usage = self._co_usage(corpus, names)
        sig.popular = self._popular(corpus)
        sig.feedback = self._feedback(corpus, user)
        sig.popular_candidates = not qwords and not in_prompt
        ranked = fuse(corpus, sig, mode, lambda p: p not in in_prompt and fits(corpus.docs.families[p], family), limit)
        return self._answer(ranked, corpus, mode, family, source)

    def similar(self, key: str | int, limit: int = 10, base: str | None = None, user: str = "") -> dict[str, Any]:
        """LoRAs like the one known by `key` (by text and by co-usage); same shape as `for_prompt`."""
        limit, base = check_query(limit, base)
        lid = self.catalog_store.resolve(key)
        corpus = self._ensure_corpus()
        doc = fresh_doc(self.catalog_store, lid)  # its words and text, which the corpus does not keep
        with self._reading.reading():
            return self._similar(corpus, lid, doc, limit, base, user)

    def _similar(self, corpus: Corpus, lid: int, doc, limit: int, base: str | None, user: str) -> dict[str, Any]:
        me = corpus.pos.get(lid)
        if me is None:
            raise NotFound("that LoRA is not in the library now (missing, trashed or unreadable)", {"id": lid})
        family = base or doc.family
        mode = self.mode
        sig = Signals()
        if mode == "semantic":
            vec = self.store.snapshot.vector(lid)
            vec = self.embedder.encode([doc.text])[0] if vec is None else vec
            sig.similar = self._semantic(vec, corpus, limit + 1, family)
        sig.words, sig.matched = top_matches(corpus.bm25, doc.words)
        sig.co_usage = self._co_usage(corpus, [doc.prompt_name])
        sig.popular = self._popular(corpus)
        sig.feedback = self._feedback(corpus, user)
        ranked = fuse(corpus, sig, mode, lambda p: p != me and fits(corpus.docs.families[p], family), limit)
        return self._answer(ranked, corpus, mode, family, "given" if base else "this LoRA")

    def feedback(self, key: str | int, action: str, user: str = "") -> dict[str, Any]:
        """Record accept / dismiss / down on a suggested LoRA; later rankings for `user` follow it."""
        if not isinstance(user, str):
            raise InvalidInput("user must be a string")
        counts = self.feedback_store.record_feedback(user, self.catalog_store.resolve(key), action)
        self._usage.discard(("feedback", user))
        return counts

    def status(self) -> dict[str, Any]:
        return status_of(self)

    # ---------------------------------------------------------------- signals
    def _semantic(self, vec, corpus: Corpus, limit: int, family: str | None) -> dict[int, float]:
        snap = self.store.snapshot
        k = max(200, limit * 20)
        while True:
            out = {}
            for lid, cos in snap.search(vec, k):
                pos = corpus.pos.get(lid)
                if pos is not None:
                    out[pos] = cos
            fitting = sum(1 for p in out if fits(corpus.docs.families[p], family))
            if fitting >= limit * 3 or k >= snap.size:
                return out
            k *= 8  # a rare family: look further down the list

    def _target_family(self, base: str | None, corpus: Corpus, in_prompt: set[int]) -> tuple[str | None, str | None]:
        if base:
            return base, "given"
        if self.host_family is not None:
            try:
                family = self.host_family()
            except Exception:  # the host's model state is a hint; never fail a query over it
                family = None
            if family in FAMILIES:
                return family, "loaded checkpoint"
        known = [corpus.docs.families[p] for p in in_prompt if corpus.docs.families[p]]
        if known:
            return max(set(known), key=known.count), "LoRAs in the prompt"
        return None, None

    def _co_usage(self, corpus: Corpus, names: list[str]) -> dict[int, tuple[int, str]]:
        if not names:
            return {}
        pairs = self._pairs.get_or_load(tuple(sorted(names)), lambda: self.feedback_store.pair_counts(names))
        out: dict[int, tuple[int, str]] = {}
        for name, partners in pairs.items():
            for other, n in partners.items():
                pos = corpus.find(other)
                if pos is not None and (pos not in out or n > out[pos][0]):
                    out[pos] = (n, name)
        return out

    def _popular(self, corpus: Corpus) -> dict[int, int]:
        uses = self._usage.get_or_load("uses", self.feedback_store.use_counts)
        out: dict[int, int] = {}
        for name, n in uses.items():
            pos = corpus.find(name)
            if pos is not None:
                out[pos] = out.get(pos, 0) + n
        return out

    def _feedback(self, corpus: Corpus, user: str) -> dict[int, tuple[int, int, int]]:
        counts = self._usage.get_or_load(("feedback", user), lambda: self.feedback_store.feedback_counts(user))
        return {corpus.pos[lid]: c for lid, c in counts.items() if lid in corpus.pos}

    def _answer(self, ranked: list[Suggestion], corpus: Corpus, mode: str, family: str | None,
                source: str | None) -> dict[str, Any]:
        ids = [corpus.docs.ids[s.pos] for s in ranked]
        entries = {}
        if ids:
            page = self.catalog_store.list_loras(LoraQuery(ids=ids, sort="id", limit=len(ids)))
            entries = {e["id"]: e for e in page.items}
        items = []
        for s in ranked:
            entry = entries.get(corpus.docs.ids[s.pos])
            if entry is None:
                continue  # gone since the corpus was read
            items.append({"lora": entry, "score": round(s.score, 4), "reasons": s.reasons,
                          "tag": lora_tag(entry["prompt_name"], entry.get("preferred_weight")),
                          "triggers": entry.get("triggers") or []})
        return {"mode": mode, "base": family, "base_source": source, "items": items}

    # ---------------------------------------------------------------- background
    def _ensure_corpus(self) -> Corpus:
        self.start()
        corpus = self._corpus
        if corpus is None:
            with self._corpus_lock:
                if self._corpus is None:
                    self._read_corpus()
            corpus = self._corpus
        return corpus

    def _read_corpus(self) -> None:
        """Under the corpus lock."""
        self._reads += 1
        began = self._reads
        with self._pace.timing():
            self._corpus = Corpus(read_docs(self.catalog_store), keep_text=not self.disabled)
        self._read_began = began  # the last read that ended well began as read number `began`
        if self.trim is not None:
            self.trim()  # the pages read are freed; hand their memory back

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with self._edits_lock:
                    self._idle.clear()
                    full, edited, self._dirty, self._edited = self._dirty or self._due(), self._edited, False, set()
                if edited:  # in place even when a whole read is due: it may wait a while (below)
                    full = not self._update(sorted(edited)) or full
                # Spaced or held (pacing.py): the read stays due; the model loads, edits go in place and are embedded.
                held = full and not self._read_whole()
                if held:
                    with self._edits_lock:
                        self._dirty = True
                if not self.disabled and self.embedder.state == "idle":
                    self.embedder.load()
                if self.embedder.ready and self._corpus is not None and (not held or edited or not self._vectors_ready):
                    self._sync_vectors()
                if held:
                    self._stop.wait(POLL)
                    continue
            except Exception as exc:  # a down database or a full disk: try again on the next change
                log.exception("recommender background work failed")
                self.build["error"] = f"{type(exc).__name__}: {str(exc)[:300]}"
                self._changed_at = self._reads  # what was not read in stays out until the library is read again
            with self._edits_lock:
                pending = self._dirty or bool(self._edited)
                if not pending:
                    self._idle.set()
            if pending:
                continue
            self._wake.wait()
            self._wake.clear()
            self._stop.wait(DEBOUNCE)

    def _read_whole(self) -> bool:
        """Read the whole library again; False when the read stays due (spaced or held). Decided under the
        corpus lock: a query's first read may have ended meanwhile. It starts the spacing (it was once followed
        at once by a second read, in the middle of the training tags pass), and when it began after the last
        change was said, it holds every change: no second read."""
        with self._corpus_lock:  # with no model to feed, the corpus waits for the first query
            wanted = self._corpus is not None or not self.disabled
            if wanted and self._due():
                if not self._pace.due():
                    return False
                with self._edits_lock:  # what came meanwhile is in the read below
                    self._dirty, self._edited = False, set()
                self._read_corpus()
        return True

    def _due(self) -> bool:
        return self._read_began <= self._changed_at

    def _update(self, ids: list[int]) -> bool:
        """The documents of edited `ids` read again and put in place; False when the library must be read
        again (one left the list, came, or was renamed). A local of its own: a corpus named in `_run`'s frame
        stayed alive there after a whole read replaced it (100k documents and their index, until the next edit)."""
        with self._corpus_lock:  # a query's first read may be under way: the edits go into what it read
            corpus = self._corpus
        if corpus is None:
            return True  # nothing read yet: the first read has them
        docs = changed_docs(corpus, self.catalog_store, ids)
        if docs is not None:
            with self._reading.writing():
                if corpus.update(docs):
                    return True
        self._changed_at = self._reads  # due: a read begun from now on has them
        return False

    def _sync_vectors(self) -> None:
        if self.store is None:
            store = VectorStore(store_path(self.data_dir, self.model_key), self.model_key, self.embedder.dim)
            store.load()
            self.store = store
        store, corpus = self.store, self._corpus
        removed = set(store.digests) - set(corpus.pos)
        todo = [d for d in corpus.docs if store.digests.get(d.id) != d.digest]
        if not read_texts(self.catalog_store, todo):  # texts gone since an earlier sync: read again by id, or all
            with self._corpus_lock:
                self._read_corpus()
            corpus = self._corpus
            todo = [d for d in corpus.docs if store.digests.get(d.id) != d.digest]
        if not todo and not removed:
            corpus.drop_texts()
            self._vectors_ready = True
            return
        self.build.update(running=True, done=0, total=len(todo), rate=None, error=None, started=time.time())
        started, pending, vecs = time.monotonic(), [], []
        try:
            for i in range(0, len(todo), BATCH):
                if self._stop.is_set():
                    break
                batch = todo[i : i + BATCH]
                vecs.extend(self.embedder.encode([d.text for d in batch], batch_size=BATCH))
                pending.extend((d.id, d.digest) for d in batch)
                self.embedded.extend(d.id for d in batch)
                self.build["done"] += len(batch)
                self.build["rate"] = round(self.build["done"] / max(1e-6, time.monotonic() - started), 1)
                if len(pending) >= SAVE_EVERY:  # a long first build survives a restart
                    store.apply(pending, vecs, removed)
                    store.save()
                    pending, vecs, removed = [], [], set()
                time.sleep(0.001)  # let request threads have the interpreter between batches
            if pending or removed:
                store.apply(pending, vecs, removed)
                store.save()
        finally:
            self.build.update(running=False, finished=time.time())
        if not self._stop.is_set():
            corpus.drop_texts()  # at 100k LoRAs, 37 MB of text nothing reads until the next change
            self._vectors_ready = True
