"""Update checks against the Civitai stand-in, on SQLite and PostgreSQL: which LoRAs have a newer
version (by date, then id), the version list, the list's filter, ETags, failures, the daily timer."""

from __future__ import annotations

import threading

import orjson
import pytest

from lora_manager.civitai.updates import newer
from lora_manager.errors import NotFound

from .civitai_dl_helpers import publish
from .civitai_dl_standin import DownloadStandin
from .loras import write_lora


@pytest.fixture
def civ():
    with DownloadStandin() as standin:
        yield standin


def _v(vid, at):
    return {"id": vid, "published_at": at}


def test_newer_is_by_date_then_by_id():
    versions = [_v(12, "2025-05-01T00:00:00.000Z"), _v(9, "2025-04-01T00:00:00.000Z"),
                _v(10, "2025-03-01T00:00:00.000Z"),
                _v(11, "2025-03-01T00:00:00.000Z"), _v(13, None), _v(8, "2025-01-01T00:00:00.000Z")]
    # 9 was published later despite its smaller id; 11 has 10's date and a larger id; 13 has no date
    assert [v["id"] for v in newer(versions, 10)] == [12, 9, 11, 13]
    assert [v["id"] for v in newer(versions, 12)] == [13]
    assert [v["id"] for v in newer(versions, 5)] == [12, 9, 10, 11, 13, 8]  # gone from Civitai: ids decide
    assert newer(versions, None) == []  # the LoRA's version is unknown: never an update


def _library(civ, library, tmp_path):
    """alice: version 10 of model 7 (11 and 12 are newer); bob: the newest of model 8; carol: no record."""
    publish(civ, tmp_path, versions=((12, "v3", "2025-05-01T00:00:00.000Z"), (11, "v2", "2025-04-01T00:00:00.000Z"),
                                     (10, "v1", "2025-01-01T00:00:00.000Z")))
    publish(civ, tmp_path, model_id=8, versions=((20, "only", "2025-02-01T00:00:00.000Z"),), name="Bob",
            file_name="bob.safetensors", seed=5)
    for name, vid in (("alice", 10), ("bob", 20)):
        write_lora(library / f"{name}.safetensors", family="xl", seed=vid)
        (library / f"{name}.civitai.info").write_bytes(orjson.dumps(civ.versions[vid]))
    write_lora(library / "carol.safetensors", seed=3)


def test_a_check_flags_loras_with_newer_versions_and_lists_them(make_app, library, civ, tmp_path):
    _library(civ, library, tmp_path)
    app = make_app(library, civitai_url=civ.url, civitai_rate=1000.0)
    app.scan()
    done = app.civitai_updates.check()
    assert done == {**done, "models": 2, "loras": 2, "failed": 0, "with_updates": 1, "error": None}
    items = app.civitai_updates.items()
    assert [i["lora"]["prompt_name"] for i in items] == ["alice"]
    alice = items[0]
    assert (alice["model_id"], alice["model_name"], alice["version_id"], alice["version_name"]) == (
        7,
        "A LoRA",
        10,
        "v1",
    )
    assert [v["id"] for v in alice["newer"]] == [12, 11] and [v["id"] for v in alice["versions"]] == [12, 11, 10]
    assert alice["newer"][0] == {"id": 12, "name": "v3", "base_model": "SDXL 1.0",
                                 "published_at": "2025-05-01T00:00:00.000Z",
                                 "file_name": "alice.safetensors", "size_kb": 144.5}
    assert [i["lora"]["prompt_name"] for i in app.civitai_updates.items(only_newer=False)] == ["alice", "bob"]
    assert app.civitai_updates.items(lora="bob")[0]["newer"] == []
    with pytest.raises(NotFound):
        app.civitai_updates.items(lora="carol")
    flagged = app.catalog.list(update_available=True)
    assert [e["prompt_name"] for e in flagged.items] == ["alice"] and flagged.total == 1
    assert sorted(e["prompt_name"] for e in app.catalog.list(update_available=False).items) == ["bob", "carol"]
    status = app.civitai_updates.status()
    assert (
        status["running"] is False and status["last_checked_at"] and status["next_check_at"] > status["last_checked_at"]
    )


def test_a_second_check_sends_etags_and_sees_a_new_version(make_app, library, civ, tmp_path):
    _library(civ, library, tmp_path)
    app = make_app(library, civitai_url=civ.url, civitai_rate=1000.0)
    app.scan()
    app.civitai_updates.check()
    app.civitai_updates.check()
    sent = [h.get("if-none-match") for _, p, h in civ.requests if p == "/api/v1/models/8"]
    assert sent[0] is None and sent[1]  # the second ask carried the ETag (answered 304)
    assert [i["lora"]["prompt_name"] for i in app.civitai_updates.items()] == ["alice"]
    publish(civ, tmp_path, model_id=8, versions=((21, "new", "2025-06-01T00:00:00.000Z"),
                                                 (20, "only", "2025-02-01T00:00:00.000Z")), name="Bob", seed=5)
    assert app.civitai_updates.check()["with_updates"] == 2
    assert [v["id"] for v in app.civitai_updates.items(lora="bob")[0]["newer"]] == [21]


def test_civitai_failing_keeps_what_was_known_and_gives_up_early(make_app, library, civ, tmp_path):
    _library(civ, library, tmp_path)
    app = make_app(library, civitai_url=civ.url, civitai_rate=1000.0)
    app.scan()
    app.civitai_updates.check()
    app.civitai_clients.get().backoff_s = 0.01
    civ.fail("/api/v1/models/", *([500] * 10))
    done = app.civitai_updates.check()
    assert done["failed"] == 2 and "HTTP 500" in done["error"]
    assert [i["lora"]["prompt_name"] for i in app.civitai_updates.items()] == ["alice"]  # from what was known


def test_a_removed_model_and_a_missing_file_drop_out(make_app, library, civ, tmp_path):
    _library(civ, library, tmp_path)
    app = make_app(library, civitai_url=civ.url, civitai_rate=1000.0)
    app.scan()
    app.civitai_updates.check()
    del civ.models[7]
    (library / "bob.safetensors").unlink()
    app.scan()
    assert app.civitai_updates.check() == {**app.civitai_updates.last, "models": 1, "with_updates": 0}
    assert app.civitai_updates.items(only_newer=False) == []


def test_the_background_check_runs_when_due_and_not_with_0_hours(make_app, library, civ, tmp_path):
    _library(civ, library, tmp_path)
    app = make_app(library, civitai_url=civ.url, civitai_rate=1000.0)
    app.scan()
    seen = threading.Event()
    app.civitai_updates.publish = lambda event: seen.set() if event["type"] == "civitai.updates" else None
    assert app.civitai_updates.start_background(first_delay_s=0) is not None
    assert seen.wait(30)
    assert len(civ.paths("/api/v1/models/")) == 2
    assert app.civitai_updates.next_check_at() is not None
    app.civitai_updates.hours = 0
    assert app.civitai_updates.start_background(first_delay_s=0) is None


def test_a_server_start_asks_civitai_nothing(make_app, library, civ, tmp_path):
    """The server's start-up (first scan, watcher, services) makes no request to Civitai: update checks wait for
    their timer, fetches for a person or a script."""
    from fastapi.testclient import TestClient

    from lora_manager.standalone.server import make_server_app

    _library(civ, library, tmp_path)
    app = make_app(library, civitai_url=civ.url, civitai_rate=1000.0, embed_model="off")
    with TestClient(make_server_app(app), base_url="http://127.0.0.1") as client:
        assert client.get("/lora-manager/v1/health").status_code == 200
        assert app.scans.wait(60)
        assert app.hasher.wait(60)
        assert client.get("/lora-manager/v1/civitai/status").status_code == 200
    assert civ.requests == []


def test_a_lora_known_only_by_a_fetch_is_checked_too(make_app, library, civ, tmp_path):
    """No sidecar names the model (sidecar writing off): the record a fetch by hash stored links the LoRA."""
    blobs = publish(civ, tmp_path, versions=((12, "v3", "2025-05-01T00:00:00.000Z"),
                                             (10, "v1", "2025-01-01T00:00:00.000Z")))
    (library / "alice.safetensors").write_bytes(blobs[10])
    app = make_app(library, civitai_url=civ.url, civitai_rate=1000.0, civitai_sidecars=False, civitai_previews=False)
    app.scan(wait_hashes=True)
    assert app.civitai_updates.check()["models"] == 0  # nothing known of it yet
    assert app.civitai.run(all_missing=True)["found"] == 1
    assert not list(library.glob("alice.civitai.info"))
    done = app.civitai_updates.check()
    assert (done["models"], done["loras"], done["with_updates"]) == (1, 1, 1)
    [item] = app.civitai_updates.items()
    assert item["lora"]["prompt_name"] == "alice"
