"""Export and import at scale: 100k LoRAs with user data, 1M recorded generations.

    python bench/bench_transfer.py [--loras 100000] [--events 1000000] [--url URL] [--target-url URL] [--json out.json]

Indexes `--loras` synthetic LoRA rows (with full hashes, so the import matches by hash) into the source
database, gives every one user data (favorite on half, a note, two tags, a weight), records `--events`
generations (bench_analytics.fill: ~2.5 LoRAs each, with their rollups), then times:

- export of every part to one archive (and its size);
- the import's dry run into a second database holding the same LoRAs and nothing else;
- the real import (its backup, every check, one transaction), and checks what arrived.

Both databases default to temporary SQLite files.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sqlalchemy import func, select  # noqa: E402

from bench_analytics import WORDS, fill as fill_events  # noqa: E402  (beside this script)
from report import emit  # noqa: E402
from lora_manager.settings import Settings  # noqa: E402
from lora_manager.storage.models import GenerationLora, LoraTag, LoraUser  # noqa: E402
from lora_manager.events import EventBus  # noqa: E402
from lora_manager.storage.db import open_db  # noqa: E402
from lora_manager.storage.scan_store import SqlScanStore  # noqa: E402
from lora_manager.transfer.schema import PARTS  # noqa: E402
from lora_manager.transfer.service import Transfer  # noqa: E402


def index_rows(count: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        name = f"lora_{i:06d}"
        rows.append({"path": f"/lib/{i % 100:02d}/{name}.safetensors", "root": "/lib", "folder": f"{i % 100:02d}",
                     "file_name": f"{name}.safetensors", "prompt_name": name, "ext": ".safetensors",
                     "size": rng.randrange(5, 400) << 20, "mtime_ns": i, "state": "ok",
                     "sha256": hashlib.sha256(name.encode()).hexdigest(),
                     "triggers": [f"{rng.choice(WORDS)}{i % 97}", rng.choice(WORDS)],
                     **{k: [] for k in ("training_tags", "source_tags", "sidecars", "previews")}, "meta": {},
                     "suggested": {}, "preview_count": 0, "companion_sig": 0, "offline": False})
    return rows


def user_data(repo, seed: int = 0) -> None:
    from datetime import datetime, timezone

    rng = random.Random(seed)
    now = datetime.now(timezone.utc)
    with repo.engine.begin() as conn:
        ids = [r[0] for r in conn.exec_driver_sql("SELECT id FROM loras ORDER BY id")]
        for part in range(0, len(ids), 20_000):
            chunk = ids[part:part + 20_000]
            conn.execute(LoraUser.__table__.insert(), [
                {"lora_id": i, "favorite": i % 2 == 0, "notes": f"note {i}: {rng.choice(WORDS)}", "rating": i % 6,
                 "preferred_weight": round(rng.uniform(0.3, 1.0), 2), "updated_at": now} for i in chunk])
            conn.execute(LoraTag.__table__.insert(), [
                {"lora_id": i, "tag": t} for i in chunk for t in {rng.choice(WORDS), f"set{i % 50}"}])


def make_transfer(url: str, data_dir: str):
    repo = open_db(url)
    settings = Settings(data_dir=data_dir, db_url=url)
    transfer = Transfer(settings)

    transfer.attach(repo.engine, EventBus())
    return repo, transfer


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser()
    ap.add_argument("--loras", type=int, default=100_000)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--url", help="the source database (default: a temporary SQLite file)")
    ap.add_argument("--target-url", help="the database imported into (default: a temporary SQLite file)")
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args(argv)
    work = tempfile.mkdtemp(prefix="lm-transfer-")
    try:
        source, src = make_transfer(args.url or f"sqlite:///{work}/source.db", os.path.join(work, "a"))
        target, dst = make_transfer(args.target_url or f"sqlite:///{work}/target.db", os.path.join(work, "b"))
        rows = index_rows(args.loras)
        SqlScanStore(source).insert_files([dict(r) for r in rows])
        SqlScanStore(target).insert_files([dict(r) for r in rows])
        user_data(source)
        out = {"database": source.dialect, "loras": args.loras, "events": args.events}
        out["fill_events_s"] = round(fill_events(source, args.events), 1)
        archive = os.path.join(work, "export.zip")
        t = time.perf_counter()
        report = src.export(archive, list(PARTS))
        out["export_s"] = round(time.perf_counter() - t, 2)
        out["archive_mib"] = round(os.path.getsize(archive) / 1048576, 1)
        out["exported"] = report["counts"]
        t = time.perf_counter()
        dry = dst.import_archive(archive, dry_run=True)
        out["import_dry_run_s"] = round(time.perf_counter() - t, 2)
        t = time.perf_counter()
        done = dst.import_archive(archive)
        out["import_s"] = round(time.perf_counter() - t, 2)
        out["import_counts"] = dry["counts"] | {"usage_added": done["usage"]["added"]}
        with target.engine.connect() as conn:
            out["arrived"] = {
                "user_rows": conn.execute(select(func.count()).select_from(LoraUser.__table__)).scalar(),
                "generation_loras": conn.execute(select(func.count()).select_from(GenerationLora.__table__)).scalar(),
            }
        emit(out, args.json)
        source.close()
        target.close()
        return out
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
