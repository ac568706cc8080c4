"""Recorded generations: stored off the caller's thread, listed through the API."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient

from lora_manager.standalone.app import create_app
from lora_manager.usage.recorder import GenerationEvent, Recorder

from .conftest import scan
from .loras import write_lora

P = "/lora-manager/v1"
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def lib(app, library):
    write_lora(library / "cat.style.safetensors", seed=1)
    write_lora(library / "dog.safetensors", seed=2)
    scan(app)
    return app


def _record(core, minutes, prompt, applied, outcome="done"):
    started = T0 + timedelta(minutes=minutes)
    core.recorder.record(GenerationEvent.from_prompt(
        prompt, started_at=started, finished_at=started + timedelta(seconds=3), outcome=outcome,
        checkpoint="m.safetensors",
        checkpoint_family="sd1", seed=42, steps=20, width=512, height=512, sampler="Euler", source="ui",
        applied=[{"name": n, "te": w, "unet": w} for n, w in applied]))


def test_events_are_stored_with_requested_and_applied(lib):
    _record(lib, 0, "a <lora:cat_style:0.8> cat <lora:ghost:1>", [("cat_style", 0.8)])
    _record(lib, 1, "<lora:dog:0.5:0.3> <lora:cat_style:0:0>", [("dog", 0.5)], outcome="interrupted")
    assert lib.recorder.flush(10)
    page = lib.analytics.list_usage()
    assert page["total"] == 2
    newest, oldest = page["items"]
    assert newest["outcome"] == "interrupted" and newest["duration_ms"] == 3000
    assert [(x["prompt_name"], x["status"], x["requested_te"], x["requested_unet"]) for x in newest["loras"]] == [
        ("dog", "applied", 0.5, 0.3), ("cat_style", "skipped", 0.0, 0.0)]
    statuses = {x["prompt_name"]: (x["status"], x["lora_id"] is not None) for x in oldest["loras"]}
    assert statuses == {"cat_style": ("applied", True), "ghost": ("not_found", False)}


def test_entries_carry_their_use_count_and_last_use(lib):
    _record(lib, 0, "<lora:cat_style:0.8>", [("cat_style", 0.8)])
    _record(lib, 5, "<lora:cat_style:0.6> <lora:dog:0>", [("cat_style", 0.6)])
    assert lib.recorder.flush(10)
    cat = lib.catalog.get("cat_style")
    assert cat["uses"] == 2 and cat["last_used"].startswith("2026-11-01T12:05")
    assert lib.catalog.get("dog")["uses"] == 0  # asked for at weight 0: skipped, not used
    page = lib.catalog.list(fields="prompt_name,uses")
    assert {e["prompt_name"]: e["uses"] for e in page.items} == {"cat_style": 2, "dog": 0}


def test_a_burst_of_events_is_stored_in_batches(lib):
    event = GenerationEvent.from_prompt("<lora:dog:1>", started_at=T0, finished_at=T0,
                                        applied=[{"name": "dog", "te": 1, "unet": 1}])
    for _ in range(200):
        lib.recorder.record(event)  # only enqueues; the writer thread stores them
    assert lib.recorder.flush(30) and lib.analytics.list_usage(limit=1)["total"] == 200
    assert lib.recorder.recorded == 200 and lib.recorder.dropped == 0


def test_a_database_outage_keeps_events_for_a_retry(lib):
    calls = {"n": 0}
    real = lib.recorder.usage_store.record_generations

    def flaky(rows):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("database went away")
        return real(rows)

    recorder = Recorder(type("S", (), {"record_generations": staticmethod(flaky)})())
    recorder.record(GenerationEvent.from_prompt("<lora:dog>", started_at=T0))
    assert recorder.flush(20)
    assert calls["n"] == 2 and lib.analytics.list_usage()["total"] == 1


def test_an_event_the_database_refuses_is_dropped_not_retried_forever(lib):
    bad = GenerationEvent.from_prompt("<lora:dog:1>", started_at=T0, finished_at=T0,
                                      applied=[{"name": "dog", "te": 1, "unet": [1, 1, 1]}])  # a list in a Float column
    good = GenerationEvent.from_prompt("<lora:dog:0.5>", started_at=T0, finished_at=T0,
                                       applied=[{"name": "dog", "te": 0.5, "unet": 0.5}])
    lib.recorder.record(bad)
    lib.recorder.record(good)
    assert lib.recorder.flush(20)
    assert lib.analytics.list_usage()["total"] == 1 and lib.recorder.dropped == 1
    lib.recorder.record(good)  # later events are not held back by the bad one
    assert lib.recorder.flush(20) and lib.analytics.list_usage()["total"] == 2


def test_usage_api_filters(lib):
    _record(lib, 0, "<lora:cat_style:0.8>", [("cat_style", 0.8)])
    _record(lib, 10, "<lora:dog>", [("dog", 1.0)])
    _record(lib, 20, "<lora:ghost>", [])
    lib.recorder.flush(10)
    with TestClient(create_app(lib)) as c:
        assert c.get(f"{P}/usage").json()["total"] == 3
        items = c.get(f"{P}/usage", params={"lora": "cat_style"}).json()["items"]
        assert [e["prompt"] for e in items] == ["<lora:cat_style:0.8>"]
        by_hash = lib.catalog.get("dog")["sha256"]
        assert c.get(f"{P}/usage", params={"lora": by_hash}).json()["total"] == 1
        assert c.get(f"{P}/usage", params={"lora": "ghost"}).json()["total"] == 1
        since = (T0 + timedelta(minutes=5)).isoformat()
        assert c.get(f"{P}/usage", params={"since": since}).json()["total"] == 2
        window = {"since": "2026-11-01T12:05:00", "until": "2026-11-01T12:15:00"}
        assert c.get(f"{P}/usage", params=window).json()["total"] == 1
        assert c.get(f"{P}/usage", params={"since": "yesterday"}).status_code == 422


def test_moments_in_answers_have_one_form(lib):
    """Every moment the API writes is ISO 8601 to the second, in UTC, with its offset (library/clock.py),
    whatever the database hands back (SQLite: naive; PostgreSQL: aware) and however precise it was stored."""
    import re

    started = T0 + timedelta(minutes=5, microseconds=123456)
    lib.recorder.record(GenerationEvent.from_prompt("<lora:cat_style:0.8>", started_at=started, outcome="done",
                                                    applied=[{"name": "cat_style", "te": 0.8, "unet": 0.8}]))
    assert lib.recorder.flush(10)
    form = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$")
    with TestClient(create_app(lib)) as c:
        entry = c.get(f"{P}/loras/cat_style").json()
        event = c.get(f"{P}/usage").json()["items"][0]
        figures = c.get(f"{P}/analytics/loras").json()["items"][0]
        summary = c.get(f"{P}/analytics/summary", params={"since": "2026-11-01T12:00:00.5"}).json()
    moments = [entry["added_at"], entry["last_used"], event["started_at"], figures["first_used"], figures["last_used"],
               summary["range"]["since"]]
    assert all(form.match(m) for m in moments), moments
    assert event["started_at"] == entry["last_used"] == "2026-11-01T12:05:00+00:00"
