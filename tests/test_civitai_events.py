# ruff: noqa: F811 - pytest injects the fixtures imported from civitai_fixtures
"""The Civitai events reach the progress stream (GET /events) of a real server: a fetch of several LoRAs
(civitai.started, civitai.progress, civitai.finished) and a download (civitai.download), with their fields."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from .browser import ThreadServer
from .civitai_dl_helpers import publish
from .civitai_dl_standin import DownloadStandin
from .civitai_fixtures import fast_retries, publish_alice, publish_bob_autov2_only  # noqa: F401
from .loras import write_lora

P = "/lora-manager/v1"
COUNTS = ("found", "not_found", "failed")


@pytest.fixture
def server(make_app, library, tmp_path):
    """alice (found by SHA-256), bob (found by AutoV2), carol (not on Civitai), hashed; and a LoRA to download.
    The stand-in serves both the records and the downloads."""
    with DownloadStandin() as civ:
        paths = {n: write_lora(library / f"{n}.safetensors", seed=i, family=fam)
                 for i, (n, fam) in enumerate((("alice", "xl"), ("bob", "sd1"), ("carol", "sd1")))}
        publish_alice(civ, paths["alice"])
        publish_bob_autov2_only(civ, paths["bob"])
        blobs = publish(civ, tmp_path, model_id=30, versions=((31, "v1", "2025-03-01T12:00:00.000Z"),),
                        name="Dana", file_name="dana.safetensors", seed=5)
        app = make_app(library, civitai_url=civ.url, civitai_rate=1000.0, civitai_timeout=5.0, embed_model="off")
        app.scan(wait_hashes=True)
        srv = ThreadServer(app)
        srv.blobs, srv.core = blobs, app
        try:
            yield srv
        finally:
            srv.stop()


def _events(base: str, start, until) -> list[dict]:
    """The stream's events from its hello on: `start(client)` once the hello came, until `until(event)`."""
    events: list[dict] = []
    deadline = time.monotonic() + 60  # a bound against a hang, not a timing assert
    with httpx.Client(base_url=base, timeout=30) as client:
        with client.stream("GET", P + "/events", params={"heartbeat": 1}) as stream:
            for line in stream.iter_lines():
                assert time.monotonic() < deadline, [e["type"] for e in events]
                if not line.startswith("data: "):
                    continue
                events.append(json.loads(line[6:]))
                if events[-1]["type"] == "hello":
                    start(client)
                elif until(events[-1]):
                    return events
    raise AssertionError("the stream ended early")


def test_a_fetch_of_several_loras_reports_its_progress_on_the_stream(server):
    def start(client):
        r = client.post(P + "/civitai/fetch", json={"all_missing": True})
        assert r.status_code == 202

    events = _events(server.base, start, lambda e: e["type"] in ("civitai.finished", "civitai.failed"))
    civ = [e for e in events if e["type"].startswith("civitai.")]
    kinds = [e["type"] for e in civ]
    assert kinds[0] == "civitai.started" and kinds[-1] == "civitai.finished", kinds
    assert set(kinds[1:-1]) == {"civitai.progress"}  # at least one: the first outcome is always told
    started, progress, finished = civ[0], civ[1:-1], civ[-1]
    assert (started["mode"], started["refresh"], started["reason"]) == ("all_missing", False, "api")
    assert (started["total"], started["done"]) == (3, 0)
    ids = {server.core.catalog.get(n)["id"] for n in ("alice", "bob", "carol")}
    done = 0
    for p in progress:
        assert p["total"] == 3 and 1 <= p["done"] <= 3 and p["done"] >= done
        assert sum(p[k] for k in COUNTS) == p["done"] and p["failed"] == 0 and p["requests"] >= 1
        assert p["mode"] == "all_missing" and isinstance(p["current"], int)
        assert p["current"] in ids
        done = p["done"]
    assert (finished["status"], finished["total"], finished["done"]) == ("finished", 3, 3)
    assert (finished["found"], finished["not_found"], finished["failed"], finished["requests"]) == (2, 1, 0, 8)
    assert finished["current"] is None and finished["stopped_reason"] is None
    seqs = [e["seq"] for e in civ]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


def test_a_download_reports_its_job_on_the_stream(server):
    job_id: list[str] = []

    def start(client):
        r = client.post(P + "/civitai/downloads", json={"ref": "urn:air:sdxl:lora:civitai:30@31"})
        assert r.status_code == 202
        job_id.append(r.json()["id"])

    def until(event):
        return event["type"] == "civitai.download" and event["job"]["state"] in ("done", "failed", "cancelled")

    events = _events(server.base, start, until)
    jobs = [e["job"] for e in events if e["type"] == "civitai.download"]
    assert {j["id"] for j in jobs} == set(job_id)
    states = [j["state"] for j in jobs]
    assert states[0] == "queued" and "running" in states and states[-1] == "done", states
    order = {"queued": 0, "running": 1, "done": 2}
    assert [order[s] for s in states] == sorted(order[s] for s in states)  # never back to an earlier state
    size = len(server.blobs[31])
    for j in jobs:
        assert j["ref"] == "urn:air:sdxl:lora:civitai:30@31" and j["model_id"] == 30
        if j["progress"] is not None:
            assert 0.0 <= j["progress"] <= 1.0 and (j["done_bytes"] or 0) <= j["size"]
    last = jobs[-1]
    assert (last["version_id"], last["version_name"], last["model_name"]) == (31, "v1", "Dana")
    assert last["file_name"] == "dana.safetensors" and last["target"].endswith("/dana.safetensors")
    assert last["done_bytes"] == last["size"] == size and last["progress"] == 1.0
    assert last["lora_id"] and last["error"] is None and last["error_code"] is None
    listed = httpx.get(server.base + P + "/civitai/downloads").json()["items"]
    assert [(j["id"], j["state"], j["lora_id"]) for j in listed] == [(last["id"], "done", last["lora_id"])]
