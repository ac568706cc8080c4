"""What the tab and the embedding model add to `serve`'s resident memory, in one run.

    python bench/bench_rss.py --lora-dir bench/libs/10k --data-dir bench/out/rss10k

Real servers on the same library, one after another, each measured idle after
start-up: the API alone with the model off (the baseline: its first start, which
creates the database and indexes and hashes the library), the same started again
on the indexed library, with the tab, and with the model on once its first
recommendation has loaded it and embedded the library. Give a new --data-dir for
the first row to be a first start. Beside them, a bare process that imports torch and sentence-transformers
and loads the same model: what the model costs by itself.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import httpx

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from bench_api import free_port, rss_mb, wait_ready  # noqa: E402

P = "/lora-manager/v1"


def serve(args, extra: list[str], env_extra: dict[str, str]) -> tuple[subprocess.Popen, httpx.Client]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LORA_MANAGER_")}
    env.update(LORA_MANAGER_WATCH_INTERVAL="0", **env_extra)
    proc = subprocess.Popen([sys.executable, "-m", "lora_manager", "serve", "--lora-dir", args.lora_dir, "--data-dir",
                             args.data_dir, "--port", str(port), *extra], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_ready(f"http://127.0.0.1:{port}", 1800, hashed=True)
    return proc, httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600)


def idle_rss(proc, rest: float) -> float:
    time.sleep(rest)
    return rss_mb(proc.pid)


def model_alone() -> float:
    code = ("import resource, sys; from lora_manager.recommend.embedder import Embedder; e = Embedder(); "
            "assert e.load(); e.encode(['a watercolor landscape']); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return float(out.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lora-dir", required=True)
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--rest", type=float, default=20.0)
    ap.add_argument("--json", help="also write the figures here")
    ap.add_argument("--api-only", action="store_true",
                    help="the first two rows only (a 100k library: the model would embed all of it)")
    args = ap.parse_args()
    rows = []
    off = {"LORA_MANAGER_EMBED_MODEL": "off"}
    servers = [("API alone, model off", ["--no-ui"], off),
               ("API alone, model off, started again", ["--no-ui"], off),
               ("with the tab, model off", [], off),
               ("API, model on (after the first recommendation)", ["--no-ui"], {})]
    for name, extra, env in servers[:2] if args.api_only else servers:
        proc, client = serve(args, extra, env)
        try:
            if "model on" in name:
                client.post(f"{P}/recommendations/for-prompt", json={"prompt": "a watercolor landscape"})
                while client.get(f"{P}/recommendations/status").json()["mode"] != "semantic":
                    time.sleep(2)
            rows.append((name, idle_rss(proc, args.rest)))
        finally:
            proc.terminate()
            proc.wait(60)
    base = rows[1][1]  # the tab and the model are measured on started-again servers too: added to that one
    print(f"{'serve':<50} {'idle RSS MB':>12} {'added MB':>9}")
    for i, (name, mb) in enumerate(rows):
        print(f"{name:<50} {mb:>12.0f} {'' if i < 2 else f'{mb - base:.0f}':>9}")
    alone = None if args.api_only else model_alone()
    if alone is not None:
        print(f"{'the model alone (torch + sentence-transformers, peak)':<50} {alone:>12.0f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"idle_rss_mb": {name: round(mb, 1) for name, mb in rows},
                       "model_alone_peak_mb": None if alone is None else round(alone, 1),
                       "lora_dir": args.lora_dir}, f, indent=2)


if __name__ == "__main__":
    main()
