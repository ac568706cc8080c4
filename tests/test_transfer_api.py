"""The backup, restore, export, import and sidecar routes, as a client uses them: behind the API key when
one is set, an uploaded archive bigger than the usual body cap accepted, a bad one refused with 400."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lora_manager.standalone.app import create_app

from .transfer_helpers import fill, open_app, write_library

P = "/lora-manager/v1"
KEY = {"X-API-Key": "sekrit"}


@pytest.fixture
def client(tmp_path):
    root = tmp_path / "lib"
    write_library(root)
    core = open_app(root, tmp_path / "data", f"sqlite:///{tmp_path}/library.db", api_key="sekrit")
    fill(core)
    core.settings.max_body_bytes = 2000  # the usual cap, far below an archive: the import route has its own
    with TestClient(create_app(core)) as c:
        c.core = core
        yield c
    core.close()


def test_every_route_demands_the_key(client):
    for method, path in (("get", "/backups"), ("post", "/backups"), ("post", "/backups/restore"), ("post", "/export"),
                         ("post", "/import"), ("post", "/import/sidecars"), ("post", "/sidecars/write")):
        assert getattr(client, method)(P + path).status_code == 401, path
    assert not client.core.transfer.backups.list()


def test_backup_list_restore(client):
    taken = client.post(P + "/backups", headers=KEY)
    assert taken.status_code == 201 and taken.json()["counts"]["loras"] == 3
    listed = client.get(P + "/backups", headers=KEY).json()
    assert [b["name"] for b in listed["items"]] == [taken.json()["name"]] and listed["keep"] == [7, 4]
    client.patch(P + "/loras/alice", json={"notes": "after"}, headers=KEY)
    dry = client.post(P + "/backups/restore", json={"name": taken.json()["name"], "dry_run": True}, headers=KEY).json()
    assert dry["restored"] is False and client.get(P + "/loras/alice", headers=KEY).json()["notes"] == "after"
    done = client.post(P + "/backups/restore", json={"name": taken.json()["name"]}, headers=KEY).json()
    assert done["restored"] and client.get(P + "/loras/alice", headers=KEY).json()["notes"] == "my best"
    for name in ("../library.db", "/etc/passwd", "nope.db"):
        r = client.post(P + "/backups/restore", json={"name": name}, headers=KEY)
        assert r.status_code in (404, 422), (name, r.status_code)


def test_export_then_import_the_upload(client, monkeypatch):
    r = client.post(P + "/export", json={"what": ["userdata", "collections", "usage"]}, headers=KEY)
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(r.content)).namelist()
    assert {"manifest.json", "loras.json", "userdata.json", "collections.json", "usage.jsonl"} == set(names)
    assert len(r.content) > client.core.settings.max_body_bytes
    assert not list((Path(client.core.settings.data_dir) / "exports").glob("*.zip")), "the temporary archive is gone"
    client.patch(P + "/loras/alice", json={"notes": None, "favorite": False}, headers=KEY)
    zip_headers = {**KEY, "Content-Type": "application/zip"}
    dry = client.post(P + "/import?dry_run=true", content=r.content, headers=zip_headers)
    assert dry.status_code == 200 and dry.json()["dry_run"] and dry.json()["counts"]["updated"] == 1
    done = client.post(P + "/import?on_conflict=keep", content=r.content, headers=zip_headers).json()
    assert done["backup"] and client.get(P + "/loras/alice", headers=KEY).json()["notes"] == "my best"
    bad = client.post(P + "/import", content=b"PK\x03\x04junk", headers=zip_headers)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_archive"
    assert "uploaded file" in bad.json()["error"]["message"]
    wrong = client.post(P + "/import", content=r.content, headers={**KEY, "Content-Type": "text/plain"})
    assert wrong.status_code == 415


def test_peer_import_and_sidecar_write(client):
    r = client.post(P + "/sidecars/write", json={"dry_run": True}, headers=KEY).json()
    assert r["written"] == 2 and r["dry_run"]
    assert client.post(P + "/sidecars/write", json={}, headers=KEY).json()["written"] == 2
    back = client.post(P + "/import/sidecars", json={"source": "sdnext"}, headers=KEY).json()
    assert back["dry_run"] and back["counts"]["unchanged"] == 2 and back["files"]["read"] == 2
    assert client.post(P + "/import/sidecars", json={"source": "elsewhere"}, headers=KEY).status_code == 422


def test_an_exported_settings_part_carries_no_secret(tmp_path):
    """Keys and addresses that may carry a password never leave in an archive (a backup goes to other disks)."""
    from lora_manager.settings import Settings
    from lora_manager.transfer.export import settings_snapshot

    settings = Settings(lora_dirs=[str(tmp_path)], data_dir=str(tmp_path / "d"), api_key="k-api",
                        civitai_key="k-civitai", db_url="postgresql://u:pw@127.0.0.1/x", redis_url="redis://:pw@h:1/0")
    snap = settings_snapshot(settings)
    assert {"api_key", "civitai_key", "db_url", "redis_url"}.isdisjoint(snap)
    text = repr(snap)
    assert not any(secret in text for secret in ("k-api", "k-civitai", "pw@"))
    assert snap["civitai_url"] == "https://civitai.com"  # the rest is kept
