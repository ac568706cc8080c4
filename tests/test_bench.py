"""The benchmark scripts run on any library size (a small one here)."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from lora_manager.demo.files import generate_library

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench")


@pytest.fixture
def bench_path():
    sys.path.insert(0, BENCH)
    yield
    sys.path.remove(BENCH)


def test_bench_api_server_side_runs_on_a_small_library(make_app, library, db_url, bench_path):
    if not db_url.startswith("sqlite"):
        pytest.skip("the bench runs on SQLite")
    import bench_api

    generate_library(str(library), 40, seed=1, data_bytes=1_000)
    core = make_app(library, embed_model="off")
    core.scan(wait_hashes=True)
    out = bench_api.server_side(core)
    assert out["deep_offset"] < core.catalog.counts()["ok"] and out["list_page_100_deep_offset_ms"] >= 0


def test_bench_transfer_runs_small(bench_path):
    import bench_transfer

    out = bench_transfer.main(["--loras", "60", "--events", "300"])
    assert out["exported"]["usage"] == 300 and out["import_counts"]["added"] == 60
    assert out["import_counts"]["usage_added"] == 300 and out["arrived"]["user_rows"] == 60


def test_bench_core_index_reports_wall_and_cpu(library, tmp_path, bench_path):
    import bench_core

    generate_library(str(library), 30, seed=2, data_bytes=1_000)
    out = bench_core.bench_index(str(library), str(tmp_path), cold=False, rounds=1)
    assert out["safetensors"] >= 30 and out["files"] >= out["safetensors"]
    assert out["cold_index_cpu_s"] > 0 and out["baseline_cpu_s"] > 0
    ratio = out["cold_index_cpu_vs_baseline_cpu"]
    assert ratio > 0 and out["cold_index_cpu_per_core_vs_baseline_cpu"] == pytest.approx(
        ratio / (os.cpu_count() or 1), rel=0.05, abs=0.01)


def test_bench_recommend_edits_runs_small(make_app, library, db_url, tmp_path, bench_path):
    if not db_url.startswith("sqlite"):
        pytest.skip("the bench runs on SQLite")
    import bench_recommend_edits

    generate_library(str(library), 40, seed=3, data_bytes=1_000)
    core = make_app(library, embed_model="off")
    core.scan()
    listed = core.catalog.counts()["ok"]
    core.close()
    out = bench_recommend_edits.main(["--lora-dir", str(library), "--data-dir", str(tmp_path / "data"), "--db", db_url,
                                      "--rounds", "1"])
    assert out["loras"] == listed > 0 and out["baseline_read_library_s"] > 0
    assert out["update_1_ms"] > 0 and out["update_200_vs_baseline"] > 0
    assert out["query_ms_after_the_updates"]["runs"] == 21


def test_bench_first_minutes_samples_a_real_server(library, tmp_path, bench_path):
    import bench_first_minutes

    generate_library(str(library), 30, seed=4, data_bytes=1_000)
    out = bench_first_minutes.case(str(library), str(tmp_path / "first"), 6, recommend=True)
    assert out["recommendation"]["status"] == 200
    assert len(out["samples"]) >= 2 and out["cpu_s"] > 0 and out["rss_mb_peak"] >= out["samples"][0]["rss_mb"] > 0


def test_bench_hashing_runs_small_and_splits_each_threads_time(library, tmp_path, bench_path):
    """Ours against the bare loop on a small library; where each thread's time went (on a CPU, waiting for one,
    asleep) comes from the kernel where it tells (Linux), for our hashing threads and the bare loop's."""
    import bench_hashing

    generate_library(str(library), 30, seed=5, data_bytes=20_000)
    out = bench_hashing.case("small-30", str(library), str(tmp_path), 1, small=True, modes=["warm"])
    warm = out["warm"]
    assert out["hashed_files"] >= 30 and warm["ours_s"] > 0 and warm["ours_vs_bare"] > 0  # (bare: ms, rounded)
    threads = warm["threads"]
    if not os.path.exists(f"/proc/self/task/{threading.get_native_id()}/schedstat"):
        assert threads == {"ours": {}, "bare": []}
        return
    assert len(threads["bare"]) == 2 and {"lora-manager-hash-0", "lora-manager-hash-1"} <= set(threads["ours"])
    for split in [*threads["bare"], *threads["ours"].values()]:
        assert set(split) == {"cpu_s", "runq_s", "sleep_s"} and min(split.values()) >= 0
