"""Analytics at scale: 1M recorded generations over a 100k-LoRA index.

    python bench/bench_analytics.py --db bench/out/lib100k.db [--events 1000000]
    python bench/bench_analytics.py --loras 100000 [--url postgresql+psycopg://...] [--events 200000]

With --db, works on a copy of an indexed library; with --loras, indexes that
many synthetic LoRA rows (name, size, triggers: all the analytics reads) into
a fresh database at --url (default: a temporary SQLite file). Writes synthetic
events (2.5 LoRAs a generation on average, a skewed popularity) straight into
the usage tables of a copy of the database, then times the dashboard's queries
(summary + one page of per-LoRA figures) and, as a baseline in the same run, a
bare COUNT(*) over the events.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sqlalchemy import func, select, text  # noqa: E402

from lora_manager.usage.analytics import Analytics  # noqa: E402
from report import emit  # noqa: E402  (bench/report.py, beside this script)
from lora_manager.storage import rollups  # noqa: E402
from lora_manager.storage.db import open_db  # noqa: E402
from lora_manager.storage.stores import sql_stores  # noqa: E402
from lora_manager.usage.rollup_fold import aggregate  # noqa: E402
from lora_manager.storage.usage_store import G, GL  # noqa: E402


WORDS = ("neon", "ink", "glow", "sketch", "retro", "pastel", "chrome", "velvet", "storm", "amber", "moss", "frost")


def synth_index(db, count: int, seed: int = 0) -> None:
    """`count` LoRA rows: only what analytics reads (name, size, state, triggers) is realistic."""
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        name = f"lora_{i:06d}"
        rows.append({"path": f"/lib/{name}.safetensors", "root": "/lib", "folder": "",
                     "file_name": f"{name}.safetensors",
                     "prompt_name": name, "ext": ".safetensors", "size": rng.randrange(5, 400) << 20, "mtime_ns": i,
                     "state": "ok", "triggers": [f"{rng.choice(WORDS)}{i % 97}", rng.choice(WORDS)],
                     **{k: [] for k in ("training_tags", "source_tags", "sidecars", "previews")}, "meta": {},
                     "suggested": {}, "preview_count": 0, "companion_sig": 0, "offline": False})
    sql_stores(db).scan.insert_files(rows)


def fill(db, events: int, seed: int = 0) -> float:
    rng = random.Random(seed)
    with db.engine.connect() as conn:
        loras = conn.execute(text("SELECT id, prompt_name, triggers FROM loras WHERE state = 'ok'")).all()
    popular = loras[: max(1, len(loras) // 50)]  # a few LoRAs get most of the use
    start = datetime(2025, 11, 1, tzinfo=timezone.utc)
    t = time.perf_counter()
    gid = 0
    batch_g, batch_l = [], []
    for i in range(events):
        gid += 1
        when = start + timedelta(seconds=rng.randrange(365 * 86400))
        outcome = rng.choices(("done", "interrupted", "failed"), (0.9, 0.08, 0.02))[0]
        batch_g.append({"id": gid, "started_at": when, "finished_at": when, "duration_ms": rng.randrange(800, 20000),
                        "outcome": outcome, "source": "ui", "checkpoint": "m",
                        "checkpoint_family": rng.choice(("sd1", "xl", "f1")),
                        "seed": i, "steps": 20, "width": 512, "height": 512, "sampler": "Euler"})
        words = []
        for pos in range(rng.choice((1, 2, 2, 3, 4))):
            lid, name, triggers = rng.choice(popular) if rng.random() < 0.7 else rng.choice(loras)
            w = round(rng.uniform(0.3, 1.2), 1)
            batch_l.append({"generation_id": gid, "position": pos, "prompt_name": name, "lora_id": lid,
                            "requested_weight": w, "requested_te": w, "requested_unet": w, "schedule": None,
                            "applied": True, "applied_te": w, "applied_unet": w, "status": "applied"})
            if rng.random() < 0.6:  # the prompt uses one of its trigger words
                words.append(rng.choice(_list(triggers)))
        batch_g[-1]["prompt"] = ", ".join(words + ["a cat", "masterpiece"])
        if len(batch_g) >= 20000:
            _write(db, batch_g, batch_l)
            batch_g, batch_l = [], []
    if batch_g:
        _write(db, batch_g, batch_l)
    return time.perf_counter() - t


def _list(value):
    return json.loads(value) if isinstance(value, str) else list(value)


def _write(db, gens, loras) -> None:
    """Events and their rollups, as the recorder writes them (in bulk here)."""
    with db.engine.begin() as conn:
        conn.execute(G.insert(), gens)
        conn.execute(GL.insert(), loras)
        words = rollups.trigger_words(conn, {r["lora_id"] for r in loras})
        rollups.apply(conn, db.dialect, aggregate(gens, loras, words))


def timed(fn, runs=5):
    """Median of `runs` (the machine is shared: medians, not best cases)."""
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return round(statistics.median(times), 3)


def measure(db) -> dict:
    stores = sql_stores(db)
    analytics = Analytics(stores.analytics, stores.ranges, stores.usage)
    with db.engine.connect() as conn:
        base = timed(lambda: conn.execute(select(func.count()).select_from(GL)).scalar())
        lora_rows = conn.execute(select(func.count()).select_from(GL)).scalar()
    # Berlin's October
    month = (datetime(2026, 9, 30, 22, 0, tzinfo=timezone.utc), datetime(2026, 10, 31, 23, 0, tzinfo=timezone.utc))
    out = {
        "lora_rows": lora_rows,
        "baseline_count_star_s": base,
        "summary_s": timed(lambda: analytics.summary(tz_name="Europe/Berlin")),
        "summary_kolkata_s": timed(lambda: analytics.summary(tz_name="Asia/Kolkata")),
        "loras_page_s": timed(lambda: analytics.loras(limit=100)),
        "month_summary_s": timed(lambda: analytics.summary(*month, tz_name="Europe/Berlin"), runs=3),
        "month_loras_page_s": timed(lambda: analytics.loras(*month, limit=100), runs=3),
        "week_summary_s": timed(lambda: analytics.summary(month[0], month[0] + timedelta(days=7),
                                                          tz_name="Europe/Berlin"), runs=3),
    }
    out["dashboard_s"] = round(out["summary_s"] + out["loras_page_s"], 3)
    out["month_dashboard_s"] = round(out["month_summary_s"] + out["month_loras_page_s"], 3)
    # what the tab's Analytics panel asks for on a range: the summary alone (per-LoRA figures
    # are the detail panel's, one LoRA at a time)
    out["month_panel_s"] = out["month_summary_s"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", help="an indexed library (SQLite file), copied first")
    ap.add_argument("--loras", type=int, default=100_000, help="without --db: synthetic LoRA rows to index")
    ap.add_argument("--url", help="without --db: the database to fill (default: a temporary SQLite file)")
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--filled", action="store_true", help="--url already holds the events: only measure")
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="lm-analytics-")
    try:
        url = args.url or f"sqlite:///{os.path.join(work, 'a.db')}"
        if args.db:
            copy = os.path.join(work, "a.db")
            shutil.copy(args.db, copy)
            url = f"sqlite:///{copy}"
        db = open_db(url)
        out = {"database": db.dialect, "events": args.events}
        if not args.filled:
            if not args.db:
                synth_index(db, args.loras)
            out["fill_s"] = round(fill(db, args.events), 1)
        out.update(measure(db))
        emit(out, args.json)
        db.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
