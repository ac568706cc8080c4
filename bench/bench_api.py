"""API benchmark on a large library in SQLite.

    python bench/make_library.py bench/libs/100k --count 100000 --data-bytes 80000
    python bench/bench_api.py --lora-dir bench/libs/100k --db bench/out/lib100k.db

Server-side figures time what a route does (core query + JSON encoding) in
this process, median of many runs. Load figures run a real uvicorn process on
127.0.0.1 and a bounded number of requests from a concurrent client; the
trivial /health route in the same run is the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import time

import httpx
import orjson

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from lora_manager.app import build  # noqa: E402
from report import emit  # noqa: E402  (bench/report.py, beside this script)
from lora_manager.settings import Settings  # noqa: E402
from lora_manager.storage.catalog_store import LoraQuery  # noqa: E402

P = "/lora-manager/v1"


def median_ms(fn, runs: int = 50) -> float:
    fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return round(statistics.median(times) * 1000, 2)


def server_side(core) -> dict:
    cat = core.catalog
    words = ["girl", "style", "armor", "neon", "portrait", "cat", "forest", "pixel"]
    any_hash = cat.list(LoraQuery(limit=1, sort="size", fields="sdnext_hash,autov3,sha256")).items
    hashes = [
        e["autov3"] or e["sha256"] for e in cat.list(LoraQuery(limit=200, fields="autov3,sha256", state="ok")).items
    ]
    hashes = [h for h in hashes if h] or [any_hash[0]["sha256"]]
    out = {
        "list_page_100_ms": median_ms(lambda: orjson.dumps(cat.list(LoraQuery(limit=100, raw_json=True)).items)),
        "list_page_100_deep_cursor_ms": None,
        "fts_query_filtered_ms": median_ms(lambda: orjson.dumps(
            cat.list(LoraQuery(query=random.choice(words), base="xl", limit=50, raw_json=True)).items)),
        "lookup_by_hash_ms": median_ms(lambda: orjson.dumps(cat.get(random.choice(hashes)))),
    }
    # "deep" is half-way into the library (50,000 at 100k): a fixed offset would be past the end of a small one
    deep = max(0, min(50_000, core.catalog.counts()["ok"] // 2 - 100))
    page = cat.list(LoraQuery(limit=100, offset=deep, raw_json=True))
    cursor = cat.list(LoraQuery(limit=100, offset=max(0, deep - 100))).next_cursor
    out["deep_offset"] = deep
    out["list_page_100_deep_cursor_ms"] = median_ms(
        lambda: orjson.dumps(cat.list(LoraQuery(limit=100, cursor=cursor, raw_json=True)).items)
    )
    out["list_page_100_deep_offset_ms"] = median_ms(
        lambda: orjson.dumps(cat.list(LoraQuery(limit=100, offset=deep, raw_json=True)).items)
    )
    assert page.items, f"no entries at offset {deep}"
    for sort in ("name", "id"):
        t = time.perf_counter()
        light = cat.list(LoraQuery(limit=200_000, sort=sort, fields="name,prompt_name,base_model,triggers",
                                   raw_json=True))
        body = orjson.dumps({"total": light.total, "items": light.items})
        out[f"all_entries_4_fields_sort_{sort}_s"] = round(time.perf_counter() - t, 3)
    out["all_entries_4_fields_mb"] = round(len(body) / 1e6, 2)
    out["all_entries_count"] = len(light.items)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(base: str, timeout: float = 900, *, hashed: bool = False) -> None:
    """Until the server's start-up scan has finished (and, with `hashed`, every file is hashed)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if httpx.get(base + P + "/scans/current", timeout=5).json()["running"] is False and (
                    not hashed or httpx.get(base + P + "/hashing", timeout=5).json()["pending_files"] == 0):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit("the server did not finish its start-up work")


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    return 0.0


async def load(base: str, paths: list[str], total: int, concurrency: int) -> dict:
    latencies: list[float] = []
    errors = 0
    counter = iter(range(total))

    async def worker(client):
        nonlocal errors
        for i in counter:
            t = time.perf_counter()
            r = await client.get(paths[i % len(paths)])
            latencies.append(time.perf_counter() - t)
            errors += r.status_code != 200

    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        t = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        wall = time.perf_counter() - t
    latencies.sort()
    return {"requests": total, "concurrency": concurrency, "errors": errors, "req_per_s": round(total / wall),
            "p50_ms": round(latencies[len(latencies) // 2] * 1000, 1),
            "p95_ms": round(latencies[int(len(latencies) * 0.95)] * 1000, 1)}


def wrk(url: str, seconds: int, concurrency: int) -> dict:
    """wrk (Debian package) as the load generator: a Python client would be the bottleneck."""
    out = subprocess.run(["wrk", "-t2", f"-c{concurrency}", f"-d{seconds}s", "--latency", url],
                         capture_output=True, text=True, timeout=seconds + 30).stdout
    import re

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = dict(re.findall(r"^\s+(50|90|99)%\s+([\d.]+\w+)", out, re.M))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"req_per_s": round(rps), "p50": lat.get("50"), "p99": lat.get("99"), "seconds": seconds,
            "concurrency": concurrency, "non_2xx": int(errors.group(1)) if errors else 0, "tool": "wrk"}


def under_load(args) -> dict:
    port = free_port()
    env = {**os.environ, "LORA_MANAGER_WATCH_INTERVAL": "0"}
    proc = subprocess.Popen([sys.executable, "-m", "lora_manager", "serve", "--lora-dir", args.lora_dir, "--db",
                             args.db, "--data-dir", args.data_dir, "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, 150)
        idle = rss_mb(proc.pid)
        words = ["girl", "style", "armor", "neon", "portrait", "cat", "forest", "pixel"]
        pages = [f"{P}/loras?limit=50&query={w}" for w in words] + [
            f"{P}/loras?limit=50&offset={o}" for o in range(0, 5000, 500)
        ]
        import shutil

        if shutil.which("wrk"):
            out = {
                "baseline_health": wrk(base + P + "/health", 5, args.concurrency),
                "page_50": wrk(base + P + "/loras?limit=50", 5, args.concurrency),
                "page_50_fts": wrk(base + P + "/loras?limit=50&query=girl", 5, args.concurrency),
            }
        else:
            out = {
                "baseline_health": asyncio.run(load(base, [P + "/health"], args.requests, args.concurrency)),
                "page_queries": asyncio.run(load(base, pages, args.requests, args.concurrency)),
            }
        out["server_rss_mb_idle"] = idle
        out["server_rss_mb_after"] = rss_mb(proc.pid)
        return out
    finally:
        proc.terminate()
        proc.wait(30)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lora-dir", required=True)
    ap.add_argument("--db", required=True, help="SQLite URL or path; indexed first when empty")
    ap.add_argument("--data-dir", default="bench/out/api-data")
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--json")
    args = ap.parse_args()
    if "://" not in args.db:
        args.db = "sqlite:///" + os.path.abspath(args.db)
    core = build(Settings(lora_dirs=[args.lora_dir], data_dir=args.data_dir, db_url=args.db))
    try:
        if core.catalog.counts()["ok"] == 0:
            core.scanner.scan()
        result = {"library": core.catalog.counts(), "server_side": server_side(core)}
    finally:
        core.close()
    result["load"] = under_load(args)
    emit(result, args.json)


if __name__ == "__main__":
    main()
