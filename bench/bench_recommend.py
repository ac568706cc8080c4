"""Recommender benchmark: quality (semantic vs lexical), build throughput, API
latency while the library is embedded, and query time at 10k and 100k LoRAs.

    python bench/bench_recommend.py [--build 10000] [--big 100000] [--json out.json]

The recommender runs its own code over an in-memory stand-in of its two stores
(the library of bench/recommend_eval.py); the API probes hit a real app
(SQLite) in the same process, so the builder's thread competes with them for
the GIL and the cores. At 100k the vectors are random unit vectors (only the
prompt is really encoded): the search costs the same whatever the vectors are.
Each time comes with a bare baseline from the same run (a numpy matrix product
over the same vectors; /health before the build).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time

import orjson

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from recommend_eval import QUERIES, library, metrics  # noqa: E402
from report import emit  # noqa: E402

from lora_manager.errors import NotFound  # noqa: E402
from lora_manager.recommend.service import Recommender  # noqa: E402
from lora_manager.storage.catalog_store import Page  # noqa: E402


class MemoryStores:
    """What the recommender reads from its stores (catalog: entries; feedback: usage), over a list of entries."""

    def __init__(self, entries):
        self.entries = entries
        self.by_id = {e["id"]: e for e in entries}

    def list_loras(self, q):
        # a new list each time, as a real page is: the recommender lets go of each entry it has read
        items = [self.by_id[i] for i in q.ids if i in self.by_id] if q.ids is not None else list(self.entries)
        return Page(total=len(items), items=items, limit=q.limit, offset=0, next_cursor=None)

    def training_tags_text(self, ids):
        return {i: orjson.dumps(self.by_id[i].get("training_tags")).decode() for i in ids if i in self.by_id}

    def resolve(self, key):
        for e in self.entries:
            if str(key) in (str(e["id"]), e["prompt_name"]):
                return e["id"]
        raise NotFound("no such LoRA")

    def pair_counts(self, names):
        return {}

    def use_counts(self):
        return {}

    def feedback_counts(self, user):
        return {}


def memory_stores(entries):
    """(catalog store, feedback store) for Recommender: one in-memory object plays both."""
    stores = MemoryStores(entries)
    return stores, stores


def ms(values):
    values = sorted(values)
    return {"median_ms": round(statistics.median(values) * 1000, 2),
            "p95_ms": round(values[int(len(values) * 0.95) - 1] * 1000, 2),
            "max_ms": round(values[-1] * 1000, 2), "n": len(values)}


def ranked_names(rec, k=10):
    return [[i["lora"]["prompt_name"] for i in rec.for_prompt(q, limit=k)["items"]] for q, _ in QUERIES]


def timed_queries(rec, rounds=2):
    times = []
    for _ in range(rounds):
        for q, _ in QUERIES:
            t = time.perf_counter()
            rec.for_prompt(q, limit=10)
            times.append(time.perf_counter() - t)
    return times


def quality(tmp, size):
    entries = library(size)
    lexical = Recommender(*memory_stores(entries), os.path.join(tmp, "q-lex"), model="off")
    lexical.wait_idle(120)
    semantic = Recommender(*memory_stores(entries), os.path.join(tmp, "q-sem"))
    semantic.wait_idle(600)
    assert semantic.mode == "semantic", semantic.status()
    # The embeddings alone, without the lexical and trigger signals (for comparison).
    snap, pos = semantic.store.snapshot, {e["id"]: e["prompt_name"] for e in entries}
    vecs = semantic.embedder.encode([q for q, _ in QUERIES])
    dense = [[pos[i] for i, _ in snap.search(v, 10)] for v in vecs]
    out = {"library": size, "lexical": metrics(ranked_names(lexical)), "semantic": metrics(ranked_names(semantic)),
           "embeddings_only": metrics(dense)}
    lexical.close()
    return out, semantic.embedder


def build_and_api(tmp, size, embedder_threads=1):
    from fastapi.testclient import TestClient

    from lora_manager.standalone.app import create_app
    from lora_manager.app import build
    from lora_manager.settings import Settings

    core = build(Settings(lora_dirs=[], data_dir=os.path.join(tmp, "api"), db_url=f"sqlite:///{tmp}/api.db"))
    rec = Recommender(*memory_stores(library(size)), os.path.join(tmp, "build"))
    core.recommender.close()
    core.recommender = rec
    client = TestClient(create_app(core))
    client.__enter__()

    def probe(seconds, until=None):
        health, loras, prompt = [], [], []
        end = time.monotonic() + seconds
        while time.monotonic() < end and not (until and until()):
            for path, acc in (("/lora-manager/v1/health", health), ("/lora-manager/v1/loras?limit=50", loras)):
                t = time.perf_counter()
                assert client.get(path).status_code == 200
                acc.append(time.perf_counter() - t)
            t = time.perf_counter()
            r = client.post("/lora-manager/v1/recommendations/for-prompt",
                            json={"prompt": "a castle in the fog at night"})
            assert r.status_code == 200
            prompt.append(time.perf_counter() - t)
            time.sleep(0.05)
        return {"health": ms(health), "loras": ms(loras), "for_prompt": ms(prompt)}

    idle = probe(4)  # baseline: the same app before the recommender starts
    rec.start()
    during = probe(3600, until=lambda: rec._idle.is_set() and not rec._dirty)  # corpus, model load and build
    rec.wait_idle(3600)
    seconds = rec.build["finished"] - rec.build["started"]
    built = {"texts": rec.build["total"], "seconds": round(seconds, 1),
             "sentences_per_s": round(rec.build["total"] / seconds, 1), "batch": 16, "torch_threads": embedder_threads}
    queries = ms(timed_queries(rec))
    client.__exit__(None, None, None)
    core.close()
    rec.close()
    return built, {"before_build": idle, "during_build": during}, queries


def big_query(embedder, size):
    import numpy as np

    from lora_manager.recommend.vectors import VectorStore, make_snapshot

    entries = library(size)
    rec = Recommender(*memory_stores(entries), tempfile.mkdtemp(), embedder=embedder)
    rec._thread = threading.current_thread()  # no builder thread: the vectors are given below
    t = time.perf_counter()
    rec._ensure_corpus()
    corpus_s = time.perf_counter() - t
    rng = np.random.default_rng(0)
    vecs = rng.standard_normal((size, embedder.dim)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    store = VectorStore(os.devnull, "random", embedder.dim)
    store.snapshot = make_snapshot([e["id"] for e in entries], vecs)
    rec.store, rec._vectors_ready, rec._dirty = store, True, False
    assert rec.mode == "semantic"
    total = timed_queries(rec)
    enc, search, bare = [], [], []
    for q, _ in QUERIES:
        t = time.perf_counter()
        v = embedder.encode([q])[0]
        enc.append(time.perf_counter() - t)
        t = time.perf_counter()
        store.snapshot.search(v, 200)
        search.append(time.perf_counter() - t)
        t = time.perf_counter()
        s = vecs @ v
        np.argpartition(-s, 200)[:200]
        bare.append(time.perf_counter() - t)
    return {"library": size, "corpus_read_s": round(corpus_s, 1), "for_prompt": ms(total), "encode": ms(enc),
            "faiss_flat_search": ms(search), "bare_numpy_topk": ms(bare),
            "search_vs_bare": round(statistics.median(search) / statistics.median(bare), 2)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quality", type=int, default=2000)
    ap.add_argument("--build", type=int, default=10000)
    ap.add_argument("--big", type=int, default=100000)
    ap.add_argument("--json")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        q, embedder = quality(tmp, args.quality)
        print("quality", q, flush=True)
        built, api, q10k = build_and_api(tmp, args.build)
        print("build", built, flush=True)
        big = big_query(embedder, args.big)
    emit({"cores": os.cpu_count(), "loadavg_at_end": os.getloadavg(), "quality": q, "build": built, "api_latency": api,
          f"query_{args.build}": q10k, f"query_{args.big}": big}, args.json)


if __name__ == "__main__":
    main()
