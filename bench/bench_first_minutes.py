"""A new library's first minutes in `serve --no-ui` (embedding model off): CPU and resident size, sampled.

    python bench/bench_first_minutes.py --lora-dir bench/libs/100k --work /tmp/first --seconds 150

Each case indexes the library into a fresh data folder in this process (as `bench_memory.py` does; the hashes and
the training tags are left to the server), starts a real server on it, and samples the server's CPU seconds
and resident size every 5 s. "quiet": nothing is asked; "recommendation": one recommendation is asked as soon
as the server answers, while its background passes (hashing, training tags) still run. The quiet case is the
baseline: the ratio is the CPU the recommendation's case spent against it, over the same window.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import threading
import time

import httpx

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

from bench_api import free_port, rss_mb, wait_ready  # noqa: E402
from lora_manager.app import build  # noqa: E402
from lora_manager.settings import Settings  # noqa: E402
from report import emit  # noqa: E402

P = "/lora-manager/v1"


def cpu_s(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return round((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), 1)


def case(lib: str, data: str, seconds: int, recommend: bool) -> dict:
    shutil.rmtree(data, ignore_errors=True)
    os.makedirs(data)
    core = build(Settings(lora_dirs=[lib], data_dir=data, db_url=f"sqlite:///{data}/library.db", embed_model="off"))
    try:
        core.scanner.scan()
    finally:
        core.close()
    port = free_port()
    env = {**os.environ, "LORA_MANAGER_EMBED_MODEL": "off", "LORA_MANAGER_WATCH_INTERVAL": "0",
           "PYTHONPATH": os.path.dirname(HERE)}
    proc = subprocess.Popen([sys.executable, "-m", "lora_manager", "serve", "--no-ui", "--lora-dir", lib,
                             "--data-dir", data, "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    out: dict = {"samples": []}
    try:
        wait_ready(base)
        started = time.monotonic()
        if recommend:
            def ask() -> None:
                r = httpx.post(base + P + "/recommendations/for-prompt", json={"prompt": "neon city", "limit": 10},
                               timeout=600)
                out["recommendation"] = {"status": r.status_code, "s": round(time.monotonic() - started, 1)}
            threading.Thread(target=ask, daemon=True).start()
        while (at := time.monotonic() - started) < seconds:
            out["samples"].append({"t": round(at), "cpu_s": cpu_s(proc.pid), "rss_mb": rss_mb(proc.pid)})
            time.sleep(5)
        out["cpu_s"] = cpu_s(proc.pid)
        out["rss_mb_end"] = rss_mb(proc.pid)
        out["rss_mb_peak"] = max(s["rss_mb"] for s in out["samples"])
    finally:
        proc.terminate()
        proc.wait(30)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lora-dir", required=True)
    ap.add_argument("--work", required=True, help="data folders are made (and emptied) under it")
    ap.add_argument("--seconds", type=int, default=150)
    ap.add_argument("--json")
    args = ap.parse_args()
    result = {name: case(args.lora_dir, os.path.join(args.work, name), args.seconds, recommend=name != "quiet")
              for name in ("quiet", "recommendation")}
    result["cpu_vs_quiet"] = round(result["recommendation"]["cpu_s"] / result["quiet"]["cpu_s"], 2)
    emit(result, args.json)


if __name__ == "__main__":
    main()
