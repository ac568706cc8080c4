"""trash list|empty|restore|delete, forget, organize and bulk file actions on the command line (a subprocess)."""

from __future__ import annotations

import json

import pytest

from .loras import write_lora
from .test_cli import run


@pytest.fixture
def dirs(tmp_path):
    lib = tmp_path / "lib"
    write_lora(lib / "alice.safetensors", metadata={"modelspec.author": "Kim"})
    write_lora(lib / "bob.safetensors", family="xl", seed=2)
    args = ["--lora-dir", str(lib), "--data-dir", str(tmp_path / "data")]
    run("scan", *args, "--wait-hashes")
    return args, lib


def test_trash_list_restore_and_empty(dirs):
    args, lib = dirs
    assert "trash:" in run("trash", "alice", *args).stdout  # the old form: trash KEY
    listed = json.loads(run("trash", "list", *args, "--json").stdout)
    assert listed["total"] == 1 and listed["items"][0]["name"] == "alice"
    assert "restored 1" in run("trash", "restore", "alice", *args).stdout
    assert (lib / "alice.safetensors").exists()
    run("trash", "alice", "bob", *args)
    refused = run("trash", "empty", *args, check=False)
    assert refused.returncode == 2 and "--yes" in refused.stderr and (lib.parent / "data" / "trash").exists()
    assert json.loads(run("trash", "list", *args, "--json").stdout)["total"] == 2
    assert json.loads(run("trash", "empty", "--yes", *args, "--json").stdout) == {"deleted": 2}
    assert "the trash is empty" in run("trash", "list", *args).stdout
    assert list(lib.iterdir()) == []


def test_trash_delete_one_for_good(dirs):
    args, lib = dirs
    run("trash", "alice", "bob", *args)
    trash = lib.parent / "data" / "trash"
    alice_dir = next(d for d in trash.iterdir() if (d / "alice.safetensors").exists())
    refused = run("trash", "delete", "alice", *args, check=False)  # not a terminal and no --yes
    assert refused.returncode == 2 and "--yes" in refused.stderr and (alice_dir / "alice.safetensors").exists()
    assert run("trash", "delete", *args, check=False).returncode == 2  # no keys
    done = json.loads(run("trash", "delete", "alice", "--yes", *args, "--json").stdout)
    assert len(done["deleted"]) == 1 and done["skipped"] == []
    assert not alice_dir.exists()  # its folder in the trash is gone; bob's stays
    assert [p.name for d in trash.iterdir() for p in d.iterdir()] == ["bob.safetensors"]
    assert run("show", "alice", *args, check=False).returncode == 1  # the entry too
    listed = json.loads(run("trash", "list", *args, "--json").stdout)
    assert [e["name"] for e in listed["items"]] == ["bob"]
    run("trash", "restore", "bob", *args)
    kept = run("trash", "delete", "bob", "--yes", *args, check=False)  # present again: refused, nothing deleted
    assert kept.returncode == 1 and "skipped bob: only a LoRA in the trash" in kept.stdout
    assert (lib / "bob.safetensors").exists()


def test_forget_only_missing(dirs):
    args, lib = dirs
    kept = run("forget", "bob", *args, check=False)
    assert kept.returncode == 1 and "only a missing entry" in kept.stdout
    (lib / "bob.safetensors").unlink()
    run("scan", *args)
    assert "forgot 1 missing entry" in run("forget", "bob", *args).stdout
    assert run("show", "bob", *args, check=False).returncode == 1


def test_organize_dry_run_then_for_real(dirs):
    args, lib = dirs
    plan = json.loads(run("organize", "--template", "{base}/{creator}", "--dry-run", *args, "--json").stdout)
    assert plan["dry_run"] and len(plan["moves"]) == 2 and sorted(p.name for p in lib.iterdir()) == [
        "alice.safetensors", "bob.safetensors"]
    text = run("organize", "--template", "{base}/{creator}", *args).stdout
    assert "2 moved" in text
    assert (lib / "SD 1.x" / "Kim" / "alice.safetensors").exists()
    assert (lib / "SDXL" / "unknown" / "bob.safetensors").exists()
    bad = run("organize", "--template", "{nope}", *args, check=False)
    assert bad.returncode == 1 and "placeholder" in bad.stderr
    moved = json.loads(run("bulk", "move", "alice", "bob", "--value", "flat", *args, "--json").stdout)
    assert moved == {"changed": 2, "skipped": []} and len(list((lib / "flat").iterdir())) == 2
