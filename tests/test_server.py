"""The standalone server as a user runs it: a real uvicorn process on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx
import pytest

from .browser import free_port, wait_for
from .loras import file_sha256, write_lora

P = "/lora-manager/v1"


@pytest.fixture
def server(tmp_path):
    lib = tmp_path / "lib"
    write_lora(lib / "first.safetensors")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LORA_MANAGER_")}
    env["LORA_MANAGER_WATCH_INTERVAL"] = "0.5"
    proc = subprocess.Popen(
        [sys.executable, "-m", "lora_manager", "serve", "--lora-dir", str(lib), "--data-dir", str(tmp_path / "data"),
         "--port", str(port), "--api-key", "k"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: httpx.get(base + P + "/health", timeout=2).status_code == 200)
        yield base, lib, proc
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
        print(out)


def test_serves_scans_at_start_and_watches(server):
    base, lib, proc = server
    h = {"X-API-Key": "k"}
    assert httpx.get(base + P + "/loras").status_code == 401
    wait_for(lambda: httpx.get(base + P + "/loras", headers=h).json()["total"] == 1)
    write_lora(lib / "second.safetensors", seed=2)
    wait_for(lambda: httpx.get(base + P + "/loras", headers=h).json()["total"] == 2, timeout=30)
    r = httpx.get(base + "/docs")
    assert r.status_code == 200 and "swagger" in r.text.lower()
    assert httpx.get(base + "/openapi.json").json()["info"]["title"] == "LoRA Manager"


def test_file_changed_in_place_is_reindexed_and_hashed_by_the_watcher(server):
    """Writing into an existing file changes no folder: the watcher must still see it (issue 13.8)."""
    base, lib, proc = server
    h = {"X-API-Key": "k"}

    def first():
        items = httpx.get(base + P + "/loras", headers=h, params={"fields": "id,rank,sha256,size"}).json()["items"]
        return items[0] if items and items[0].get("sha256") else None

    wait_for(first)
    path = lib / "first.safetensors"
    mtime = os.stat(path).st_mtime_ns
    new = write_lora(lib.parent / "elsewhere" / "new.safetensors", seed=9, rank=8)
    with open(new, "rb") as src, open(path, "r+b") as dst:  # same inode, same folder: no folder changes
        dst.write(src.read())
        dst.truncate()
    os.utime(path, ns=(mtime + 5_000_000_000, mtime + 5_000_000_000))
    entry = wait_for(lambda: (e := first()) and e["sha256"] == file_sha256(path) and e, timeout=30)
    assert entry["rank"] == 8 and entry["size"] == os.path.getsize(path)


def test_progress_stream(server):
    base, lib, proc = server
    h = {"X-API-Key": "k"}
    wait_for(lambda: not httpx.get(base + P + "/scans/current", headers=h).json()["running"])
    events = []
    with httpx.Client(base_url=base, headers=h, timeout=30) as client:
        with client.stream("GET", P + "/events", params={"heartbeat": 1}) as stream:
            lines = stream.iter_lines()
            for line in lines:
                if line.startswith("data: "):
                    events.append(json.loads(line[6:]))
                    if events[-1]["type"] == "hello":
                        assert client.post(P + "/scans").status_code == 202
                    if events[-1]["type"] == "scan.finished":
                        break
    kinds = [e["type"] for e in events]
    assert kinds[0] == "hello" and "scan.started" in kinds and kinds[-1] == "scan.finished"
    assert events[-1]["report"]["unchanged"] == 1
