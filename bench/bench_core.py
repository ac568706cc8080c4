"""Library core benchmark: cold index, unchanged rescan, hashing.

Every figure is printed next to a bare baseline measured in the same run on
the same files, so results compare across machines and noisy neighbours.

    python bench/make_library.py bench/libs/10k --count 10000
    python bench/bench_core.py bench/libs/10k [--hash-mb 1024] [--json out.json]

Cold-cache figures need root (page cache dropped before each timed pass);
otherwise the run says "warm".
"""

from __future__ import annotations

import argparse
import compileall
import gc
import hashlib
import os
import resource
import shutil
import struct
import sys
import tempfile
import threading
import time

import orjson

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from lora_manager.app import build  # noqa: E402
from report import emit  # noqa: E402  (bench/report.py, beside this script)
from lora_manager.settings import Settings  # noqa: E402


def drop_caches() -> bool:
    try:
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


def list_safetensors(root: str) -> list[str]:
    out = []
    stack = [root]
    while stack:
        with os.scandir(stack.pop()) as it:
            for e in it:
                if e.is_dir():
                    stack.append(e.path)
                elif e.name.endswith(".safetensors"):
                    out.append(e.path)
    return out


def bare_header_loop(paths: list[str]) -> int:
    """The floor: read 8 + N bytes of each file and orjson-parse the header. One process."""
    ok = 0
    for p in paths:
        try:
            with open(p, "rb", buffering=0) as f:
                n = struct.unpack("<Q", f.read(8))[0]
                if n > 100_000_000:
                    continue
                orjson.loads(f.read(n))
                ok += 1
        except (OSError, orjson.JSONDecodeError, struct.error):
            pass
    return ok


def sidecar_paths(lib: str) -> list[str]:
    """The sidecar files our scan reads beside each safetensors LoRA: the walk's companions that
    `read_sidecars` picks (untimed; the scan's own walk is part of its time)."""
    from lora_manager.library.sidecars import sidecar_suffix
    from lora_manager.library.walker import walk

    return [os.path.join(e.folder, n) for e in walk([lib]).files if e.name.endswith(".safetensors")
            for n in e.companions if sidecar_suffix(e.base, n)]


def bare_same_files_loop(paths: list[str], sidecars: list[str]) -> int:
    """A reference, not the goal's baseline: the bare header loop, then every sidecar our scan reads, read
    whole and JSON-parsed where it parses (the I/O of the same files, without anything made of them)."""
    ok = bare_header_loop(paths)
    for p in sidecars:
        try:
            with open(p, "rb", buffering=0) as f:
                data = f.read()
            orjson.loads(data)
            ok += 1
        except (OSError, orjson.JSONDecodeError):
            pass
    return ok


def timed(fn, *args):
    t = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - t, result


def _cpu() -> float:
    """CPU seconds (user + system) of this process and of its children that ended (header workers)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def timed_cpu(fn, *args):
    """(wall seconds, CPU seconds, result): on a shared machine the CPU time is the steadier figure."""
    c = _cpu()
    seconds, result = timed(fn, *args)
    return seconds, _cpu() - c, result


def _training_pass(app) -> None:
    app.scans.training.wake()
    app.scans.training.wait()


def bench_index(lib: str, work: str, cold: bool, rounds: int = 2) -> dict:
    """Baseline and ours alternate, `rounds` times each, cold each time; the best of
    each is compared (this machine's disk is shared and noisy)."""
    paths = list_safetensors(lib)
    sidecars = sidecar_paths(lib)
    base, base_gc, ours, base_cpu, ours_cpu, training, training_cpu = [], [], [], [], [], [], []
    same, same_cpu = [], []
    for i in range(rounds):
        if cold:
            drop_caches()
        seconds, cpu, _ = timed_cpu(bare_header_loop, paths)
        base.append(seconds)
        base_cpu.append(cpu)
        if cold:
            drop_caches()
        seconds, cpu, _ = timed_cpu(bare_same_files_loop, paths, sidecars)
        same.append(seconds)
        same_cpu.append(cpu)
        if cold:
            drop_caches()
        gc.disable()
        base_gc.append(timed(bare_header_loop, paths)[0])
        gc.enable()
        settings = Settings(lora_dirs=[lib], data_dir=os.path.join(work, f"data{i}"), db_url=f"sqlite:///{work}/bench{i}.db")
        app = build(settings)
        try:
            if cold:
                drop_caches()
            seconds, cpu, report = timed_cpu(app.scanner.scan)
            ours.append(seconds)
            ours_cpu.append(cpu)
            # What the scan left for later (training tags, metadata): read by a background pass right after it
            # (docs/performance.md); timed apart, the cold index ends when the library is listed.
            after, after_cpu, _ = timed_cpu(_training_pass, app)
            training.append(after)
            training_cpu.append(after_cpu)
            if i == rounds - 1:
                rescans = [timed(app.scanner.scan)[0] for _ in range(5)]
                second = app.scanner.scan()
        finally:
            app.close()
    base_s, base_gc_s, cold_s = min(base), min(base_gc), min(ours)
    cpus = os.cpu_count() or 1
    return {
        "files": report.total,
        "safetensors": len(paths),
        "cache": "cold" if cold else "warm",
        "baseline_header_loop_s": round(base_s, 3),
        "baseline_header_loop_gc_paused_s": round(base_gc_s, 3),
        "cold_index_s": round(cold_s, 3),
        "all_runs_s": {"baseline": [round(x, 2) for x in base], "baseline_gc_paused": [round(x, 2) for x in base_gc],
                       "bare_same_files": [round(x, 2) for x in same], "ours": [round(x, 2) for x in ours]},
        "cold_index_vs_baseline": round(cold_s / base_s, 2),
        "cold_index_vs_gc_paused_baseline": round(cold_s / base_gc_s, 2),
        # A reference beside the goal's baseline: the same loop also reading the sidecars our scan reads.
        "sidecar_files": len(sidecars),
        "bare_same_files_s": round(min(same), 3),
        "bare_same_files_cpu_s": round(min(same_cpu), 3),
        "cold_index_vs_bare_same_files": round(cold_s / min(same), 2),
        # CPU seconds (ours: this process and the header workers). On a shared machine these are the
        # steadier figures; ours spread over every core of the machine is the wall time it tends to when
        # nobody else runs (the bare loop uses one core).
        "baseline_cpu_s": round(min(base_cpu), 3),
        "cold_index_cpu_s": round(min(ours_cpu), 3),
        "cold_index_cpu_vs_baseline_cpu": round(min(ours_cpu) / min(base_cpu), 2),
        "cold_index_cpu_per_core_vs_baseline_cpu": round(min(ours_cpu) / cpus / min(base_cpu), 2),
        "training_tags_pass_s": round(min(training), 3),
        "training_tags_pass_cpu_s": round(min(training_cpu), 3),
        "rescan_unchanged_median_s": round(sorted(rescans)[len(rescans) // 2], 3),
        "rescan_unchanged_max_s": round(max(rescans), 3),
        "rescan_unchanged_count": second.unchanged,
        "broken": report.broken,
    }


def make_hash_files(folder: str, total_mb: int, count: int = 16) -> list[str]:
    os.makedirs(folder, exist_ok=True)
    per = max(1, total_mb // count) * 1024 * 1024
    paths = []
    block = os.urandom(1 << 20)
    for i in range(count):
        p = os.path.join(folder, f"big{i:02d}.safetensors")
        header = b'{"t":{"dtype":"U8","shape":[%d],"data_offsets":[0,%d]}}' % (per, per)
        with open(p, "wb") as f:
            f.write(struct.pack("<Q", len(header)) + header)
            left = per
            j = i
            while left > 0:
                chunk = block[: min(left, len(block))]
                f.write(bytes([j & 255]) + chunk[1:])
                left -= len(chunk)
                j += 1
        paths.append(p)
    return paths


def plain_two_thread_hash(paths: list[str]) -> float:
    """Two threads, plain hashlib: full-file and tensor-only SHA-256 per file."""
    queue = list(paths)
    lock = threading.Lock()

    def worker():
        while True:
            with lock:
                if not queue:
                    return
                p = queue.pop()
            full, tensor = hashlib.sha256(), hashlib.sha256()
            with open(p, "rb") as f:
                head = f.read(8)
                n = struct.unpack("<Q", head)[0]
                rest = f.read(n)
                full.update(head)
                full.update(rest)
                while chunk := f.read(1 << 20):
                    full.update(chunk)
                    tensor.update(chunk)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    t = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return time.perf_counter() - t


def bench_hash(work: str, total_mb: int) -> dict:
    folder = os.path.join(work, "hashlib")
    paths = make_hash_files(folder, total_mb)
    size = sum(os.path.getsize(p) for p in paths)
    plain_two_thread_hash(paths)  # warm the page cache for both sides alike
    base_s = min(plain_two_thread_hash(paths) for _ in range(2))
    ours = []
    for i in range(2):
        settings = Settings(lora_dirs=[folder], data_dir=os.path.join(work, f"hdata{i}"), db_url=f"sqlite:///{work}/hash{i}.db")
        app = build(settings)
        app.scanner.scan()
        t = time.perf_counter()
        app.hasher.wake()
        app.hasher.wait()
        ours.append(time.perf_counter() - t)
        app.close()
    our_s = min(ours)
    return {
        "bytes": size,
        "baseline_plain_hashlib_2_threads_mb_s": round(size / base_s / 1e6),
        "ours_mb_s": round(size / our_s / 1e6),
        "ours_vs_baseline": round(base_s / our_s, 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("library")
    ap.add_argument("--hash-mb", type=int, default=1024, help="size of the hashing set (0: skip)")
    ap.add_argument("--json", help="write the figures here too")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="lm-bench-")
    # The header workers start inside the timed scan. Without bytecode caches (a fresh checkout run with
    # PYTHONDONTWRITEBYTECODE=1, as this machine's shells are) each worker compiles the library's modules
    # first: about 0.4 s of CPU at 10k. An installed extension has its caches after its first start.
    compileall.compile_dir(os.path.join(ROOT, "lora_manager"), quiet=1)
    try:
        cold = drop_caches()
        out = {"index": bench_index(os.path.abspath(args.library), work, cold)}
        if args.hash_mb:
            out["hash"] = bench_hash(work, args.hash_mb)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    emit(out, args.json)


if __name__ == "__main__":
    main()
