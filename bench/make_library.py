"""Write a synthetic LoRA library for benchmarks.

    python bench/make_library.py OUT_DIR --count 10000 [--seed 0] [--data-bytes N] [--jobs 2]

Workers take contiguous index ranges; the bytes written do not depend on
--jobs. Prints the counts (and timing, disk use) as JSON on stdout.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import time

import orjson

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from lora_manager.demo.library import FAMILIES, generate_library, merge_counts  # noqa: E402


def _work(job: tuple) -> dict:
    out, count, start, stop, kwargs = job
    return generate_library(out, count, indices=range(start, stop), **kwargs)


def _disk_usage(root: str) -> tuple[int, int, int]:
    """(files, apparent bytes, allocated bytes) under root."""
    n = size = alloc = 0
    for folder, _, names in os.walk(root):
        for name in names:
            st = os.stat(os.path.join(folder, name))
            n, size, alloc = n + 1, size + st.st_size, alloc + st.st_blocks * 512
    return n, size, alloc


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out_dir")
    ap.add_argument("--count", type=int, default=10_000, help="valid LoRA files to write")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data-bytes", type=int, default=None, help="mean tensor-data bytes per file (default 250 KB)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--families", default=",".join(FAMILIES), help="comma list among " + ",".join(FAMILIES))
    ap.add_argument("--broken-ratio", type=float, default=0.02)
    ap.add_argument("--sidecar-ratio", type=float, default=0.6)
    ap.add_argument("--preview-ratio", type=float, default=0.5)
    ap.add_argument("--manifest", help="also write the full counts, with every broken path, to this JSON file")
    ap.add_argument("--progress", action="store_true")
    args = ap.parse_args(argv)

    kwargs = {"seed": args.seed, "families": tuple(args.families.split(",")), "broken_ratio": args.broken_ratio,
              "sidecar_ratio": args.sidecar_ratio, "preview_ratio": args.preview_ratio, "data_bytes": args.data_bytes}
    os.makedirs(args.out_dir, exist_ok=True)
    t0 = time.perf_counter()
    jobs = max(1, args.jobs)
    chunk = max(200, -(-args.count // (jobs * 8)))
    parts = [(args.out_dir, args.count, a, min(a + chunk, args.count), kwargs) for a in range(0, args.count, chunk)]
    stats: dict = {}
    if jobs == 1:
        for part in parts:
            stats = merge_counts(stats, _work(part))
    else:
        with mp.get_context("fork").Pool(jobs) as pool:
            for i, result in enumerate(pool.imap_unordered(_work, parts), 1):
                stats = merge_counts(stats, result)
                if args.progress:
                    print(f"\r{i}/{len(parts)} chunks", end="", file=sys.stderr, flush=True)
    elapsed = time.perf_counter() - t0
    if args.progress:
        print(file=sys.stderr)
    n_files, apparent, allocated = _disk_usage(args.out_dir)
    if args.manifest:
        with open(args.manifest, "wb") as f:
            f.write(orjson.dumps(stats, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
    stats.pop("broken_paths", None)
    stats.update({"seconds": round(elapsed, 2), "loras_per_s": round(stats.get("files", 0) / elapsed, 1),
                  "files_on_disk": n_files, "disk_bytes": allocated, "apparent_bytes": apparent,
                  "mean_lora_bytes": stats.get("lora_bytes", 0) // max(1, stats.get("files", 0)),
                  "mean_header_bytes": stats.get("header_bytes", 0) // max(1, stats.get("files", 0))})
    print(orjson.dumps(stats, option=orjson.OPT_INDENT_2).decode())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
