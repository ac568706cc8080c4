"""Civitai bulk fetch: `civitai fetch --all` over N LoRAs against the stand-in at its rate limit.

    python bench/bench_civitai.py --count 10000 [--known 0.7] [--per-model 3] [--rate 100] [--json out.json]

The index holds N synthetic hashed rows (no files: sidecars and previews are off); the stand-in
(tests/civitai_standin.py) knows `--known` of the hashes, `--per-model` versions to a model, and answers
429 with Retry-After to anything faster than `--rate` a second, which is also the client's pace. The
stand-in runs in a process of its own (in ours it would share the GIL with the client). Run 1
fetches everything; run 2 must make no request (every LoRA is resolved, or known missing). Printed:
requests, 429s, seconds, requests a second, and what run 1 would take at the default 2 requests a second.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from lora_manager.app import build  # noqa: E402
from lora_manager.settings import Settings  # noqa: E402
from tests.civitai_standin import CivitaiStandin, make_file, make_model, make_version  # noqa: E402

JSON_COLUMNS = {"triggers": [], "training_tags": [], "source_tags": [], "meta": {}, "sidecars": [], "previews": [],
                "suggested": {}}


def synthetic_rows(count: int) -> list[dict]:
    rows = []
    for i in range(count):
        sha = hashlib.sha256(f"bench-lora-{i}".encode()).hexdigest()
        name = f"l{i:05d}.safetensors"
        rows.append({"path": f"/bench/lib/{name}", "root": "/bench/lib", "folder": "", "file_name": name,
                     "prompt_name": name[:-12], "ext": ".safetensors", "size": 1000 + i, "mtime_ns": 10**18 + i,
                     "companion_sig": 0, "state": "ok", "sha256": sha, "hashed_size": 1000 + i,
                     "hashed_mtime_ns": 10**18 + i, "preview_count": 0,
                     **{k: type(v)() for k, v in JSON_COLUMNS.items()}})
    return rows


def publish(civ: CivitaiStandin, rows: list[dict], known: float, per_model: int) -> int:
    """The stand-in knows the first `known` share of the hashes, `per_model` versions to a model."""
    n = int(len(rows) * known)
    for start in range(0, n, per_model):
        model_id = 100_000 + start
        versions = [make_version(1_000_000 + i, model_id, [make_file(rows[i]["file_name"], rows[i]["sha256"])],
                                 name=f"v{i}") for i in range(start, min(n, start + per_model))]
        civ.add(make_model(model_id, versions), *versions)
    return n


def serve(count: int, known: float, per_model: int, rate: float, conn) -> None:
    """The stand-in, in its own process: sends its URL and how many it knows, then answers "limited"."""
    with CivitaiStandin(rate_limit=rate) as civ:
        conn.send((civ.url, publish(civ, synthetic_rows(count), known, per_model)))
        while (msg := conn.recv()) != "stop":
            conn.send(civ.limited if msg == "limited" else None)


def run(count: int, known: float, per_model: int, rate: float) -> dict:
    out: dict = {"count": count, "known": known, "per_model": per_model, "rate": rate}
    ctx = multiprocessing.get_context("spawn")
    here, there = ctx.Pipe()
    server = ctx.Process(target=serve, args=(count, known, per_model, rate, there), daemon=True)
    server.start()
    url, out["on_civitai"] = here.recv()

    def limited() -> int:
        here.send("limited")
        return here.recv()

    with tempfile.TemporaryDirectory() as data:
        app = build(Settings(lora_dirs=[], data_dir=data, embed_model="off", civitai_url=url, civitai_rate=rate,
                             civitai_sidecars=False, civitai_previews=False))
        try:
            app.scanner.scan_store.insert_files(synthetic_rows(count))
            for label in ("first", "second"):
                before = limited()
                started = time.perf_counter()
                report = app.civitai.run(all_missing=True)
                seconds = time.perf_counter() - started
                out[label] = {"seconds": round(seconds, 2), "requests": report["requests"],
                              "retries": report["retries"], "rate_limited_429": limited() - before,
                              "found": report["found"], "not_found": report["not_found"], "failed": report["failed"],
                              "requests_per_s": round(report["requests"] / seconds, 1) if seconds else None}
            out["first"]["at_default_2_per_s_hours"] = round(out["first"]["requests"] / 2 / 3600, 2)
        finally:
            app.close()
            here.send("stop")
            server.join(10)
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=10_000)
    ap.add_argument("--known", type=float, default=0.7, help="share of the hashes the stand-in knows")
    ap.add_argument("--per-model", type=int, default=3, help="versions to a model")
    ap.add_argument("--rate", type=float, default=100.0, help="the stand-in's limit and the client's pace, requests/s")
    ap.add_argument("--json", help="write the figures here too")
    args = ap.parse_args(argv)
    out = run(args.count, args.known, args.per_model, args.rate)
    for label in ("first", "second"):
        r = out[label]
        print(f"{label:>6} run: {r['requests']:>6} requests ({r['rate_limited_429']} answered 429, "
              f"{r['retries']} retries) in {r['seconds']:>7.1f} s = {r['requests_per_s']} req/s; "
              f"found {r['found']}, not found {r['not_found']}, failed {r['failed']}")
    print(f"run 1 at the default 2 requests/s: {out['first']['at_default_2_per_s_hours']} h")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
    return out


if __name__ == "__main__":
    main()
