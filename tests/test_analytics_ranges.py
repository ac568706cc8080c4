"""Rollups agree with the raw events: any range, any time zone (half and quarter hours, DST), both databases,
before and after old raw events are compacted away."""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from lora_manager.usage.analytics import bucket_key, zone
from lora_manager.usage.recorder import GenerationEvent
from lora_manager.usage.rollup_fold import trigger_hits
from lora_manager.usage.timeparts import cover

from .conftest import scan
from .loras import write_lora

# Europe leaves summer time on Oct 25 2026, the US on Nov 1; Lord Howe moves by half an hour.
START = datetime(2026, 10, 22, 7, 0, tzinfo=timezone.utc)
ZONES = ("UTC", "Asia/Kolkata", "Asia/Kathmandu", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe")
TRIGGERS = {"cat": ["tabby", "orange fur"], "dog": ["corgi"], "fox": ["red fox"]}
NAMES = ("cat", "dog", "fox", "ghost")  # ghost is not in the library


def test_cover_adds_up_to_the_interval():
    rng = random.Random(3)
    base = datetime(2026, 3, 1, tzinfo=timezone.utc)
    size = {"day": 96, "hour": 4, "slot": 1}
    for _ in range(300):
        a = rng.randrange(0, 96 * 6)
        b = a + rng.randrange(1, 96 * 4)
        net = Counter()
        for unit, start, sign in cover(base + timedelta(minutes=15 * a), base + timedelta(minutes=15 * b)):
            first = int((start - base) / timedelta(minutes=15))
            for q in range(first, first + size[unit]):
                net[q] += sign
        assert {q for q, n in net.items() if n} == set(range(a, b)) and all(n in (0, 1) for n in net.values())


def _events(seed=7, n=160):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        started = START + timedelta(minutes=rng.randrange(0, 16 * 24 * 60), seconds=rng.randrange(60))
        names = rng.sample(NAMES, rng.choice((0, 1, 2, 3)))
        weights = {x: rng.choice((0.5, 0.7, 1.0)) for x in names}
        words = [rng.choice(TRIGGERS[x]) for x in names if x in TRIGGERS and rng.random() < 0.6]
        prompt = " ".join([f"<lora:{x}:{weights[x]}>" for x in names] + words + ["a scene"])
        out.append({"started": started, "prompt": prompt,
                    "outcome": rng.choice(("done", "done", "interrupted", "failed")),
                    "ms": rng.randrange(500, 9000), "family": rng.choice(("sd1", "xl")), "names": names,
                    "weights": weights})
    return out


@pytest.fixture
def rec(app, library):
    for i, name in enumerate(("cat", "dog", "fox", "unused_big")):
        write_lora(library / f"{name}.safetensors", seed=i + 1, rank=16 if name == "unused_big" else 4)
    scan(app)
    for name, words in TRIGGERS.items():
        app.catalog.edit(name, {"triggers": words})
    events = _events()
    for e in events:
        app.recorder.record(GenerationEvent.from_prompt(
            e["prompt"], started_at=e["started"], finished_at=e["started"] + timedelta(milliseconds=e["ms"]),
            outcome=e["outcome"], checkpoint_family=e["family"],
            applied=[{"name": x, "te": e["weights"][x], "unet": e["weights"][x]} for x in e["names"] if x != "ghost"]))
    assert app.recorder.flush(20)
    return app, events


def _within(events, since, until):
    return [e for e in events if (since is None or e["started"] >= since) and (until is None or e["started"] < until)]


def _expected(events, tz, bucket):
    applied = [(e, x) for e in events for x in e["names"] if x != "ghost"]
    pairs = Counter()
    words = Counter()
    for e in events:
        used = sorted(x for x in e["names"] if x != "ghost")
        pairs.update((a, b) for i, a in enumerate(used) for b in used[i + 1:])
        words.update(set().union(*[trigger_hits(e["prompt"], TRIGGERS[x]) for x in used]) if used else set())
    return {
        "timeline": dict(Counter(bucket_key(e["started"], tz, bucket) for e in events)),
        "generations": len(events),
        "uses": dict(Counter(x for _e, x in applied)),
        "requests": dict(Counter(x for e in events for x in e["names"])),
        "weights": {
            x: dict(Counter(f"{e['weights'][x]:g}" for e, y in applied if y == x)) for x in ("cat", "dog", "fox")
        },
        "families": {x: dict(Counter(e["family"] for e, y in applied if y == x)) for x in ("cat", "dog", "fox")},
        "first": {x: min(e["started"] for e, y in applied if y == x) for x in {y for _e, y in applied}},
        "pairs": dict(pairs),
        "words": dict(words),
        "not_found": sum(e["names"].count("ghost") for e in events),
    }


def _check(core, events, since, until, tz_name, bucket):
    tz = zone(tz_name)
    want = _expected(_within(events, since, until), tz, bucket)
    s = core.analytics.summary(since, until, tz_name=tz_name, bucket=bucket, top=100)
    where = (since, until, tz_name, bucket)
    assert {r["bucket"]: r["generations"] for r in s["timeline"]} == want["timeline"], where
    assert s["totals"]["generations"] == want["generations"], where
    assert s["totals"]["lora_failures"].get("not_found", 0) == want["not_found"], where
    assert {r["prompt_name"]: r["uses"] for r in s["most_used"]} == want["uses"], where
    assert {(p["a"], p["b"]): p["generations"] for p in s["co_usage"]} == want["pairs"], where
    assert {w["word"]: w["generations"] for w in s["top_triggers"]} == want["words"], where
    assert s["never_used"]["count"] == 1 + sum(1 for x in ("cat", "dog", "fox") if x not in want["uses"]), where
    items = {i["prompt_name"]: i for i in core.analytics.loras(since, until, limit=100)["items"]}
    assert {k: v["requests"] for k, v in items.items()} == want["requests"], where
    by_uses = sorted(items.values(), key=lambda i: (-i["uses"], i["prompt_name"]))
    page = core.analytics.loras(since, until, limit=2, offset=1)
    assert page["total"] == len(items) and page["items"] == by_uses[1:3], where
    assert core.analytics.loras(since, until, limit=2, offset=50)["total"] == len(items), where
    for name in want["uses"]:
        assert items[name]["weights"] == want["weights"][name], where
        assert items[name]["families"] == want["families"][name], where
        assert items[name]["first_used"] == want["first"][name].isoformat(), where
    return s


def _ranges(rng, count):
    out = [(None, None), (START + timedelta(days=3), None), (None, START + timedelta(days=9)),
           (START - timedelta(days=400, minutes=7), START + timedelta(days=3000))]  # clipped to the recorded days
    for _ in range(count):
        a = START + timedelta(minutes=rng.randrange(-60, 17 * 24 * 60), seconds=rng.randrange(60))
        out.append((a, a + timedelta(minutes=rng.randrange(30, 8 * 24 * 60))))
    return out


def test_any_range_and_zone_matches_the_raw_events(rec):
    core, events = rec
    rng = random.Random(11)
    for since, until in _ranges(rng, 6):
        for tz_name in rng.sample(ZONES, 3):
            _check(core, events, since, until, tz_name, rng.choice(("day", "day", "week", "month")))


def test_compaction_keeps_every_figure(rec):
    core, events = rec
    cutoff_days = 8  # raw events of the first ~week are deleted
    now = datetime(2026, 10, 22, tzinfo=timezone.utc) + timedelta(days=cutoff_days + 5)
    whole_days = [(None, None),
                  (datetime(2026, 10, 24, tzinfo=timezone.utc), datetime(2026, 10, 27, tzinfo=timezone.utc)),
                  (datetime(2026, 10, 25, tzinfo=timezone.utc), START + timedelta(days=10, minutes=7))]
    before = {(r, tz): core.analytics.summary(*r, tz_name=tz, top=100) for r in whole_days for tz in ZONES}
    per_lora = core.analytics.loras(limit=100)
    deleted = core.analytics.compact(5, now=now)
    assert deleted == len([e for e in events if e["started"] < now.replace(hour=0) - timedelta(days=5)]) > 0
    assert core.analytics.compact(5, now=now) == 0  # already done
    for (r, tz), old in before.items():
        new = core.analytics.summary(*r, tz_name=tz, top=100)
        assert new["range"]["raw_since"] is not None and new["range"]["exact"]
        for key in ("totals", "timeline", "most_used", "least_used", "never_used", "co_usage", "top_triggers"):
            assert new[key] == old[key], (r, tz, key)
    assert core.analytics.loras(limit=100) == per_lora
    for since, until in whole_days[1:]:
        _check(core, events, since, until, "Asia/Kolkata", "day")
    # a range that starts inside the compacted days widens to whole UTC days, and says so
    odd = core.analytics.summary(START + timedelta(days=1, hours=5), None)
    assert odd["range"]["exact"] is False


def test_one_lora(rec):
    core, events = rec
    cat = core.analytics.lora("cat")
    assert cat["uses"] == sum(1 for e in events if "cat" in e["names"])
    assert core.analytics.lora("nobody") is None and core.analytics.lora(10**6) is None
    assert core.analytics.lora(cat["id"]) == cat
    since = START + timedelta(days=2, hours=3)
    ranged = core.analytics.lora("cat", since=since)
    assert ranged["uses"] == sum(1 for e in _within(events, since, None) if "cat" in e["names"])


def test_migration_0007_backfills_days_and_triggers(tmp_path):
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import MetaData, Table, select

    from lora_manager.storage.engine import MIGRATIONS, make_engine, migrate
    from lora_manager.storage.rollups import DAY, HOUR, LDAY, TRIG
    from lora_manager.storage.usage_store import G, GL

    engine = make_engine(f"sqlite:///{tmp_path}/old.db")
    cfg = Config()
    cfg.set_main_option("script_location", MIGRATIONS)
    t = datetime(2026, 11, 1, 23, 50, tzinfo=timezone.utc)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0004")
        # the table as it is at 0004 (later migrations add columns the model has now)
        old = Table("loras", MetaData(), autoload_with=conn)
        conn.execute(old.insert().values(id=1, path="/x/old.safetensors", root="/x", folder="",
                                         file_name="old.safetensors",
                                         prompt_name="old_lora", ext=".safetensors", size=1, mtime_ns=1,
                                         companion_sig=0, state="ok", triggers='["sunset glow"]', training_tags="[]",
                                         source_tags="[]", meta="{}", sidecars="[]", previews="[]", preview_count=0,
                                         suggested="{}", search_text="", added_at=t, updated_at=t, offline=False))
        # and in the full-text index, as the store adds every row (a later migration rewrites its text)
        conn.exec_driver_sql("INSERT INTO loras_fts(rowid, search_text) VALUES (1, '')")
        for gid, minutes in ((1, 0), (2, 20)):
            conn.execute(G.insert().values(id=gid, started_at=t + timedelta(minutes=minutes), outcome="done",
                                           duration_ms=1000, prompt="a Sunset Glow, <lora:old_lora:0.5>"))
            conn.execute(GL.insert().values(generation_id=gid, position=0, prompt_name="old_lora", lora_id=1,
                                            applied=True, applied_unet=0.5, status="applied"))
    migrate(engine)
    with engine.connect() as conn:
        days = dict(conn.execute(select(DAY.c.day, DAY.c.n)).all())
        hours = conn.execute(select(HOUR.c.n)).scalars().all()
        lday = conn.execute(select(LDAY.c.uses, LDAY.c.sum_ms)).all()
        words = conn.execute(select(TRIG.c.word, TRIG.c.n)).all()
    engine.dispose()
    assert sorted(days.values()) == [1, 1] and sorted(hours) == [1, 1]  # 23:50 and 00:10 the next UTC day
    assert sorted(tuple(r) for r in lday) == [(1, 1000), (1, 1000)]
    assert [tuple(w) for w in words] == [("sunset glow", 2)]


def test_retention_setting_compacts_in_the_background(make_app, library):
    core = make_app(library, usage_retention_days=30)
    old = datetime.now(timezone.utc) - timedelta(days=90)
    core.recorder.record(GenerationEvent.from_prompt("<lora:ghost>", started_at=old, finished_at=old))
    core.recorder.record(GenerationEvent.from_prompt("new", started_at=old + timedelta(days=80), finished_at=old))
    assert core.recorder.flush(10)
    before = core.analytics.summary()
    stop = core.retention.start(every_s=0.05)
    import time

    deadline = time.monotonic() + 10
    while core.analytics.list_usage()["total"] != 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    after = core.analytics.summary()
    assert core.analytics.list_usage()["total"] == 1 and after["range"]["raw_since"] is not None
    assert {k: v for k, v in after.items() if k != "range"} == {k: v for k, v in before.items() if k != "range"}
