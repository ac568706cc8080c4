"""`lora-manager civitai fetch` as a user runs it (a subprocess), against the Civitai stand-in."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from .civitai_standin import CivitaiStandin
from .civitai_fixtures import publish_alice, publish_bob_autov2_only
from .loras import file_sha256, write_lora

KEY = "sk-cli-secret-999"


def run(*args, env_extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LORA_MANAGER_")}
    env.update({"LORA_MANAGER_CIVITAI_RATE": "1000", **(env_extra or {})})
    return subprocess.run([sys.executable, "-m", "lora_manager", *args], capture_output=True, text=True, env=env,
                          timeout=300)


@pytest.fixture
def setup(tmp_path):
    lib = tmp_path / "lib"
    paths = {n: write_lora(lib / f"{n}.safetensors", seed=i, family="xl" if n == "alice" else "sd1")
             for i, n in enumerate(("alice", "bob", "carol"))}
    with CivitaiStandin() as civ:
        publish_alice(civ, paths["alice"])
        publish_bob_autov2_only(civ, paths["bob"])
        dirs = ["--lora-dir", str(lib), "--data-dir", str(tmp_path / "data")]
        assert run("scan", *dirs).returncode == 0  # not waiting for hashes: the fetch does
        yield civ, dirs, paths, lib


def test_fetch_all_as_json_then_again_asks_nothing(setup):
    civ, dirs, paths, lib = setup
    proc = run("civitai", "fetch", "--all", "--json", "--civitai-url", civ.url, *dirs)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    by = {os.path.basename(r["path"]): r for r in doc["results"]}
    assert {n: r["outcome"] for n, r in by.items()} == {"alice.safetensors": "found", "bob.safetensors": "found",
                                                         "carol.safetensors": "not_found"}
    assert by["bob.safetensors"]["matched_by"] == "autov2" and by["alice.safetensors"]["version_id"] == 11
    assert (doc["found"], doc["not_found"], doc["failed"], doc["status"]) == (2, 1, 0, "finished")
    assert (lib / "alice.civitai.info").exists() and (lib / "alice.preview.png").exists()
    again = json.loads(run("civitai", "fetch", "--all", "--json", "--civitai-url", civ.url, *dirs).stdout)
    assert again["requests"] == 0 and again["results"] == []


def test_fetch_by_key_prints_a_line_per_lora_and_a_failure_exits_1(setup):
    civ, dirs, paths, lib = setup
    proc = run("civitai", "fetch", "alice", "carol", "--civitai-url", civ.url, *dirs)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("found      alice.safetensors: version 11 of model 7")
    assert lines[1].startswith("not_found  carol.safetensors") and "1 found, 1 not on Civitai, 0 failed" in lines[-1]
    civ.fail(file_sha256(paths["bob"]).upper(), 401)  # refused: not tried again
    proc = run("civitai", "fetch", "bob", "--json", "--civitai-url", civ.url, *dirs,
               env_extra={"LORA_MANAGER_CIVITAI_KEY": KEY})
    assert proc.returncode == 1
    [result] = json.loads(proc.stdout)["results"]
    assert (
        result["outcome"] == "failed"
        and "HTTP 401" in result["reason"]
        and "LORA_MANAGER_CIVITAI_KEY" in result["reason"]
    )
    assert KEY not in proc.stdout + proc.stderr


def test_wrong_use_is_refused_clearly(setup):
    civ, dirs, paths, lib = setup
    both = run("civitai", "fetch", "alice", "--all", "--civitai-url", civ.url, *dirs)
    assert both.returncode == 2 and "give LoRA keys, or --all" in both.stderr
    neither = run("civitai", "fetch", "--civitai-url", civ.url, *dirs)
    assert neither.returncode == 2
    unknown = run("civitai", "fetch", "nobody", "--civitai-url", civ.url, *dirs)
    assert unknown.returncode == 1 and "nobody" in unknown.stderr
    assert civ.requests == []


def test_the_parser_knows_the_flags():
    from lora_manager.cli import parser

    args = parser().parse_args(["civitai", "fetch", "--all", "--refresh", "--json", "--civitai-url", "http://x"])
    assert (args.command, args.civitai_command, args.all_missing, args.refresh, args.json, args.civitai_url) == \
        ("civitai", "fetch", True, True, True, "http://x")
    assert parser().parse_args(["serve", "--civitai-url", "http://y"]).civitai_url == "http://y"
