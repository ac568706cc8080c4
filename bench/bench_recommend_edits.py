"""What an edit costs the recommender's word index, against reading the library again (what every change
did before): an indexed library, the model off, nothing written.

    python bench/bench_recommend_edits.py --lora-dir bench/libs/100k --data-dir bench/out/d100k [--json out.json]

The data dir's library.db must be indexed (`lora-manager scan --wait-hashes`). An update reads the LoRAs'
documents from the database and puts them in place (`Recommender._update`), as an edit of their triggers,
tags or names does; the same documents here, so the index is unchanged.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from report import emit  # noqa: E402

from lora_manager.app import build  # noqa: E402
from lora_manager.settings import Settings  # noqa: E402

PROMPTS = ["neon city at night", "portrait of a woman, film grain", "watercolor landscape", "armored knight castle",
           "anime girl with cat ears", "pixel art", "style"]


def seconds(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def query_times(rec) -> dict:
    times = sorted(seconds(lambda p=p: rec.for_prompt(p, limit=10)) * 1000 for _ in range(3) for p in PROMPTS)
    return {"p50": round(statistics.median(times), 1), "p95": round(times[int(len(times) * 0.95)], 1),
            "runs": len(times)}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lora-dir", required=True)
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--db", help="database URL (default: SQLite in the data dir)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    extra = {"db_url": args.db} if args.db else {}
    app = build(Settings(lora_dirs=[args.lora_dir], data_dir=args.data_dir, embed_model="off", **extra))
    try:
        rec = app.recommender
        first = seconds(lambda: rec.for_prompt("warm up", limit=10))  # builds the index
        ids = [d.id for d in rec._corpus.docs]
        built = query_times(rec)
        full = [seconds(rec._read_corpus) for _ in range(args.rounds)]
        out = {"loras": len(ids), "first_recommendation_s": round(first, 2),
               "baseline_read_library_s": round(min(full), 3)}
        for n in (1, 10, 200):
            runs = [seconds(lambda: rec._update(ids[i * n:(i + 1) * n])) for i in range(args.rounds)]
            out[f"update_{n}_ms"] = round(min(runs) * 1000, 1)
            out[f"update_{n}_vs_baseline"] = round(min(runs) / min(full), 5)
        out["query_ms_as_built"] = built
        out["query_ms_after_the_updates"] = query_times(rec)
    finally:
        app.close()
    emit(out, args.json)
    return out


if __name__ == "__main__":
    main()
