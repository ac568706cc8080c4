"""Issue 17's list filters on a large library: tag include/exclude (the user's and the models' tags), untagged,
the NSFW level, substring search ranked, the shown-name sort, favourites first; server-side p50/p95 of a page of 100
cards.

    python bench/make_library.py /work/benchlibs/10k --count 10000
    python bench/bench_filters.py --lora-dir /work/benchlibs/10k --db sqlite:////tmp/bench-filters.db
    python bench/bench_filters.py --lora-dir /work/benchlibs/10k --db postgresql+psycopg://postgres@127.0.0.1/test

The library is scanned into the database first when it is empty (no hashing). A page is what the list route
does before the network: the query, the count, the entries encoded as JSON (docs/performance-api.md).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time

import orjson

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from lora_manager.app import build  # noqa: E402
from lora_manager.settings import Settings  # noqa: E402
from lora_manager.storage.catalog_store import LoraQuery  # noqa: E402


def timed(fn, runs: int) -> dict:
    fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return {"p50_ms": round(statistics.median(times), 1), "p95_ms": round(times[int(len(times) * 0.95) - 1], 1)}


def page(cat, **kw):
    """A page of 100 cards, encoded; a callable value is drawn anew for each page (a random tag or word)."""
    return lambda: orjson.dumps(cat.list(LoraQuery(limit=100, raw_json=True, **{
        k: v() if callable(v) else v for k, v in kw.items()})).items)


def cases(cat) -> dict:
    tags = cat.tags()
    common = [t["tag"] for t in tags[:5]]
    rare = [t["tag"] for t in tags if 20 <= t["count"] <= 200][:5] or common
    pick = random.Random(0)
    return {
        "baseline_size_sort": page(cat, sort="size"),  # the path issue 17 left alone: the machine's pace now
        "tag_include_common": page(cat, tags=lambda: [pick.choice(common)]),
        "tag_include_rare": page(cat, tags=lambda: [pick.choice(rare)]),
        "tag_include_two": page(cat, tags=lambda: [common[0], pick.choice(rare)]),
        "tag_exclude_common": page(cat, exclude_tags=lambda: [pick.choice(common)]),
        "tag_include_and_exclude": page(cat, tags=lambda: [pick.choice(rare)], exclude_tags=[common[0]]),
        "untagged": page(cat, untagged=True),
        "nsfw_max_pg13": page(cat, nsfw_max=2),  # hide above PG-13 (unknown levels kept unless flagged)
        "infix_search": page(cat, query=lambda: pick.choice(["girl", "irl", "anime", "tyle", "xel", "ortrai"])),
        "infix_search_two_words": page(cat, query=lambda: pick.choice(["anime girl", "pixel art", "neon ight"])),
        "search_two_letters": page(cat, query=lambda: pick.choice(["gi", "an", "st"])),
        "name_sort_first_page": page(cat, sort="name"),
        "name_sort_deep_offset": page(cat, sort="name", offset=5000),
        "favorites_first": page(cat, favorites_first=True),
        "rating_sort": page(cat, sort="-rating"),
        "tag_counts": cat.tags,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lora-dir", required=True)
    ap.add_argument("--db", required=True, help="database URL")
    ap.add_argument("--data-dir", default="/tmp/bench-filters-data")
    ap.add_argument("--runs", type=int, default=40)
    args = ap.parse_args()
    core = build(Settings(lora_dirs=[args.lora_dir], data_dir=args.data_dir, db_url=args.db))
    try:
        if core.catalog.counts()["ok"] == 0:
            t = time.perf_counter()
            core.scan(hash_after=False)
            print(f"scanned in {time.perf_counter() - t:.0f} s", file=sys.stderr)
        ids = [e["id"] for e in core.catalog.list(LoraQuery(limit=1000, fields="id", sort="size")).items]
        core.catalog.bulk(ids[:100], "favorite")  # a collector's few favourites
        for i, lid in enumerate(ids[:500]):
            if i % 5 == 0:
                core.catalog.edit(lid, {"rating": i % 6})
        out = {"loras": sum(core.catalog.counts().values()), "db": core.db.kind}
        for name, fn in cases(core.catalog).items():
            out[name] = timed(fn, args.runs)
        print(orjson.dumps(out, option=orjson.OPT_INDENT_2).decode())
    finally:
        core.close()


if __name__ == "__main__":
    main()
