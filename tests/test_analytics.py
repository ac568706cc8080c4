"""Analytics computed from recorded events only, on both databases; time zones handled."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient

from lora_manager.standalone.app import create_app
from lora_manager.usage.recorder import GenerationEvent

from .conftest import scan
from .loras import write_lora

P = "/lora-manager/v1"
# 23:50 UTC on Nov 1 is already Nov 2 in Tokyo and Kolkata, still Nov 1 in New York
T = datetime(2026, 11, 1, 23, 50, tzinfo=timezone.utc)


@pytest.fixture
def lib(app, library):
    write_lora(library / "cat.safetensors", seed=1)
    write_lora(library / "dog.safetensors", seed=2)
    write_lora(library / "unused_big.safetensors", seed=3, rank=16)
    scan(app)
    events = [
        (T, "<lora:cat:0.7> <lora:dog:0.5>", [("cat", 0.7), ("dog", 0.5)], "done", 4000, "sd1"),
        (T + timedelta(minutes=30), "<lora:cat:0.7>", [("cat", 0.7)], "done", 2000, "sd1"),
        (T + timedelta(hours=5, minutes=30), "<lora:cat:1> <lora:ghost>", [("cat", 1.0)], "interrupted", 500, "xl"),
        (T + timedelta(days=2), "plain prompt", [], "done", 1000, "sd1"),
    ]
    for started, prompt, applied, outcome, ms, fam in events:
        app.recorder.record(GenerationEvent.from_prompt(
            prompt, started_at=started, finished_at=started + timedelta(milliseconds=ms), outcome=outcome,
            checkpoint_family=fam, applied=[{"name": n, "te": w, "unet": w} for n, w in applied]))
    assert app.recorder.flush(10)
    return app


def test_summary(lib):
    s = lib.analytics.summary()
    assert s["totals"]["generations"] == 4
    assert [(m["prompt_name"], m["uses"]) for m in s["most_used"]] == [("cat", 3), ("dog", 1)]
    assert s["never_used"]["count"] == 1 and s["never_used"]["largest"][0]["prompt_name"] == "unused_big"
    assert s["co_usage"] == [{"a": "cat", "b": "dog", "generations": 1}]
    assert s["totals"]["lora_failures"] == {"not_found": 1}
    assert {f["family"]: f["generations"] for f in s["totals"]["families"]} == {"sd1": 3, "xl": 1}


@pytest.mark.parametrize(
    "tz,expected",
    [
        ("UTC", {"2026-11-01": 1, "2026-11-02": 2, "2026-11-03": 1}),
        ("Asia/Tokyo", {"2026-11-02": 3, "2026-11-04": 1}),
        ("America/New_York", {"2026-11-01": 2, "2026-11-02": 1, "2026-11-03": 1}),  # EST since 06:00 UTC Nov 1
        ("Asia/Kolkata", {"2026-11-02": 3, "2026-11-04": 1}),  # +5:30
    ],
)
def test_daily_buckets_follow_the_time_zone(lib, tz, expected):
    timeline = lib.analytics.summary(tz_name=tz)["timeline"]
    assert {row["bucket"]: row["generations"] for row in timeline} == expected


def test_per_lora(lib):
    items = {i["prompt_name"]: i for i in lib.analytics.loras()["items"]}
    cat = items["cat"]
    assert cat["uses"] == 3 and cat["outcomes"] == {"done": 2, "interrupted": 1, "failed": 0, "not_found": 0}
    assert cat["weights"] == {"0.7": 2, "1": 1} and cat["families"] == {"sd1": 2, "xl": 1}
    assert cat["mean_ms_with"] == 3000.0 and cat["mean_ms_without"] == 1000.0
    assert cat["first_used"].startswith("2026-11-01T23:50") and cat["last_used"].startswith("2026-11-02T05:20")
    assert items["ghost"]["uses"] == 0 and items["ghost"]["outcomes"]["not_found"] == 1
    assert [i["prompt_name"] for i in lib.analytics.loras(sort="name")["items"]] == ["cat", "dog", "ghost"]


def test_range_filter_and_api(lib):
    with TestClient(create_app(lib)) as c:
        r = c.get(f"{P}/analytics/summary",
                  params={"since": "2026-11-02T00:00:00Z", "tz": "Europe/Berlin", "bucket": "week"})
        assert r.status_code == 200 and r.json()["totals"]["generations"] == 3
        assert c.get(f"{P}/analytics/summary", params={"tz": "Mars/Olympus"}).status_code == 422
        rows = c.get(f"{P}/analytics/loras", params={"until": "2026-11-02T00:00:00Z"}).json()["items"]
        assert {r["prompt_name"]: r["uses"] for r in rows} == {"cat": 1, "dog": 1}
        text = c.get(f"{P}/analytics/events.csv").text
    table = list(csv.reader(io.StringIO(text)))
    # a row per generation and LoRA; a plain prompt has one
    assert table[0][0] == "generation_id" and len(table) == 1 + 6


def test_half_hour_zones_bucket_at_local_midnight(app, library):
    # 18:20 UTC is 23:50 in Kolkata (+5:30); 18:40 UTC is 00:10 the next day there.
    for minute in (20, 40):
        start = datetime(2026, 11, 5, 18, minute, tzinfo=timezone.utc)
        app.recorder.record(GenerationEvent.from_prompt("x", started_at=start, finished_at=start))
    app.recorder.flush(10)
    timeline = app.analytics.summary(tz_name="Asia/Kolkata")["timeline"]
    assert {row["bucket"]: row["generations"] for row in timeline} == {"2026-11-05": 1, "2026-11-06": 1}


def test_rollups_agree_with_the_raw_events(lib):
    everything = datetime(2000, 1, 1, tzinfo=timezone.utc)  # a range: computed from the raw events
    fast, raw = lib.analytics.loras(), lib.analytics.loras(since=everything)
    assert fast["items"] == raw["items"]
    a, b = lib.analytics.summary(), lib.analytics.summary(since=everything)
    for key in ("timeline", "most_used", "least_used", "co_usage", "never_used"):
        assert a[key] == b[key], key
    assert (
        a["totals"]["generations"] == b["totals"]["generations"]
        and a["totals"]["mean_done_ms"] == b["totals"]["mean_done_ms"]
    )


def test_migration_backfills_rollups_from_earlier_events(tmp_path):
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import select

    from lora_manager.storage.engine import MIGRATIONS, make_engine, migrate
    from lora_manager.storage.rollups import TOT
    from lora_manager.storage.usage_store import G, GL

    engine = make_engine(f"sqlite:///{tmp_path}/old.db")
    cfg = Config()
    cfg.set_main_option("script_location", MIGRATIONS)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0003")
        for gid in (1, 2):
            conn.execute(G.insert().values(id=gid, started_at=T, outcome="done", duration_ms=1000))
            conn.execute(GL.insert().values(generation_id=gid, position=0, prompt_name="old_lora", applied=True,
                                            applied_unet=0.5, status="applied"))
    migrate(engine)
    with engine.connect() as conn:
        row = conn.execute(select(TOT.c.uses, TOT.c.sum_ms).where(TOT.c.prompt_name == "old_lora")).one()
    engine.dispose()
    assert tuple(row) == (2, 2000)
