"""The Civitai update and download routes over the stand-in: answers, error bodies, the list's filter."""

from __future__ import annotations

import time

import orjson
import pytest
from fastapi.testclient import TestClient

from lora_manager.app import build
from lora_manager.settings import Settings
from lora_manager.standalone.app import create_app

from .civitai_dl_helpers import KEY, publish
from .civitai_dl_standin import DownloadStandin
from .loras import write_lora

P = "/lora-manager/v1"


@pytest.fixture
def civ():
    with DownloadStandin() as standin:
        yield standin


@pytest.fixture
def api(tmp_path, civ):
    root = tmp_path / "lib"
    root.mkdir()
    core = build(Settings(lora_dirs=[str(root)], data_dir=str(tmp_path / "data"), civitai_url=civ.url,
                          civitai_key=KEY, civitai_rate=1000.0))
    with TestClient(create_app(core)) as client:
        client.core = core
        client.root = root
        yield client
    core.close()


def _until(api, job_id: str, states=("done", "failed", "cancelled", "paused")) -> dict:
    deadline = time.monotonic() + 30
    while True:
        job = next(j for j in api.get(f"{P}/civitai/downloads").json()["items"] if j["id"] == job_id)
        if job["state"] in states:
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.05)


def test_a_download_through_the_api(api, civ, tmp_path):
    blobs = publish(civ, tmp_path)
    r = api.post(f"{P}/civitai/downloads", json={"ref": "urn:air:sdxl:lora:civitai:7@11"})
    assert r.status_code == 202 and r.json()["state"] in ("queued", "running")
    job = _until(api, r.json()["id"])
    assert job["state"] == "done" and job["progress"] == 1.0 and job["size"] == len(blobs[11])
    listing = api.get(f"{P}/civitai/downloads").json()
    assert listing["workers"] == 1 and [j["id"] for j in listing["items"]] == [job["id"]]
    lora = api.get(f"{P}/loras/{job['lora_id']}").json()
    assert lora["path"] == job["target"] and lora["file_name"] == "alice.safetensors"
    r = api.post(f"{P}/civitai/downloads/{job['id']}/pause")
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"
    assert api.delete(f"{P}/civitai/downloads/{job['id']}").json()["state"] == "done"
    assert api.get(f"{P}/civitai/downloads").json()["items"] == []
    for method, path in (("post", "/pause"), ("post", "/resume"), ("delete", "")):
        r = getattr(api, method)(f"{P}/civitai/downloads/{job['id']}{path}")
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_bad_requests_are_refused_with_the_usual_error_body(api, civ, tmp_path):
    for body in ({"ref": "https://example.com/models/1"}, {"ref": "11", "folder": "../up"}, {"ref": "11", "x": 1},
                 {"ref": "11", "update": {"replace": True}}):
        r = api.post(f"{P}/civitai/downloads", json=body)
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_input", body
    r = api.post(f"{P}/civitai/downloads", json={"ref": "11", "folder": str(tmp_path)})
    assert r.status_code == 422 and "inside a library root" in r.json()["error"]["message"]
    r = api.post(f"{P}/civitai/downloads", json={"ref": "11", "update": {"of": "nobody", "replace": True}})
    assert r.status_code == 404
    assert api.get(f"{P}/civitai/downloads").json()["items"] == [] and civ.requests == []


def test_a_gated_download_fails_with_its_reason(api, civ, tmp_path):
    publish(civ, tmp_path)
    civ.refuse[11] = 401
    job = _until(api, api.post(f"{P}/civitai/downloads", json={"ref": "11"}).json()["id"])
    assert job["state"] == "failed" and job["error_code"] == "gated" and KEY not in job["error"]
    r = api.post(f"{P}/civitai/downloads/{job['id']}/resume")
    assert r.status_code == 200 and r.json()["state"] in ("queued", "running")
    assert _until(api, job["id"])["error_code"] == "gated"


def test_updates_through_the_api_and_the_list_filter(api, civ, tmp_path):
    publish(civ, tmp_path, versions=((11, "v2", "2025-05-01T00:00:00.000Z"), (10, "v1", "2025-01-01T00:00:00.000Z")))
    write_lora(api.root / "alice.safetensors", family="xl", seed=1)
    (api.root / "alice.civitai.info").write_bytes(orjson.dumps(civ.versions[10]))
    write_lora(api.root / "other.safetensors", seed=2)
    api.core.scan()
    before = api.get(f"{P}/civitai/updates").json()
    assert before["items"] == [] and before["status"]["last_checked_at"] is None
    r = api.post(f"{P}/civitai/updates/check")
    assert r.status_code == 202 and r.json()["every_hours"] == 24
    deadline = time.monotonic() + 30
    while api.get(f"{P}/civitai/updates").json()["status"]["running"] or not api.get(
            f"{P}/civitai/updates").json()["status"]["last_checked_at"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    page = api.get(f"{P}/civitai/updates").json()
    assert [(i["lora"]["prompt_name"], [v["id"] for v in i["newer"]]) for i in page["items"]] == [("alice", [11])]
    assert page["status"]["last"]["with_updates"] == 1
    assert [e["prompt_name"] for e in api.get(f"{P}/loras?update_available=true").json()["items"]] == ["alice"]
    assert [e["prompt_name"] for e in api.get(f"{P}/loras?update_available=false").json()["items"]] == ["other"]
    assert api.get(f"{P}/civitai/updates?lora=other").status_code == 404
    assert api.get(f"{P}/civitai/updates?lora=alice").json()["items"][0]["version_name"] == "v1"


def test_cancelling_a_running_download_through_the_route_removes_its_partial_file(api, civ, tmp_path):
    import os

    from .civitai_dl_helpers import files_under

    publish(civ, tmp_path)
    civ.hold_at = 50_000  # the delivery sends this much, then waits: the download is running mid-body
    job_id = api.post(f"{P}/civitai/downloads", json={"ref": "11"}).json()["id"]
    assert civ.held.wait(20)
    part = os.path.join(api.core.settings.data_dir, "downloads", f"{job_id}.part")
    deadline = time.monotonic() + 30  # a bound against a hang
    while not (os.path.exists(part) and os.path.getsize(part) > 0):
        assert time.monotonic() < deadline, "no partial file"
        time.sleep(0.02)
    running = next(j for j in api.get(f"{P}/civitai/downloads").json()["items"] if j["id"] == job_id)
    assert running["state"] == "running"
    r = api.delete(f"{P}/civitai/downloads/{job_id}")
    assert r.status_code == 200 and r.json()["id"] == job_id and r.json()["state"] == "cancelling"
    job = _until(api, job_id, ("cancelled", "done", "failed", "paused"))
    civ.release.set()
    assert job["state"] == "cancelled" and job["lora_id"] is None and job["error_code"] is None
    assert not os.path.exists(part) and os.listdir(os.path.dirname(part)) == []
    assert files_under(api.root) == []  # nothing landed in the library either
    assert api.get(f"{P}/loras").json()["total"] == 0
    r = api.post(f"{P}/civitai/downloads/{job_id}/pause")
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"
    r = api.delete(f"{P}/civitai/downloads/{job_id}")  # a finished job: forgotten
    assert r.status_code == 200 and r.json()["state"] == "cancelled"
    assert api.get(f"{P}/civitai/downloads").json()["items"] == []
