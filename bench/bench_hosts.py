"""Several hosts on one PostgreSQL library (docs/several-hosts.md): how fast a change on one host
reaches another host's event stream, and what a second host's first scan of a shared root costs.

    python bench/bench_hosts.py [--pg URL] [--files 500] [--edits 40]

Host B runs in a process of its own (this script, --listen); both on one machine, so their clocks agree.
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from lora_manager.app import build  # noqa: E402
from lora_manager.demo.files import generate_library  # noqa: E402
from lora_manager.settings import Settings  # noqa: E402


def _host(url: str, data: str, name: str, roots: list[str]):
    return build(Settings(lora_dirs=roots, data_dir=data, db_url=url, host_id=name, embed_model="off"))


def listen(url: str, data: str, count: int) -> None:
    app = _host(url, data, "bench-b", [])

    async def run() -> list[float]:
        sid, queue = app.events.subscribe()
        app.hosts.notices.ready.wait(30)
        print("listening", flush=True)
        got: list[float] = []
        while len(got) < count:
            event = await asyncio.wait_for(queue.get(), 60)
            if event["type"] == "library.changed":
                got.append(event["received_at"])
        app.events.unsubscribe(sid)
        return got

    try:
        print(json.dumps(asyncio.run(run())), flush=True)
    finally:
        app.close()


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pg", default=os.environ.get("LORA_MANAGER_TEST_PG",
                                                   "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    ap.add_argument("--files", type=int, default=500)
    ap.add_argument("--edits", type=int, default=40)
    ap.add_argument("--listen", nargs=3, metavar=("URL", "DATA", "COUNT"))
    args = ap.parse_args(argv)
    if args.listen:
        listen(args.listen[0], args.listen[1], int(args.listen[2]))
        return {}
    import psycopg

    # The first scan starts header workers inside its timing (500 files is above the scanner's pool threshold);
    # without bytecode caches (PYTHONDONTWRITEBYTECODE=1, or a fresh checkout) each would compile the library
    # first, as bench_core.py notes. An installed extension has its caches after its first start.
    compileall.compile_dir(os.path.join(ROOT, "lora_manager"), quiet=1)
    plain = args.pg.replace("postgresql+psycopg://", "postgresql://")
    schema = "bench_" + uuid.uuid4().hex[:10]
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    url = f"{args.pg}{'&' if '?' in args.pg else '?'}options=-csearch_path%3D{schema}"
    out: dict = {"files": args.files, "edits": args.edits}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            share = os.path.join(tmp, "share")
            generate_library(share, args.files, seed=1, data_bytes=1_000)
            mounts = []
            for name in ("a", "b"):
                os.symlink(share, os.path.join(tmp, f"mnt-{name}"))
                mounts.append(os.path.join(tmp, f"mnt-{name}"))
            a = _host(url, os.path.join(tmp, "da"), "bench-a", [mounts[0]])
            try:
                t = time.perf_counter()
                a.scan(hash_after=False)
                out["first_host_scan_s"] = round(time.perf_counter() - t, 3)
                b = _host(url, os.path.join(tmp, "db"), "bench-b2", [mounts[1]])
                try:
                    t = time.perf_counter()
                    report = b.scan(hash_after=False)
                    out["second_host_scan_s"] = round(time.perf_counter() - t, 3)
                    out["second_host_rows_added"] = report.new
                finally:
                    b.close()
                ids = [item["id"] for item in a.catalog.list(limit=args.edits, fields="id").items]
                proc = subprocess.Popen([sys.executable, __file__, "--listen", url, os.path.join(tmp, "dl"),
                                         str(len(ids))], stdout=subprocess.PIPE, text=True)
                assert proc.stdout.readline().strip() == "listening"
                sent = []
                for n, lid in enumerate(ids):
                    sent.append(time.time())
                    a.catalog.edit(lid, {"notes": f"edit {n}"})
                    time.sleep(0.05)  # one notice per edit (changes said together travel as one)
                received = json.loads(proc.communicate(timeout=120)[0])
                lags = sorted((r - s) * 1000 for s, r in zip(sent, received, strict=True))
                out["propagation_ms"] = {"median": round(statistics.median(lags), 1),
                                         "p95": round(lags[int(0.95 * (len(lags) - 1))], 1),
                                         "max": round(lags[-1], 1)}
            finally:
                a.close()
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
    print(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()
