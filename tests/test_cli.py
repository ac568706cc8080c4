"""The command line, run as a user runs it: `python -m lora_manager ...` in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from .loras import write_lora

ENTRY_KEYS = {"id", "name", "prompt_name", "path", "state", "base_model", "network_type", "sha256", "autov2",
              "tensor_sha256", "autov3", "triggers", "training_tags", "tags", "previews", "error"}
SUMMARY_KEYS = {"total", "new", "unchanged", "changed", "moved", "missing", "duplicate", "broken"}


def run(*args, check=True):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LORA_MANAGER_")}
    proc = subprocess.run([sys.executable, "-m", "lora_manager", *args], capture_output=True, text=True, env=env,
                          timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}: {proc.stderr}")
    return proc


@pytest.fixture
def dirs(tmp_path):
    lib = tmp_path / "lib"
    write_lora(lib / "chars" / "alice.v1.safetensors", metadata={"modelspec.trigger_phrase": "alice"})
    write_lora(lib / "bob.safetensors", family="xl", seed=2)
    (lib / "broken.safetensors").write_bytes(b"nope")
    return ["--lora-dir", str(lib), "--data-dir", str(tmp_path / "data")]


def test_scan_list_show_json(dirs):
    first = json.loads(run("scan", *dirs, "--json", "--wait-hashes").stdout)
    assert set(first) >= SUMMARY_KEYS
    assert (first["total"], first["new"], first["broken"]) == (3, 3, 1)
    again = json.loads(run("scan", *dirs, "--json").stdout)
    assert (again["unchanged"], again["new"]) == (3, 0)
    listed = json.loads(run("list", *dirs, "--json", "--sort", "name").stdout)
    assert listed["total"] == 3 and all(set(e) >= ENTRY_KEYS for e in listed["items"])
    alice = json.loads(run("show", "alice_v1", *dirs, "--json").stdout)
    assert alice["prompt_name"] == "alice_v1" and alice["triggers"] == ["alice"] and len(alice["sha256"]) == 64
    by_hash = json.loads(run("show", alice["autov3"], *dirs, "--json").stdout)
    assert by_hash["id"] == alice["id"]
    filtered = json.loads(run("list", *dirs, "--json", "--base", "xl").stdout)
    assert [e["name"] for e in filtered["items"]] == ["bob"]
    assert "<lora:alice_v1>" in run("list", *dirs, "--query", "ali").stdout


def test_edit_and_bulk(dirs):
    run("scan", *dirs)
    run("edit", "bob", *dirs, "--set", "favorite=true", "--set", "notes=my note", "--set", "preferred_weight=0.6")
    run("bulk", "tag", "bob", "alice_v1", *dirs, "--value", "keep,best")
    bob = json.loads(run("show", "bob", *dirs, "--json").stdout)
    assert ((bob["favorite"], bob["notes"], bob["preferred_weight"], bob["tags"])
            == (True, "my note", 0.6, ["best", "keep"]))
    tags = json.loads(run("tags", *dirs, "--json").stdout)
    assert {"tag": "keep", "count": 2, "user": 2, "model": 0} in tags


def test_errors_are_clear_and_change_nothing(dirs):
    run("scan", *dirs)
    proc = run("show", "does-not-exist", *dirs, "--json", check=False)
    assert proc.returncode == 1 and json.loads(proc.stdout)["error"]["code"] == "not_found"
    proc = run("edit", "bob", *dirs, "--set", "rating=11", check=False)
    assert proc.returncode == 1 and "rating" in proc.stderr and "Traceback" not in proc.stderr
    proc = run("scan", "--data-dir", dirs[-1] + "-fresh", check=False)
    assert proc.returncode == 2 and "--lora-dir" in proc.stderr
    proc = run("list", "--data-dir", dirs[-1], "--db", "nosuchdb://x", check=False)
    assert proc.returncode == 1 and "cannot use database" in proc.stderr and "Traceback" not in proc.stderr


def test_roots_are_remembered_per_data_dir(dirs):
    run("scan", *dirs)
    again = json.loads(run("scan", "--data-dir", dirs[-1], "--json").stdout)
    assert again["unchanged"] == 3 and again["missing"] == 0 and again["roots"] == [dirs[1]]


def test_scanning_imports_no_heavy_libraries(dirs):
    code = (
        "import sys; from lora_manager.cli import main; main(['scan', *sys.argv[1:], '--wait-hashes']);"
        "heavy = sorted(m for m in sys.modules"
        " if m.split('.')[0] in ('torch', 'gradio', 'sentence_transformers', 'faiss'));"
        "print('HEAVY', heavy)"
    )
    proc = subprocess.run([sys.executable, "-c", code, *dirs], capture_output=True, text=True, timeout=300)
    assert "HEAVY []" in proc.stdout, proc.stdout + proc.stderr


def test_demo_library(tmp_path):
    out = json.loads(run("scan", "--demo", "--data-dir", str(tmp_path / "data"), "--json", "--wait-hashes").stdout)
    assert out["total"] >= 20 and out["broken"] >= 1
    listed = json.loads(run("list", "--data-dir", str(tmp_path / "data"), "--json", "--limit", "100").stdout)
    families = {e["base_model"] for e in listed["items"]}
    assert {"sd1", "xl"} <= families
