"""One of several processes writing to one library at once (tests/test_several_writers.py).

`python -m tests.writers_worker URL LIBRARY DATA_DIR SEED ROUNDS`: each round
touches a random half of the files and scans (rows updated, then re-hashed in
the background), and bulk-edits every entry in a random order (tags,
favourites, base). Prints "done" when every write succeeded.
"""

from __future__ import annotations

import logging
import os
import random
import sys

from lora_manager.app import build
from lora_manager.settings import Settings


def main(url: str, library: str, data_dir: str, seed: int, rounds: int) -> None:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    logging.getLogger("lora_manager.storage.failures").setLevel(logging.INFO)  # each retry, counted by the test
    rng = random.Random(seed)
    app = build(Settings(lora_dirs=[library], data_dir=data_dir, db_url=url, hash_workers=1, scan_workers=2))
    try:
        files = sorted(os.path.join(library, n) for n in os.listdir(library))
        for i in range(rounds):
            for path in rng.sample(files, len(files) // 2):
                st = os.stat(path)
                os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + rng.randint(1, 10**9)))
            app.scan(hash_after=True)
            ids = _ids(app)
            rng.shuffle(ids)
            app.catalog.bulk(ids, "tag", f"w{seed}-r{i % 3},shared")
            app.catalog.bulk(ids[: len(ids) // 2], "untag", "shared")
            app.catalog.bulk(list(reversed(ids)), rng.choice(["favorite", "unfavorite"]))
            app.catalog.bulk(ids, "set_base", rng.choice(["sd1", "xl", None]))
        app.hasher.wait(120)
    finally:
        app.close()
    print("done", flush=True)


def _ids(app) -> list[int]:
    from sqlalchemy import text

    with app.db.engine.connect() as conn:
        return [r[0] for r in conn.execute(text("SELECT id FROM loras WHERE state = 'ok'"))]


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
