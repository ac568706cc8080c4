"""bench/bench_civitai.py runs on a small library: every LoRA resolved once, nothing asked the second time."""

from __future__ import annotations

import os
import sys

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench")


def test_the_bulk_fetch_bench_on_a_small_library(monkeypatch):
    monkeypatch.syspath_prepend(BENCH)
    import bench_civitai

    out = bench_civitai.run(count=30, known=0.5, per_model=2, rate=500.0)
    first, second = out["first"], out["second"]
    assert (first["found"], first["not_found"], first["failed"]) == (15, 15, 0)
    # 15 by-hash hits + 8 models, 15 misses asked twice (SHA-256, then AutoV2)
    assert first["requests"] - first["retries"] == 15 + 8 + 30
    assert second["requests"] == 0 and second["found"] == second["not_found"] == 0
    sys.modules.pop("bench_civitai", None)
