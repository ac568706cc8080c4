"""kill -9 in the middle of an import: a real subprocess, killed inside its one transaction; the library
is as it was before (SQLite's journal, PostgreSQL's aborted transaction), and the next start is clean."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from .transfer_helpers import fill, open_app, other_db_url, user_state, write_library  # noqa: F401

CHILD = r"""
import os, sys, time
from lora_manager.app import build
from lora_manager.settings import Settings
from lora_manager.storage import transfer_store

real = transfer_store.SqlTransferStore._generations

def stalled(self, conn, batch):
    n = real(self, conn, batch)  # user data, tags, collections and a first batch of usage are written...
    with open(sys.argv[3], "w") as f:
        f.write("inside the transaction")
    time.sleep(600)  # ...and the transaction is still open when the parent kills us
    return n

transfer_store.SqlTransferStore._generations = stalled
core = build(Settings(lora_dirs=[sys.argv[1]], data_dir=sys.argv[2], db_url=sys.argv[4]))
core.transfer.import_archive(sys.argv[5])
"""


def test_kill_9_during_import_leaves_nothing_half_applied(tmp_path, db_url, other_db_url):  # noqa: F811
    root = tmp_path / "lib"
    write_library(root)
    source = open_app(root, tmp_path / "a", db_url)
    fill(source)
    archive = tmp_path / "out.zip"
    source.transfer.export(str(archive), ["userdata", "collections", "usage"])
    source.close()
    target = open_app(root, tmp_path / "b", other_db_url)
    before = user_state(target)
    target.close()
    marker = tmp_path / "inside"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("LORA_MANAGER_")},
           "PYTHONPATH": os.pathsep.join([os.getcwd(), os.environ.get("PYTHONPATH", "")])}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(root), str(tmp_path / "b"), str(marker), other_db_url,
                              str(archive)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert child.poll() is None, child.stderr.read().decode()
            assert time.monotonic() < deadline, "the import never reached its transaction"
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL
    again = open_app(root, tmp_path / "b", other_db_url)
    try:
        assert user_state(again) == before
        done = again.transfer.import_archive(str(archive))  # and the same import, not killed, goes through
        assert done["written"]["generations"] == 30 and user_state(again)["collections"]["best"] == ["alice", "bob"]
    finally:
        again.close()
