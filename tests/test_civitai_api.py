# ruff: noqa: F811 - pytest injects the fixtures imported from civitai_fixtures
"""The Civitai routes over a real library, database and the Civitai stand-in (in process)."""

from __future__ import annotations

import os

import pytest
from fastapi.testclient import TestClient

from lora_manager.standalone.app import create_app

from .civitai_fixtures import civ, civ_app, fast_retries  # noqa: F401

P = "/lora-manager/v1"
KEY = "sk-api-secret-321"


@pytest.fixture
def client(civ_app):
    app = civ_app(civitai_key=KEY)
    with TestClient(create_app(app)) as c:
        c.core = app
        yield c


def test_fetch_all_in_the_background_then_status_and_facts(client):
    before = client.get(f"{P}/civitai/status").json()
    assert before["running"] is False and before["library"] == {"found": 0, "not_found": 0, "lacking": 3}
    assert client.get(f"{P}/civitai/loras/alice").json() == {"status": "not_asked"}
    r = client.post(f"{P}/civitai/fetch", json={"all_missing": True})
    assert r.status_code == 202 and "running" in r.json()
    assert client.core.civitai.wait(30)
    status = client.get(f"{P}/civitai/status").json()
    assert status["last_run"]["status"] == "finished" and status["last_run"]["found"] == 2
    assert status["library"] == {"found": 2, "not_found": 1, "lacking": 0}
    facts = client.get(f"{P}/civitai/loras/alice").json()
    assert (facts["status"], facts["model_name"], facts["base_family"]) == ("found", "Alice", "xl")
    assert client.get(f"{P}/civitai/loras/carol").json()["status"] == "not_found"
    entry = client.get(f"{P}/loras/alice").json()
    assert [p["name"] for p in entry["previews"]] == ["alice.preview.png"]  # read back into the index
    sidecar = os.path.join(os.path.dirname(entry["path"]), "alice.civitai.info")
    everything = str(status) + str(facts) + client.get(f"{P}/system").text + open(sidecar).read()
    assert KEY not in everything and KEY not in repr(client.core.settings)


def test_fetch_by_keys_with_refresh_and_the_errors(client, civ):
    r = client.post(f"{P}/civitai/fetch", json={"keys": ["alice", "bob"], "refresh": True})
    assert r.status_code == 202 and r.json()["progress"]["mode"] == "ids"
    assert client.core.civitai.wait(30)
    assert client.get(f"{P}/civitai/status").json()["last_run"]["found"] == 2
    for body in ({}, {"keys": ["alice"], "all_missing": True}, {"keys": []}, {"all_missing": False}):
        bad = client.post(f"{P}/civitai/fetch", json=body)
        assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_input", body
    missing = client.post(f"{P}/civitai/fetch", json={"keys": ["nobody"]})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert client.get(f"{P}/civitai/loras/nobody").status_code == 404


def test_a_second_fetch_while_one_runs_is_a_conflict(client, civ):
    civ.slow_s = 3.0
    civ.fail("by-hash", "timeout")
    assert client.post(f"{P}/civitai/fetch", json={"all_missing": True}).status_code == 202
    again = client.post(f"{P}/civitai/fetch", json={"all_missing": True})
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"
    client.core.civitai.wait(60)
