"""Edits while a rescan works: PATCH latency quiet and during a rescan of changed files, in one run.

    python bench/make_library.py bench/libs/10k --count 10000 --data-bytes 2000
    python bench/bench_edits.py --lora-dir bench/libs/10k --data-dir bench/out/edits10k [--changed 3000]

A real `serve --no-ui` (embedding model off) on the library. First the quiet
baseline: edits (favorite, notes, tags) sent one after another to random
LoRAs. Then `--changed` files get a new mtime (their bytes stay), a rescan is
started, and the same edits run while it re-reads those files and the hasher
hashes them again. Prints p50/p95/p99/max of both and their ratio.
"""

from __future__ import annotations

import argparse
import os
import http.client
import json
import random
import statistics
import subprocess
import sys
import time

import httpx

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from bench_api import free_port, wait_ready  # noqa: E402

P = "/lora-manager/v1"


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def edit_once(conn: http.client.HTTPConnection, ids: list[int], rng: random.Random) -> float:
    """One PATCH on a kept-alive connection, headers and body in one write as a browser sends them
    (httpx writes them apart, and the body then waits ~40 ms for the delayed ack of the headers)."""
    lid = rng.choice(ids)
    body = rng.choice([{"favorite": rng.random() < 0.5}, {"notes": f"note {rng.random()}"},
                       {"tags": [f"t{rng.randrange(50)}", f"t{rng.randrange(50)}"]}])
    t = time.perf_counter()
    conn.request("PATCH", f"{P}/loras/{lid}", body=json.dumps(body).encode(),
                 headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    r.read()
    if r.status != 200:
        raise SystemExit(f"an edit answered {r.status}")
    return (time.perf_counter() - t) * 1000


def figures(ms: list[float]) -> dict:
    return {"n": len(ms), "p50": statistics.median(ms), "p95": pct(ms, 0.95), "p99": pct(ms, 0.99), "max": max(ms)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lora-dir", required=True)
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--changed", type=int, default=3000)
    ap.add_argument("--edits", type=int, default=300)
    args = ap.parse_args()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LORA_MANAGER_")}
    env.update(LORA_MANAGER_EMBED_MODEL="off", LORA_MANAGER_WATCH_INTERVAL="0")
    proc = subprocess.Popen([sys.executable, "-m", "lora_manager", "serve", "--no-ui", "--lora-dir", args.lora_dir,
                             "--data-dir", args.data_dir, "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        wait_ready(f"http://127.0.0.1:{port}", 1800, hashed=True)
        ids = [e["id"] for e in client.get(f"{P}/loras", params={"fields": "id", "limit": 200000}).json()["items"]]
        rng = random.Random(7)
        quiet = [edit_once(conn, ids, rng) for _ in range(args.edits)]
        paths = []
        for dirpath, _dirs, files in os.walk(args.lora_dir):
            paths += [os.path.join(dirpath, f) for f in files if f.endswith(".safetensors")]
        now = time.time()
        for path in rng.sample(paths, min(args.changed, len(paths))):
            os.utime(path, (now, now))
        started = time.perf_counter()
        client.post(f"{P}/scans").raise_for_status()
        busy, during = True, []
        while busy and len(during) < 20 * args.edits:
            during.append(edit_once(conn, ids, rng))
            if len(during) % 10 == 0:
                busy = (
                    client.get(f"{P}/scans/current").json()["running"] or client.get(f"{P}/hashing").json()["running"]
                )
        work_s = time.perf_counter() - started
    finally:
        proc.terminate()
        proc.wait(30)
    q, d = figures(quiet), figures(during)
    print(f"library {len(ids)} LoRAs; {args.changed} files changed; rescan + rehash took {work_s:.1f} s")
    print(f"{'edits (PATCH)':<22} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for name, f in (("quiet", q), ("during the rescan", d)):
        print(f"{name:<22} {f['n']:>5} {f['p50']:>8.1f} {f['p95']:>8.1f} {f['p99']:>8.1f} {f['max']:>8.1f}")
    print(f"p99 during / quiet: {d['p99'] / q['p99']:.2f}x")


if __name__ == "__main__":
    main()
