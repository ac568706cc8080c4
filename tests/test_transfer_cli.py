"""The transfer commands as a user runs them (`python -m lora_manager ...` in a subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys

import orjson

from .transfer_helpers import write_library


def run(*args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LORA_MANAGER_")}
    return subprocess.run([sys.executable, "-m", "lora_manager", *args], capture_output=True, text=True, env=env,
                          timeout=300)


def test_export_import_peers_and_sidecars_from_the_command_line(tmp_path):
    root = tmp_path / "lib"
    write_library(root)
    a, b = ["--data-dir", str(tmp_path / "a")], ["--data-dir", str(tmp_path / "b")]
    for data in (a, b):
        assert run("scan", "--lora-dir", str(root), *data, "--wait-hashes").returncode == 0
    assert run("edit", "alice", *a, "--set", "notes=exported", "--set", "favorite=true").returncode == 0
    archive = str(tmp_path / "out.zip")
    out = run("export", archive, *a, "--what", "userdata,collections", "--json")
    assert out.returncode == 0 and orjson.loads(out.stdout)["counts"]["userdata"] == 1
    assert run("export", archive, *a, "--what", "userdata,nonsense").returncode == 1
    dry = run("import", archive, *b, "--dry-run")
    assert dry.returncode == 0 and "added 1" in dry.stdout and "notes: — -> 'exported'" in dry.stdout
    assert orjson.loads(run("show", "alice", *b, "--json").stdout)["notes"] is None
    done = orjson.loads(run("import", archive, *b, "--json").stdout)
    assert done["backup"] and orjson.loads(run("show", "alice", *b, "--json").stdout)["notes"] == "exported"
    wrote = run("sidecars", "write", *b)
    assert wrote.returncode == 0 and "wrote 1 sidecar(s)" in wrote.stdout
    assert orjson.loads((root / "alice.json").read_bytes())["notes"] == "exported"
    back = run("import", "--from", "sdnext", *a, "--dry-run", "--json")
    assert orjson.loads(back.stdout)["counts"]["unchanged"] == 1
    assert run("import", *b).returncode == 2 and run("import", archive, "--from", "lm", *b).returncode == 2
    refused = run("restore", "alice", *b, "--dry-run")
    assert refused.returncode == 2 and "--dry-run is for restoring a backup" in refused.stderr
    hostile = tmp_path / "bad.zip"
    hostile.write_bytes(b"nope")
    bad = run("import", str(hostile), *b)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr and "not a readable zip" in bad.stderr
