"""The REST API over a real library and database, in process (httpx ASGI transport)."""

from __future__ import annotations

import os

import pytest
from fastapi.testclient import TestClient

from lora_manager.standalone.app import create_app

from .conftest import scan
from .loras import write_lora

P = "/lora-manager/v1"


@pytest.fixture
def lib(app, library):
    write_lora(library / "chars" / "alice.safetensors",
               metadata={"modelspec.trigger_phrase": "alice",
                         "modelspec.thumbnail": "data:image/png;base64,iVBORw0KGgo="})
    write_lora(library / "bob.safetensors", family="xl", seed=2)
    (library / "bob.preview.png").write_bytes(b"\x89PNG\r\n\x1a\nfake")
    (library / "broken.safetensors").write_bytes(b"xx")
    scan(app)
    return app


@pytest.fixture
def client(lib):
    with TestClient(create_app(lib)) as c:
        yield c


def test_list_get_and_lookup_by_every_key(client, lib):
    r = client.get(f"{P}/loras", params={"sort": "name"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    body = r.json()
    assert body["total"] == 3 and [e["name"] for e in body["items"]] == ["alice", "bob", "broken"]
    alice = client.get(f"{P}/loras/alice").json()
    for key in (alice["id"], alice["sha256"], alice["autov2"], alice["autov3"], alice["sdnext_hash"],
                "alice.safetensors"):
        assert client.get(f"{P}/loras/{key}").json()["id"] == alice["id"]
    r = client.get(f"{P}/loras/nope")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_filters_fields_and_cursor(client):
    r = client.get(f"{P}/loras", params={"base": "xl", "fields": "name,prompt_name,base_model,triggers"}).json()
    assert r["items"] == [{"name": "bob", "prompt_name": "bob", "base_model": "xl", "triggers": []}]
    assert client.get(f"{P}/loras", params={"query": "ali"}).json()["total"] == 1
    assert client.get(f"{P}/loras", params={"broken": "true"}).json()["items"][0]["name"] == "broken"
    first = client.get(f"{P}/loras", params={"limit": 2}).json()
    rest = client.get(f"{P}/loras", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [e["name"] for e in first["items"] + rest["items"]] == ["alice", "bob", "broken"]
    assert rest["next_cursor"] is None
    bad = client.get(f"{P}/loras", params={"fields": "name,secret"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_input"


def test_edit_bulk_and_tags(client):
    r = client.patch(f"{P}/loras/bob",
                     json={"favorite": True, "notes": "n", "preferred_weight": 0.7, "tags": ["Style"]})
    assert r.status_code == 200 and (r.json()["favorite"], r.json()["tags"]) == (True, ["style"])
    assert client.post(
        f"{P}/loras/bulk", json={"keys": ["alice", "bob"], "action": "tag", "value": "shared"}
    ).json() == {"changed": 2}
    assert {"tag": "shared", "count": 2, "user": 2, "model": 0} in client.get(f"{P}/tags").json()
    before = client.get(f"{P}/loras/bob").json()
    for bad in ({"rating": 9}, {"favorite": "maybe"}, {"base_model": "sd99"}, {"unknown": 1},
                {"weight_min": 2, "weight_max": 1}):
        r = client.patch(f"{P}/loras/bob", json=bad)
        assert r.status_code == 422 and set(r.json()) == {"error"}, bad
    r = client.patch(f"{P}/loras/bob", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert client.get(f"{P}/loras/bob").json() == before


def test_move_trash_restore(client, library):
    r = client.post(f"{P}/loras/bob/move", json={"folder": "sorted", "name": "robert"})
    assert r.status_code == 200 and r.json()["prompt_name"] == "robert"
    assert (library / "sorted" / "robert.preview.png").exists()
    assert client.post(f"{P}/loras/robert/move", json={"folder": "../../etc"}).status_code == 422
    assert client.post(f"{P}/loras/robert/move", json={}).status_code == 400
    assert client.delete(f"{P}/loras/robert").json()["state"] == "trashed"
    assert client.delete(f"{P}/loras/robert").status_code == 409
    assert client.post(f"{P}/loras/robert/restore").json()["state"] == "ok"


def test_previews_and_cover(client, lib, tmp_path):
    r = client.get(f"{P}/loras/bob/previews/0")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png" and "max-age" in r.headers["cache-control"]
    assert client.get(f"{P}/loras/bob/previews/5").status_code == 404
    r = client.get(f"{P}/loras/alice/cover")
    assert r.status_code == 200 and r.content.startswith(b"\x89PNG")
    assert client.get(f"{P}/loras/bob/cover").status_code == 404


def test_preview_outside_the_roots_is_never_served(client, lib, library, tmp_path):
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"\x89PNG secret")
    os.remove(library / "bob.preview.png")
    os.symlink(secret, library / "bob.preview.png")
    assert client.get(f"{P}/loras/bob/previews/0").status_code == 404


def test_scans_hashing_system_duplicates(client, lib, library):
    import shutil

    shutil.copy(library / "bob.safetensors", library / "bob_copy.safetensors")
    r = client.post(f"{P}/scans")
    assert r.status_code in (202, 409)
    lib.scans.wait(60)
    lib.hasher.wait(60)
    last = client.get(f"{P}/scans/last").json()
    assert last["new"] == 1
    assert client.get(f"{P}/scans/current").json()["running"] is False
    groups = client.get(f"{P}/duplicates").json()
    assert len(groups) == 1 and {m["prompt_name"] for m in groups[0]["loras"]} == {"bob", "bob_copy"}
    h = client.get(f"{P}/hashing").json()
    assert h["pending_files"] == 0
    s = client.get(f"{P}/system").json()
    assert s["database"]["healthy"] and s["library"]["ok"] == 3 and s["version"]


def test_security_headers_and_body_limit(client):
    r = client.get(f"{P}/health")
    assert (
        r.headers["x-content-type-options"] == "nosniff"
        and "default-src 'none'" in r.headers["content-security-policy"]
    )
    r = client.patch(f"{P}/loras/bob", content=b'{"notes": "' + b"x" * (2 << 20) + b'"}',
                     headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"
    assert (
        "access-control-allow-origin"
        not in client.get(f"{P}/health", headers={"Origin": "http://evil.example"}).headers
    )


def test_unknown_route_is_json(client):
    r = client.get(f"{P}/nothing-here")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


@pytest.fixture
def keyed(make_app, library):
    write_lora(library / "k.safetensors")
    core = make_app(library, api_key="s3cret")
    scan(core)
    with TestClient(create_app(core)) as c:
        yield c


def test_api_key(keyed):
    assert keyed.get(f"{P}/health").status_code == 200
    r = keyed.get(f"{P}/loras")
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    assert keyed.get(f"{P}/loras", headers={"X-API-Key": "wrong"}).status_code == 401
    assert keyed.get(f"{P}/loras", headers={"X-API-Key": "s3cret"}).status_code == 200
    assert keyed.get(f"{P}/loras", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert keyed.patch(f"{P}/loras/k", json={"favorite": True}).status_code == 401


def test_cors_only_when_configured(make_app, library):
    core = make_app(library, cors_origins=["http://localhost:7860"])
    with TestClient(create_app(core)) as c:
        ok = c.get(f"{P}/health", headers={"Origin": "http://localhost:7860"})
        assert ok.headers["access-control-allow-origin"] == "http://localhost:7860"
        assert (
            "access-control-allow-origin" not in c.get(f"{P}/health", headers={"Origin": "http://evil.example"}).headers
        )


def test_chunked_body_over_the_limit(client):
    def chunks():
        for _ in range(40):
            yield b"x" * 65536

    r = client.patch(f"{P}/loras/bob", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_routes_answer_json_errors_on_a_bare_host_app(lib):
    """Inside a host, our routes join an app that has none of our exception handlers."""
    from fastapi import FastAPI

    from lora_manager.api.routes import register

    host = FastAPI()
    register(host.add_api_route, lib)
    with TestClient(host) as c:
        r = c.get(f"{P}/loras/does-not-exist")
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
        assert c.get(f"{P}/loras", params={"fields": "nope"}).status_code == 422
        assert c.get(f"{P}/loras/alice").json()["prompt_name"] == "alice"


def test_meta_names_the_families_and_the_field_sets(client):
    """The tab draws its menus and asks for its fields from this (also written into its page)."""
    from lora_manager.catalog.entry import ALL_FIELDS
    from lora_manager.library.basemodel import FAMILIES

    meta = client.get(f"{P}/meta").json()
    assert [f["id"] for f in meta["families"]] == list(FAMILIES) and all(f["label"] for f in meta["families"])
    assert {f["id"]: f["label"] for f in meta["families"]}["xl"] == "SDXL"
    fields = meta["fields"]
    assert set(fields["card"]) <= set(fields["list"]) <= set(fields["all"]) == set(ALL_FIELDS)
    cards = client.get(f"{P}/loras", params={"fields": ",".join(fields["card"])}).json()["items"]
    assert cards and all(set(item) == set(fields["card"]) for item in cards)
    assert all(set(item) == set(fields["list"]) for item in client.get(f"{P}/loras").json()["items"])
