"""Two processes writing one library at once: scans, hashing and bulk edits, no errors, consistent data.

Real processes on one database (PostgreSQL schema or SQLite file); see docs/data-safety.md.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys

from sqlalchemy import select

from lora_manager.app import build
from lora_manager.settings import Settings
from lora_manager.storage.base import LH, H, L, T
from lora_manager.storage.hash_models import HASH_COLUMNS
from lora_manager.storage.search import search_text

from .loras import write_lora

FILES = 240
ROUNDS = 4


def _library(tmp_path, db_url):
    """A library whose id order is not its path order (the files were renamed after the first scan)."""
    lib = tmp_path / "lib"
    for i in range(FILES):
        write_lora(lib / f"lora{i:04d}.safetensors", seed=i, metadata={"ss_output_name": f"out{i}"})
    app = build(Settings(lora_dirs=[str(lib)], data_dir=str(tmp_path / "setup"), db_url=db_url))
    try:
        app.scan(hash_after=False)
        names = [f"n{i:04d}" for i in range(FILES)]
        random.Random(7).shuffle(names)
        for i, name in enumerate(names):
            os.rename(lib / f"lora{i:04d}.safetensors", lib / f"{name}.safetensors")
        report = app.scan(hash_after=False)
        assert report.moved == FILES
    finally:
        app.close()
    return lib


def test_two_processes_scan_hash_and_bulk_edit_at_once(tmp_path, db_url):
    lib = _library(tmp_path, db_url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LORA_MANAGER_")}
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    procs = [subprocess.Popen([sys.executable, "-m", "tests.writers_worker", db_url, str(lib), str(tmp_path / f"d{n}"),
                               str(n), str(ROUNDS)], cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for n in (1, 2)]
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=False):
        assert p.returncode == 0 and out.strip() == "done", err[-3000:]
        assert "Traceback" not in err and "hashing stopped" not in err, err[-3000:]
    print("writes retried after meeting the other writer:", sum(err.count("met another writer") for _, err in outs))

    app = build(Settings(lora_dirs=[str(lib)], data_dir=str(tmp_path / "check"), db_url=db_url))
    try:
        # A worker may touch files after the other's last scan: one more scan brings the index level.
        report = app.scan(wait_hashes=True)
        assert (report.total, report.new, report.moved, report.missing) == (FILES, 0, 0, 0)
        with app.db.engine.connect() as conn:
            rows = conn.execute(select(L, *[H.c[c] for c in HASH_COLUMNS]).select_from(LH)).mappings().all()
            tags: dict[int, list[str]] = {}
            for lid, tag in conn.execute(select(T.c.lora_id, T.c.tag)):
                tags.setdefault(lid, []).append(tag)
        on_disk = sorted(str(p) for p in lib.iterdir())
        assert sorted(r["path"] for r in rows) == on_disk  # one row per file, none lost, none doubled
        assert {r["state"] for r in rows} == {"ok"}
        for r in rows:  # each row's file facts and hashes are those of the file as it is now
            st = os.stat(r["path"])
            assert (r["size"], r["mtime_ns"]) == (st.st_size, st.st_mtime_ns)
            assert (r["hashed_size"], r["hashed_mtime_ns"]) == (st.st_size, st.st_mtime_ns)
            user = app.catalog.get(r["id"])
            assert search_text(r, sorted(tags.get(r["id"], ())), user["user_triggers"]) == r["search_text"]
            assert {"w1-r0", "w2-r0"} <= set(tags[r["id"]])
    finally:
        app.close()
