"""Hashing benchmark: our background hasher against a bare hashlib loop over the same files.

    python bench/bench_hashing.py --count 10000 [--count 100000] [--big-mb 1024] [--work DIR] [--json out.json]

Each case indexes a library once (not timed), then times, on the same files
in the same run and alternating rounds (best of --rounds each):
  - ours: from `Hasher.wake()` to every file hashed and stored (fresh copy of
    the indexed database each round, so every round hashes everything); the
    time until the hasher's thread ends, after the work that follows hashing
    (Civitai model sidecars' versions picked again), is printed beside it;
  - bare: two threads of plain hashlib computing the same two digests per
    file (full file and tensor region), nothing stored;
  - bare1: the same with the full-file digest only (what a manager that keeps
    one hash does), for reference.
"warm": every file is in the page cache, and ours, finding it there, leaves
it there; "cold": every file is dropped from the page cache (posix_fadvise)
before each pass, and ours drops what it hashed (both are its default). CPU seconds (all threads of the
process) are printed too: on a shared machine they vary less than wall time.
Small-file libraries come from
bench/make_library.py (kept under --work/lib-N and reused); the big-file case
is --big-mb MiB in 16 files.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sqlite3
import struct
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

from lora_manager.app import build  # noqa: E402
from lora_manager.sync.hasher import Hasher  # noqa: E402
from lora_manager.settings import Settings  # noqa: E402
from report import emit  # noqa: E402
from thread_clock import clocked, measured  # noqa: E402

CHUNK = 1 << 20


def evict(paths: list[str]) -> None:
    for p in paths:
        fd = os.open(p, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def warm(paths: list[str]) -> None:
    buf = bytearray(CHUNK)
    for p in paths:
        with open(p, "rb", buffering=0) as f:
            while f.readinto(buf):
                pass


def resident_mb(paths: list[str]) -> float:
    """Bytes of `paths` in the page cache (mincore), in MB."""
    import ctypes
    import mmap

    import numpy as np

    libc = ctypes.CDLL(None, use_errno=True)
    pages = 0
    for p in paths:
        size = os.path.getsize(p)
        if not size:
            continue
        vec = (ctypes.c_ubyte * -(-size // mmap.PAGESIZE))()
        with open(p, "rb") as f, mmap.mmap(f.fileno(), size, prot=mmap.PROT_READ) as m:
            view = memoryview(m)
            arr = np.frombuffer(view, dtype=np.uint8)
            libc.mincore(ctypes.c_void_p(arr.ctypes.data), ctypes.c_size_t(size), vec)
            del arr
            view.release()
        pages += sum(v & 1 for v in vec)
    return round(pages * mmap.PAGESIZE / 1e6, 1)


def bare(paths: list[str], tensor: bool = True, threads: int = 2, clocks: list | None = None
         ) -> tuple[float, dict[str, str]]:
    """Two threads of plain hashlib; returns (seconds, {path: full sha256}). Each thread's split of its time
    (thread_clock.py) is appended to `clocks` when given."""
    todo = list(reversed(paths))
    lock = threading.Lock()
    out: dict[str, str] = {}

    def worker() -> None:
        with measured(clocks.append if clocks is not None else lambda _: None):
            run()

    def run() -> None:
        buf = bytearray(CHUNK)
        view = memoryview(buf)
        while True:
            with lock:
                if not todo:
                    return
                p = todo.pop()
            full, tens = hashlib.sha256(), hashlib.sha256()
            with open(p, "rb", buffering=0) as f:
                n = f.readinto(buf)
                start = 8 + struct.unpack_from("<Q", buf)[0] if n >= 8 else n
                pos = 0
                while n:
                    full.update(view[:n])
                    if tensor and pos + n > start:
                        tens.update(view[max(0, start - pos):n])
                    pos += n
                    n = f.readinto(buf)
            out[p] = full.hexdigest()

    ts = [threading.Thread(target=worker) for _ in range(threads)]
    t = time.perf_counter()
    for th in ts:
        th.start()
    for th in ts:
        th.join()
    return time.perf_counter() - t, out


def index(lib: str, db: str, data: str) -> dict:
    for p in (db, db + "-wal", db + "-shm"):
        if os.path.exists(p):
            os.remove(p)
    app = build(Settings(lora_dirs=[lib], data_dir=data, db_url=f"sqlite:///{db}", embed_model="off"))
    t = time.perf_counter()
    report = app.scanner.scan()
    seconds = time.perf_counter() - t
    # Rows as a user's are when hashing runs: with what a large scan leaves for its background pass
    # (training tags and metadata: most of a row's bytes, which every hash written rewrites).
    app.scans.training.wake()
    app.scans.training.wait()
    app.close()
    with sqlite3.connect(db) as conn:  # everything into the main file: rounds start from copies of it
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return {"files": report.total, "index_s": round(seconds, 2)}


def pending_paths(db: str, lib: str, data: str) -> list[str]:
    app = build(Settings(lora_dirs=[lib], data_dir=data, db_url=f"sqlite:///{db}", embed_model="off"))
    try:
        out, after = [], 0
        while batch := app.hasher.scan_store.pending_hashes(5000, after=after):
            out += [p for _, p, _ in batch]
            after = batch[-1][0]
        return out
    finally:
        app.close()


def ours(db: str, lib: str, data: str, work: str, clocks: dict | None = None) -> tuple[float, float, dict[str, str]]:
    """(seconds to every hash stored, seconds until the hasher's thread ended, {path: sha256}). With `clocks`,
    each of the hasher's threads' split of its time over the pass goes in it (thread_clock.py)."""
    run_db = os.path.join(work, "run.db")
    for p in (run_db + "-wal", run_db + "-shm"):
        if os.path.exists(p):
            os.remove(p)
    shutil.copyfile(db, run_db)
    app = build(Settings(lora_dirs=[lib], data_dir=data, db_url=f"sqlite:///{run_db}", embed_model="off"))
    try:
        # The hashing threads' whole lives, and the feeding thread's pass (which ends with the last save).
        with clocked(Hasher, ("_work", "_pass"), clocks if clocks is not None else {}):
            t = time.monotonic()
            app.hasher.wake()
            app.hasher.wait()
            seconds = time.monotonic() - t
        assert app.hasher.pending_totals()[0] == 0, "files left unhashed"
        with app.db.engine.connect() as conn:
            got = dict(conn.exec_driver_sql("SELECT l.path, h.sha256 FROM loras l JOIN lora_hashes h "
                                            "ON h.lora_id = l.id WHERE h.sha256 IS NOT NULL").all())
        return app.hasher.stored_at - t, seconds, got
    finally:
        app.close()


def case(name: str, lib: str, work: str, rounds: int, small: bool, modes: list[str]) -> dict:
    data = os.path.join(work, f"data-{name}")
    db = os.path.join(work, f"{name}.db")
    result: dict = {"case": name, **index(lib, db, data)}
    paths = pending_paths(db, lib, data)
    result["hashed_files"] = len(paths)
    result["bytes"] = sum(os.path.getsize(p) for p in paths)
    for mode in modes:
        times: dict[str, list[float]] = {"ours": [], "bare": [], "bare1": [], "ours_all": []}
        cpu: dict[str, list[float]] = {"ours": [], "bare": [], "bare1": []}
        clocks: dict[str, list] = {"ours": [], "bare": []}  # each round's threads (thread_clock.py)
        for _ in range(rounds):
            for side in ("bare", "ours", "bare1"):
                (evict if mode == "cold" else warm)(paths)
                c0 = time.process_time()
                if side == "ours":
                    clocks["ours"].append({})
                    s, s_all, got = ours(db, lib, data, work, clocks["ours"][-1])
                    times["ours_all"].append(s_all)
                else:
                    into = None
                    if side == "bare":
                        clocks["bare"].append(into := [])
                    s, want = bare(paths, tensor=side == "bare", clocks=into)
                    if side == "bare":
                        expect = want
                cpu[side].append(time.process_time() - c0)
                times[side].append(s)
        assert got == expect, "our hashes differ from hashlib's"
        best = {k: min(v) for k, v in times.items()}
        least = {k: min(v) for k, v in cpu.items()}
        result[mode] = {
            "ours_s": round(best["ours"], 2), "bare_s": round(best["bare"], 2),
            "bare_full_only_s": round(best["bare1"], 2), "ours_vs_bare": round(best["ours"] / best["bare"], 3),
            "ours_vs_bare_full_only": round(best["ours"] / best["bare1"], 3),
            "ours_cpu_s": round(least["ours"], 2), "bare_cpu_s": round(least["bare"], 2),
            "ours_vs_bare_cpu": round(least["ours"] / least["bare"], 3),
            "ours_ms_per_file": round(best["ours"] * 1000 / len(paths), 3),
            "ours_mb_s": round(result["bytes"] / best["ours"] / 1e6),
            "ours_with_followups_s": round(best["ours_all"], 2),
            "ours_with_followups_vs_bare": round(best["ours_all"] / best["bare"], 3),
            "all_s": {k: [round(x, 2) for x in v] for k, v in times.items()},
            # Where the threads' time went in the best round of each: on a CPU, waiting for one, asleep.
            "threads": {side: clocks[side][times[side].index(best[side])] for side in ("ours", "bare")},
        }
    if not small and "cold" in modes:  # what each leaves in the page cache of the files it read from the disk
        evict(paths)
        ours(db, lib, data, work)
        result["page_cache_mb_after_ours"] = resident_mb(paths)
        evict(paths)
        bare(paths)
        result["page_cache_mb_after_bare"] = resident_mb(paths)
    return result


def make_big(folder: str, total_mb: int, count: int = 16) -> None:
    from bench_core import make_hash_files

    if not os.path.isdir(folder) or len(os.listdir(folder)) != count:
        make_hash_files(folder, total_mb, count)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, action="append", help="small-file library sizes (default 10000)")
    ap.add_argument("--big-mb", type=int, default=1024, help="big-file case: MiB in 16 files (0: skip)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--modes", default="warm,cold", help="warm, cold or both (a library larger than RAM: cold only)")
    ap.add_argument("--work", default=os.path.join(HERE, "libs"))
    ap.add_argument("--json")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    out: dict = {"cores": os.cpu_count(), "cases": []}
    for n in args.count or [10_000]:
        lib = os.path.join(args.work, f"lib-{n}")
        if not os.path.isdir(lib):
            subprocess.run([sys.executable, os.path.join(HERE, "make_library.py"), lib, "--count", str(n),
                            "--jobs", "2"],
                           check=True, stdout=subprocess.DEVNULL)
        out["cases"].append(case(f"small-{n}", lib, args.work, args.rounds, small=True, modes=args.modes.split(",")))
        emit(out, args.json)
    if args.big_mb:
        lib = os.path.join(args.work, f"big-{args.big_mb}")
        make_big(lib, args.big_mb)
        out["cases"].append(case(f"big-{args.big_mb}mb", lib, args.work, args.rounds, small=False,
                                 modes=args.modes.split(",")))
    emit(out, args.json)


if __name__ == "__main__":
    main()
