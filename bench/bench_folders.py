"""`GET /folders` over the app's HTTP stack (in process): the old way (the root walked, the counts read)
against the walk kept (catalog/disk_folders.py), after a write (the counts read again) and with nothing
written, alternating in one process. Use a copy of an indexed database: opening it may migrate it.

    python bench/bench_folders.py --lora-dir /work/benchlibs/100k --db /tmp/copy/100k.db --data /tmp/copy/data
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from fastapi.testclient import TestClient  # noqa: E402

from bench.report import emit  # noqa: E402
from lora_manager.app import build  # noqa: E402
from lora_manager.catalog.disk_folders import DiskFolders  # noqa: E402
from lora_manager.settings import Settings  # noqa: E402
from lora_manager.standalone.app import create_app  # noqa: E402

URL = "/lora-manager/v1/folders"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lora-dir", required=True)
    ap.add_argument("--db", required=True, help="a copy of the indexed SQLite database")
    ap.add_argument("--data", required=True, help="a data folder for this run")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--json")
    args = ap.parse_args()
    core = build(Settings(lora_dirs=[args.lora_dir], data_dir=args.data, db_url=f"sqlite:///{args.db}"))
    client = TestClient(create_app(core))

    def old():
        core.catalog.disk_folders = DiskFolders()  # no walk kept
        core.catalog.catalog_store._folders._items.clear()  # no counts kept
        return client.get(URL)

    def after_write():
        core.db.write_version += 1  # what a commit of this process (the hasher's) does
        return client.get(URL)

    def nothing_written():
        return client.get(URL)

    steps = {"old": old, "after_a_write": after_write, "nothing_written": nothing_written}
    bodies = [step().json() for step in steps.values()]
    assert bodies[0] == bodies[1] == bodies[2], "the kept walk and counts answer as a fresh walk does"
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(args.rounds):
        for name, step in steps.items():
            start = time.perf_counter()
            step().raise_for_status()
            times[name].append(1000 * (time.perf_counter() - start))
    emit({"folders": sum(len(r["folders"]) for r in bodies[0]["roots"]), "load_1min": os.getloadavg()[0],
          **{name: {"median_ms": round(statistics.median(v), 1), "min_ms": round(min(v), 1),
                    "max_ms": round(max(v), 1)} for name, v in times.items()}}, args.json)
    core.close()


if __name__ == "__main__":
    main()
