"""A full disk under a running server and the CLI: "disk full" with errno and free space, the failed scan in
/scans/last, an unhealthy /system, 507 for writes, reads still served; all well again once space is back.

A real small filesystem (tmpfs of 8 MiB, mounted as root) holds the data directory (a new database takes about
2 MB: 16 KiB pages, one at least for each of its tables and indexes). See docs/data-safety.md.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import time

import httpx
import pytest

from .browser import free_port, wait_for
from .loras import write_lora

P = "/lora-manager/v1"


@pytest.fixture
def small_disk(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small filesystem needs root")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(folder)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount tmpfs here: {mounted.stderr!r}")
    yield folder
    gc.collect()  # a database connection the test's app left to the collector holds files here
    for _ in range(50):  # a process that just ended may hold it a moment longer
        if subprocess.run(["umount", str(folder)], capture_output=True).returncode == 0:
            break
        time.sleep(0.2)
    else:
        subprocess.run(["umount", str(folder)], check=True)


def _fill(folder) -> str:
    """Take every free byte of the filesystem; returns the filler's path."""
    path = os.path.join(folder, "filler")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as exc:
        assert exc.errno == 28  # ENOSPC
    finally:
        os.close(fd)
    return path


def _env():
    env = {k: v for k, v in os.environ.items() if not k.startswith("LORA_MANAGER_")}
    env["LORA_MANAGER_EMBED_MODEL"] = "off"
    return env


def test_disk_full_is_said_reported_and_answered_507(tmp_path, small_disk):
    lib = tmp_path / "lib"
    write_lora(lib / "first.safetensors")
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "lora_manager", "serve", "--lora-dir", str(lib), "--data-dir",
                             str(small_disk), "--port", str(port), "--no-ui"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=_env())
    base = f"http://127.0.0.1:{port}{P}"
    try:
        wait_for(lambda: httpx.get(base + "/scans/last", timeout=5).status_code == 200, timeout=60)
        filler = _fill(small_disk)
        for i in range(40):  # a scan with these needs far more room than is left
            tags = {"d": {f"tag{i}_{j}": j for j in range(800)}}
            write_lora(lib / f"big{i}.safetensors", seed=i + 5,
                       metadata={"ss_output_name": f"o{i}", "ss_tag_frequency": json.dumps(tags)})
        assert httpx.post(base + "/scans", timeout=10).status_code == 202
        wait_for(lambda: not httpx.get(base + "/scans/current", timeout=5).json()["running"], timeout=60)

        last = httpx.get(base + "/scans/last", timeout=5).json()
        assert last["status"] == "failed" and last["error"]["code"] == "disk_full"
        assert "disk full" in last["error"]["message"] and "ENOSPC" in last["error"]["message"]
        assert "0.0 MiB free" in last["error"]["message"]
        db = httpx.get(base + "/system", timeout=5).json()["database"]
        assert db["healthy"] is False and db["problem"]["code"] == "disk_full" and db["problem"]["free_bytes"] == 0

        edit = httpx.patch(base + "/loras/first", json={"notes": "n" * 3000}, timeout=10)
        assert edit.status_code == 507 and edit.json()["error"]["code"] == "disk_full"
        assert httpx.get(base + "/loras", timeout=5).json()["total"] == 1  # reads still work

        cli = subprocess.run([sys.executable, "-m", "lora_manager", "edit", "first", "--data-dir", str(small_disk),
                              "--set", "notes=" + "c" * 3000], capture_output=True, text=True, env=_env(), timeout=120)
        assert cli.returncode != 0 and "Traceback" not in cli.stderr
        assert cli.stderr.strip().startswith("error: disk full") and "\n" not in cli.stderr.strip(), cli.stderr

        os.unlink(filler)  # space is back: writes work, and the state is healthy after one
        assert httpx.patch(base + "/loras/first", json={"notes": "back"}, timeout=10).status_code == 200
        assert httpx.get(base + "/system", timeout=5).json()["database"]["healthy"] is True
        assert httpx.post(base + "/scans", timeout=10).status_code == 202
        wait_for(lambda: not httpx.get(base + "/scans/current", timeout=5).json()["running"], timeout=60)
        last = httpx.get(base + "/scans/last", timeout=5).json()
        assert (last["status"], last["new"]) == ("finished", 40)
        assert httpx.get(base + "/loras/first", timeout=5).json()["notes"] == "back"
    finally:
        proc.terminate()
        print(proc.communicate(timeout=30)[0])


def test_idle_connections_let_go_on_a_full_disk_leave_reads_working(tmp_path, small_disk):
    """The server lets idle connections go (standalone/server.py, PoolRelease). Had the last one to the database
    closed, the next would have to rebuild the WAL's index, which a full disk does not allow: one stays open."""
    from lora_manager.app import build
    from lora_manager.settings import Settings
    from lora_manager.standalone.server import PoolRelease

    lib = tmp_path / "lib"
    write_lora(lib / "first.safetensors")
    app = build(Settings(lora_dirs=[str(lib)], data_dir=str(small_disk), embed_model="off"))
    try:
        app.scan(wait_hashes=True)
        release = PoolRelease(app.db.engine)
        release()  # as after the start-up work
        filler = _fill(small_disk)
        release()  # as after a burst, the disk full: every pooled connection closes
        assert app.catalog.list(limit=10).total == 1  # a new connection reads
        release.close()
        os.unlink(filler)
    finally:
        app.close()
