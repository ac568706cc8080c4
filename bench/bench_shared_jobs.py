"""Jobs shared through Redis: jobs per minute with 1, 2 and 3 stand-in hosts, and submit-to-start latency.

    python bench/bench_shared_jobs.py [--jobs 24] [--job-s 1.0] [--redis redis://127.0.0.1:6379/0] [--json out.json]

Each host is a process of its own (tests/shared_hosts.py: its own library with the same LoRA file, one
shared SQLite database for the job images) whose runner takes a fixed time per job (`--job-s`, in 20 steps),
as a GPU would. A runner-less submitter sends `--jobs` jobs at once and waits for all of them. The
baseline, in the same run, is the ideal: hosts x 60 / job time jobs a minute; the ratio is ours/ideal.
Latency: from submit to the job's start, median and p95 over the jobs (most wait behind others), and
the dispatch to an idle host (one job at a time, median of 5).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

from lora_manager.jobs.queue import JobRequest  # noqa: E402
from tests.loras import write_lora  # noqa: E402
from tests.shared_hosts import make_host  # noqa: E402


def run(hosts: int, jobs: int, job_s: float, redis_url: str) -> dict:
    tmp = tempfile.mkdtemp(prefix="lm-bench-jobs-")
    prefix = f"lmbench:{uuid.uuid4().hex[:8]}:"
    src = write_lora(os.path.join(tmp, "src", "x.safetensors"), seed=1, family="xl")
    db = f"sqlite:///{tmp}/shared.db"
    procs = []
    try:
        for i in range(hosts):
            lib = os.path.join(tmp, f"lib{i}")
            os.makedirs(lib)
            shutil.copy(src, os.path.join(lib, "x.safetensors"))
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "tests.shared_hosts", f"h{i}", lib, os.path.join(tmp, f"data{i}"), db,
                 redis_url, prefix, "xl", str(job_s / 20)], stdout=subprocess.PIPE, cwd=ROOT,
                env={**os.environ, "PYTHONPATH": ROOT}))
        for p in procs:
            assert p.stdout.readline().strip() == b"ready"
        os.makedirs(os.path.join(tmp, "libs"))
        shutil.copy(src, os.path.join(tmp, "libs", "x.safetensors"))
        core, sub, _ = make_host("submitter", os.path.join(tmp, "libs"), os.path.join(tmp, "datas"), db, redis_url,
                                 prefix, None)
        sub.runner = None
        while len([h for h, i in sub.redis.hosts().items() if i.get("runner")]) < hosts:
            time.sleep(0.1)
        time.sleep(1.0)  # every host's LoRA list is in
        t0 = time.perf_counter()
        submitted = {}
        for _ in range(jobs):
            job = sub.submit(JobRequest(prompt="bench", loras=[{"name": "x"}], steps=20))
            submitted[job.id] = time.time()
        while True:
            records = [sub.redis.record(j) for j in submitted]
            if all(r and r["status"] in ("done", "failed", "cancelled") for r in records):
                break
            time.sleep(0.05)
        elapsed = time.perf_counter() - t0
        latency = sorted(r["started_at"] - submitted[r["id"]] for r in records if r["started_at"])
        done = sum(r["status"] == "done" for r in records)
        idle = []  # dispatch: one job at a time to idle hosts
        for _ in range(5):
            sent = time.time()
            job = sub.submit(JobRequest(prompt="idle", loras=[{"name": "x"}], steps=1))
            while not (sub.redis.record(job.id) or {}).get("started_at"):
                time.sleep(0.005)
            idle.append(sub.redis.record(job.id)["started_at"] - sent)
            while sub.redis.record(job.id)["status"] not in ("done", "failed"):
                time.sleep(0.02)
            time.sleep(0.3)
        core.close()
        per_min = done / elapsed * 60
        ideal = hosts * 60 / job_s
        return {"hosts": hosts, "jobs": jobs, "done": done, "seconds": round(elapsed, 2),
                "jobs_per_min": round(per_min, 1), "ideal_per_min": round(ideal, 1),
                "ratio": round(per_min / ideal, 3), "latency_median_s": round(statistics.median(latency), 3),
                "latency_p95_s": round(latency[int(0.95 * (len(latency) - 1))], 3),
                "idle_dispatch_median_s": round(statistics.median(idle), 3),
                "by_host": {h: sum(r.get("owner") == h for r in records) for h in (f"h{i}" for i in range(hosts))}}
    finally:
        for p in procs:
            p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=24)
    ap.add_argument("--job-s", type=float, default=1.0)
    ap.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    ap.add_argument("--hosts", default="1,2,3")
    ap.add_argument("--json")
    args = ap.parse_args()
    results = [run(int(n), args.jobs, args.job_s, args.redis) for n in args.hosts.split(",")]
    for r in results:
        print(f"{r['hosts']} host(s): {r['jobs_per_min']} jobs/min (ideal {r['ideal_per_min']}, ratio {r['ratio']}), "
              f"submit->start median {r['latency_median_s']} s, p95 {r['latency_p95_s']} s (queued behind the others), "
              f"to an idle host {r['idle_dispatch_median_s']} s; by host {r['by_host']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
