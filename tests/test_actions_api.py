"""The library actions through the REST API (in process): folders, the trash, forget, bulk file actions,
previews uploaded (hostile, oversized and bomb images refused with nothing written) or taken from a
job, duplicates resolved, organize; every route behind the API key."""

from __future__ import annotations

import io
import os
import shutil

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from lora_manager.catalog.previews import MAX_BYTES
from lora_manager.jobs.queue import Job, JobRequest
from lora_manager.standalone.app import create_app

from .conftest import scan
from .loras import write_lora

P = "/lora-manager/v1"
KEY = {"X-API-Key": "sekrit"}


@pytest.fixture
def lib(make_app, library):
    app = make_app(library, api_key="sekrit")
    write_lora(library / "chars" / "alice.safetensors")
    write_lora(library / "bob.safetensors", family="xl", seed=2)
    scan(app)
    app.catalog.edit("alice", {"favorite": True})
    return app


@pytest.fixture
def client(lib):
    with TestClient(create_app(lib), headers=KEY) as c:
        yield c


def image(fmt: str = "PNG", size=(8, 6)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buf, fmt)
    return buf.getvalue()


def listing(root) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_every_action_route_demands_the_key(lib):
    with TestClient(create_app(lib)) as anon:
        for method, path in (("POST", "/folders"), ("POST", "/folders/rename"), ("POST", "/loras/alice/forget"),
                             ("DELETE", "/loras/alice"), ("GET", "/trash"), ("DELETE", "/trash"),
                             ("PUT", "/loras/alice/preview"), ("POST", "/loras/alice/preview/from-job"),
                             ("POST", "/duplicates/resolve"), ("POST", "/organize"), ("POST", "/loras/bulk")):
            assert anon.request(method, P + path).status_code == 401, (method, path)
    assert lib.catalog.get("alice")["state"] == "ok"


def test_folders_create_and_rename(client, library):
    r = client.post(f"{P}/folders", json={"root": str(library), "path": "new/sub"})
    assert r.status_code == 201 and r.json() == {"root": str(library), "path": "new/sub"}
    assert client.post(f"{P}/folders", json={"root": str(library), "path": "new/sub"}).status_code == 409
    assert client.post(f"{P}/folders", json={"root": str(library), "path": "../out"}).status_code == 422
    assert client.post(f"{P}/folders", json={"root": "/etc", "path": "x"}).status_code == 404
    assert not (library.parent / "out").exists()
    r = client.post(f"{P}/folders/rename", json={"root": str(library), "path": "chars", "new_name": "people"})
    assert r.status_code == 200 and r.json() == {"moved": 1}
    alice = client.get(f"{P}/loras/alice").json()
    assert alice["folder"] == "people" and alice["favorite"]


def test_trash_list_delete_for_good_and_empty(client, library):
    assert client.delete(f"{P}/loras/alice", params={"permanent": "true"}).status_code == 409
    trashed = client.delete(f"{P}/loras/alice").json()
    assert trashed["state"] == "trashed"
    page = client.get(f"{P}/trash").json()
    assert page["total"] == 1 and page["items"][0]["id"] == trashed["id"]
    r = client.delete(f"{P}/loras/alice", params={"permanent": "true"})
    assert r.status_code == 200 and r.json() == {"deleted": trashed["id"]}
    assert client.get(f"{P}/loras/{trashed['id']}").status_code == 404
    client.delete(f"{P}/loras/bob")
    assert client.delete(f"{P}/trash").json() == {"deleted": 1}
    assert client.get(f"{P}/trash").json()["total"] == 0
    assert listing(library) == ["chars"]


def test_forget_and_bulk_file_actions(client, lib, library):
    assert client.post(f"{P}/loras/bob/forget").status_code == 409
    (library / "bob.safetensors").unlink()
    scan(lib)
    bob_id = client.get(f"{P}/loras/bob").json()["id"]
    assert client.get(f"{P}/loras/bob").json()["state"] == "missing"
    r = client.post(f"{P}/loras/bulk", json={"keys": ["bob", "alice"], "action": "forget"})
    assert r.status_code == 200 and r.json()["changed"] == 1 and r.json()["skipped"][0]["id"] != bob_id
    assert client.get(f"{P}/loras/{bob_id}").status_code == 404
    r = client.post(f"{P}/loras/bulk", json={"keys": ["alice"], "action": "move", "value": "sorted"}).json()
    assert r == {"changed": 1, "skipped": []} and (library / "sorted" / "alice.safetensors").exists()
    r = client.post(f"{P}/loras/bulk", json={"keys": ["alice"], "action": "move", "value": "/etc"}).json()
    assert r["changed"] == 0 and r["skipped"][0]["reason"]
    client.delete(f"{P}/loras/alice")
    assert client.post(f"{P}/loras/bulk", json={"keys": ["alice"], "action": "restore"}).json()["changed"] == 1


def test_preview_upload_and_replace(client, lib, library):
    r = client.put(f"{P}/loras/alice/preview", content=image("PNG"), headers={"Content-Type": "image/png"})
    assert r.status_code == 200, r.text
    assert [p["name"] for p in r.json()["previews"]] == ["alice.preview.png"]
    again = client.put(f"{P}/loras/alice/preview", content=image("JPEG"), headers={"Content-Type": "image/jpeg"})
    assert again.status_code == 409
    r = client.put(f"{P}/loras/alice/preview", params={"replace": "true"}, content=image("JPEG"),
                   headers={"Content-Type": "image/jpeg"})
    assert [p["name"] for p in r.json()["previews"]] == ["alice.preview.jpg"]
    assert not (library / "chars" / "alice.preview.png").exists()
    assert client.get(f"{P}/loras/alice/previews/0").content[:2] == b"\xff\xd8"
    assert lib.catalog.get("alice")["favorite"]


def _bomb() -> bytes:
    buf = io.BytesIO()
    Image.new("1", (12000, 12000)).save(buf, "PNG")  # 144 megapixels in a few kilobytes
    return buf.getvalue()


@pytest.mark.parametrize("body,ctype,status", [
    (b"<html><script>alert(1)</script></html>", "image/png", 422),  # not an image
    (image("PNG")[:40], "image/png", 422),  # truncated
    (image("JPEG"), "image/png", 422),  # not what it says it is
    (image("GIF"), "image/png", 422),  # a type we do not write
    (image("PNG"), "text/html", 415),
    (b"", "image/png", 422),
    ("bomb", "image/png", 422),
    ("huge", "image/png", 413),
])
def test_hostile_uploads_write_nothing(client, library, body, ctype, status):
    if body == "bomb":
        body = _bomb()
    elif body == "huge":
        body = image("PNG") + b"\0" * MAX_BYTES
    before = listing(library)
    r = client.put(f"{P}/loras/bob/preview", content=body, headers={"Content-Type": ctype})
    assert r.status_code == status, r.text
    assert r.json()["error"]["message"]
    assert listing(library) == before


def test_preview_from_a_finished_job(client, lib, library):
    outputs = os.path.join(lib.settings.data_dir, "outputs")
    os.makedirs(outputs, exist_ok=True)
    made = os.path.join(outputs, "job-1.png")
    with open(made, "wb") as f:
        f.write(image("PNG"))
    elsewhere = library.parent / "elsewhere.png"
    elsewhere.write_bytes(image("PNG"))
    lib.jobs._jobs["j1"] = Job(id="j1", request=JobRequest(prompt="p"), prompt="p", status="done",
                               result={"images": [made, str(elsewhere)]})
    r = client.post(f"{P}/loras/bob/preview/from-job", json={"job_id": "j1", "index": 0})
    assert r.status_code == 200 and [p["name"] for p in r.json()["previews"]] == ["bob.preview.png"]
    assert client.post(f"{P}/loras/alice/preview/from-job", json={"job_id": "j1", "index": 1}).status_code == 404
    assert client.post(f"{P}/loras/alice/preview/from-job", json={"job_id": "nope"}).status_code == 404


def test_duplicates_resolve_and_organize(client, lib, library):
    shutil.copy(library / "chars" / "alice.safetensors", library / "copy.safetensors")
    scan(lib)
    copy_id = client.get(f"{P}/loras/copy").json()["id"]
    client.patch(f"{P}/loras/copy", json={"rating": 5})
    r = client.post(f"{P}/duplicates/resolve", json={"keep": "alice"}).json()
    assert r["trashed"] == [copy_id] and client.get(f"{P}/loras/alice").json()["rating"] == 5
    assert client.get(f"{P}/duplicates").json() == []
    before = listing(library)
    plan = client.post(f"{P}/organize", json={"template": "{base}/{type}"}).json()
    assert plan["dry_run"] and len(plan["moves"]) == 2 and listing(library) == before
    assert client.post(f"{P}/organize", json={"template": "{bad}"}).status_code == 422
    done = client.post(f"{P}/organize", json={"template": "{base}", "keys": ["bob"], "dry_run": False}).json()
    assert done["moved"] == 1 and done["moves"][0]["to"] == str(library / "SDXL" / "bob.safetensors")
