"""Memory and list-page speed of `serve --no-ui` (embedding model off), beside a bare baseline.

    python bench/make_library.py bench/libs/10k --count 10000 --data-bytes 2000
    python bench/bench_memory.py --lora-dir bench/libs/10k --data-dir bench/out/d10k --json bench/out/mem10k.json

Indexes the library first when its database is empty. Then, in this process,
the list and search queries (p50/p95 of the core call with JSON encoding, over
the default list fields). Then a real `serve --no-ui` process: resident size
idle after its start-up scan, wrk (-c16) on a repeated page of 100, a repeated
broad search, and distinct pages that the page cache cannot answer
(bench/mix_pages.lua); its resident size after that load, after one
recommendation (the word index is built on the first), and after a rest (the
heap is trimmed). The bare baseline is a FastAPI route returning the same
page's bytes (bench/bare_server.py) under the same wrk, in the same run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import httpx
import orjson

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

from bench_api import free_port, rss_mb, wait_ready, wrk  # noqa: E402
from report import emit  # noqa: E402
from lora_manager.app import build  # noqa: E402
from lora_manager.settings import Settings  # noqa: E402
from lora_manager.storage.catalog_store import LoraQuery  # noqa: E402
from lora_manager.storage.entries import LIST_FIELDS  # noqa: E402

P = "/lora-manager/v1"


def percentiles(fn, runs: int) -> dict:
    times = []
    for i in range(runs):
        t = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - t)
    times.sort()
    return {"p50_ms": round(times[len(times) // 2] * 1000, 2), "p95_ms": round(times[int(len(times) * 0.95)] * 1000, 2)}


def queries(core, runs: int) -> dict:
    cat = core.catalog
    n = core.catalog.counts()["ok"]
    out: dict = {}

    def page(**kw):
        return lambda i: orjson.dumps(cat.list(LoraQuery(limit=100, fields=LIST_FIELDS, raw_json=True, **kw)).items)

    for sort in ("name", "-modified", "size", "added", "id"):
        cursor = cat.list(LoraQuery(limit=100, offset=max(0, n - 300), sort=sort, fields="id")).next_cursor
        out[f"cursor_end_{sort}"] = percentiles(page(sort=sort, cursor=cursor), runs)
        out[f"offset_end_{sort}"] = percentiles(lambda i: page(sort=sort, offset=max(0, n - 150 + i))(i), runs)
    for word in ("style", "neon", "girl", "a"):
        out[f"search_{word}"] = percentiles(lambda i: page(query=word, offset=i)(i), runs)
        out[f"search_{word}_total"] = cat.list(LoraQuery(query=word, limit=1, fields="id")).total
    return out


def fresh_searches(core, runs: int) -> dict:
    """The first page of a search as a person typing it gets it: after the kept counts expired (2 s), so that the
    total is counted again with the page."""
    out: dict = {}
    for word in ("style", "neon", "girl", "a"):
        times = []
        for _ in range(runs):
            time.sleep(2.1)
            t = time.perf_counter()
            orjson.dumps(core.catalog.list(LoraQuery(query=word, limit=100, fields=LIST_FIELDS, raw_json=True)).items)
            times.append(time.perf_counter() - t)
        times.sort()
        out[f"first_page_{word}"] = {"p50_ms": round(times[len(times) // 2] * 1000, 2),
                                     "max_ms": round(times[-1] * 1000, 2), "runs": runs}
    return out


def serve_figures(args, page_file: str) -> dict:
    port = free_port()
    env = {**os.environ, "LORA_MANAGER_EMBED_MODEL": "off", "LORA_MANAGER_WATCH_INTERVAL": "0",
           "PYTHONPATH": os.path.dirname(HERE)}
    proc = subprocess.Popen([sys.executable, "-m", "lora_manager", "serve", "--no-ui", "--lora-dir", args.lora_dir,
                             "--data-dir", args.data_dir, "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    s, c = args.seconds, args.concurrency
    out: dict = {}
    try:
        wait_ready(base)
        time.sleep(3)
        out["rss_mb_idle"] = rss_mb(proc.pid)
        out["page_100_bytes"] = len(httpx.get(base + P + "/loras?limit=100").content)
        out["page_100_repeated"] = wrk(base + P + "/loras?limit=100", s, c)
        out["search_style_repeated"] = wrk(base + P + "/loras?limit=100&query=style", s, c)
        out["distinct_pages"] = wrk_script(base, os.path.join(HERE, "mix_pages.lua"), s, c)
        out["rss_mb_after_load"] = rss_mb(proc.pid)
        started = time.perf_counter()
        r = httpx.post(base + P + "/recommendations/for-prompt", json={"prompt": "neon city at night", "limit": 10},
                       timeout=600)
        out["recommendation_first_s"] = round(time.perf_counter() - started, 2)  # builds the word index
        out["recommendation_first_status"] = r.status_code
        out["rss_mb_after_first_recommendation"] = rss_mb(proc.pid)
        time.sleep(args.rest)
        out["rss_mb_after_rest"] = rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(30)
    bare_port = free_port()
    bare = subprocess.Popen([sys.executable, os.path.join(HERE, "bare_server.py"), page_file, str(bare_port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                httpx.get(f"http://127.0.0.1:{bare_port}/page", timeout=2)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        out["bare_baseline_same_page"] = wrk(f"http://127.0.0.1:{bare_port}/page", s, c)
    finally:
        bare.terminate()
        bare.wait(30)
    b = out["bare_baseline_same_page"]["req_per_s"] or 1
    out["ratios_to_bare"] = {k: round(out[k]["req_per_s"] / b, 3)
                             for k in ("page_100_repeated", "search_style_repeated", "distinct_pages")}
    return out


def wrk_script(base: str, script: str, seconds: int, concurrency: int) -> dict:
    import re

    res = subprocess.run(["wrk", "-t2", f"-c{concurrency}", f"-d{seconds}s", "--latency", "-s", script, base],
                         capture_output=True, text=True, timeout=seconds + 60).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", res).group(1))
    lat = dict(re.findall(r"^\s+(50|90|99)%\s+([\d.]+\w+)", res, re.M))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", res)
    return {"req_per_s": round(rps), "p50": lat.get("50"), "p99": lat.get("99"), "seconds": seconds,
            "concurrency": concurrency, "non_2xx": int(errors.group(1)) if errors else 0, "tool": "wrk"}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lora-dir", required=True)
    ap.add_argument("--data-dir", required=True, help="its library.db is indexed first when empty")
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--runs", type=int, default=40, help="runs of each in-process query")
    ap.add_argument("--rest", type=float, default=30.0, help="seconds idle before the last resident size")
    ap.add_argument("--fresh-runs", type=int, default=5, help="first pages of each search, counts expired (0: none)")
    ap.add_argument("--queries-only", action="store_true", help="in-process queries only: no server, no wrk")
    ap.add_argument("--full-ranked", action="store_true",
                    help="baseline: every searched page by the full ranked statement (storage/first_rank.py off)")
    ap.add_argument("--json")
    args = ap.parse_args()
    os.environ["LORA_MANAGER_EMBED_MODEL"] = "off"
    if args.full_ranked:
        from lora_manager.storage import catalog_store

        catalog_store.walkable = lambda order: False
    core = build(Settings(lora_dirs=[args.lora_dir], data_dir=args.data_dir))
    try:
        if core.catalog.counts()["ok"] == 0:
            core.scanner.scan()
        result = {"library": core.catalog.counts(), "queries": queries(core, args.runs)}
        if args.fresh_runs:
            result["fresh_searches"] = fresh_searches(core, args.fresh_runs)
        page = core.catalog.list(LoraQuery(limit=100, fields=LIST_FIELDS, raw_json=True))
        body = orjson.dumps({"total": page.total, "limit": 100, "offset": 0, "next_cursor": page.next_cursor,
                             "items": page.items})
    finally:
        core.close()
    if args.queries_only:
        emit(result, args.json)
        return
    page_file = os.path.join(args.data_dir, "bench-page.json")
    with open(page_file, "wb") as f:
        f.write(body)
    result["serve"] = serve_figures(args, page_file)
    emit(result, args.json)


if __name__ == "__main__":
    main()
