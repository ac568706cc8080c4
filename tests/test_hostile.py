"""Regressions from a hostile-input review: every case answers clearly and loses nothing."""

from __future__ import annotations

import base64
import os
import threading

import pytest
from fastapi.testclient import TestClient

from lora_manager.standalone.app import create_app
from lora_manager.errors import Conflict, InvalidInput, NotFound

from .conftest import scan
from .loras import file_sha256, write_lora

P = "/lora-manager/v1"


@pytest.fixture
def lib(app, library):
    write_lora(library / "alice.safetensors", seed=1)
    write_lora(library / "bob.safetensors", seed=2)
    write_lora(library / "gone.safetensors", seed=3)
    scan(app)
    return app


@pytest.fixture
def client(lib):
    with TestClient(create_app(lib)) as c:
        yield c


def test_move_onto_a_missing_entrys_name_is_refused(lib, library):
    lib.catalog.edit("gone", {"notes": "keep me"})
    os.remove(library / "gone.safetensors")
    scan(lib)
    with pytest.raises(Conflict):
        lib.files.move("bob", None, "gone")
    assert (library / "bob.safetensors").exists() and not (library / "gone.safetensors").exists()
    assert lib.catalog.get("gone")["notes"] == "keep me"


def test_concurrent_moves_to_one_name_never_destroy_a_file(lib, library):
    digests = {file_sha256(library / n) for n in ("alice.safetensors", "bob.safetensors")}
    errors = []

    def move(key):
        try:
            lib.files.move(key, "t", "same")
        except Conflict as exc:
            errors.append(exc)

    threads = [threading.Thread(target=move, args=(k,)) for k in ("alice", "bob")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    files = [p for p in library.rglob("*.safetensors") if p.name != "gone.safetensors"]
    assert {file_sha256(p) for p in files} == digests and len(errors) == 1


def test_a_name_that_is_not_utf8_does_not_stop_the_scan(app, library):
    write_lora(library / "fine.safetensors")
    os.close(os.open(os.path.join(os.fsencode(library), b"bad\xffbyte.safetensors"), os.O_CREAT | os.O_WRONLY))
    report = scan(app)
    assert report.new == 1 and any("UTF-8" in e["error"] for e in report.errors)


def test_a_new_file_at_a_trashed_entrys_place_is_indexed(lib, library):
    lib.files.trash("alice")
    write_lora(library / "alice.safetensors", seed=42)
    report = scan(lib)
    assert report.new == 1
    states = sorted(e["state"] for e in lib.catalog.list(query="alice", state=None, limit=10).items)
    assert "ok" in states
    with pytest.raises(Conflict):
        lib.files.restore(lib.catalog.list(state="trashed").items[0]["id"])


def test_concurrent_bulk_tags_and_first_edits(lib):
    errors = []

    def work(i):
        try:
            lib.catalog.bulk(["alice"], "tag", "same")
            lib.catalog.edit("bob", {"rating": i % 5})
            lib.catalog.bulk(["alice", "bob"], "collect", "together")
        except Exception as exc:  # noqa: BLE001 - the test reports any failure
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert lib.catalog.get("alice")["tags"] == ["same"] and len(lib.catalog.collections()[0]["lora_ids"]) == 2


@pytest.mark.parametrize(
    "method,url,body",
    [
        ("GET", f"{P}/loras/%00", None),
        ("GET", f"{P}/loras?folder=%00", None),
        ("GET", f"{P}/loras?base=%00", None),
        ("GET", f"{P}/loras?query=%00", None),
        ("PATCH", f"{P}/loras/bob", {"notes": "a\u0000b"}),
        ("PATCH", f"{P}/loras/bob", {"tags": ["x\u0000"]}),
        ("PATCH", f"{P}/loras/bob", {"triggers": ["\u0000"]}),
        ("POST", f"{P}/loras/bulk", {"keys": ["bob"], "action": "collect", "value": "c\u0000"}),
        ("POST", f"{P}/loras/bob/move", {"folder": "a\u0000b"}),
        ("GET", f"{P}/loras/\u00b2", None),
        ("POST", f"{P}/loras/bulk", {"keys": ["\u00b2"], "action": "favorite"}),
        ("POST", f"{P}/loras/bob/move", {"folder": "alice.safetensors"}),
        ("POST", f"{P}/loras/bob/move", {"folder": "alice.safetensors/x"}),
        ("POST", f"{P}/loras/bob/move", {"folder": "x" * 300}),
        ("GET", f"{P}/loras?fields=,", None),
    ],
)
def test_hostile_requests_never_answer_500(client, method, url, body):
    before = client.get(f"{P}/loras/bob").json()
    r = client.request(method, url, json=body)
    assert r.status_code < 500, r.text
    if r.status_code >= 400:
        assert set(r.json()) == {"error"}
    after = client.get(f"{P}/loras/bob").json()
    if method != "GET":
        assert after == before


def test_lone_surrogates_are_refused(client):
    raw = b'{"tags": ["\\ud800"]}'
    r = client.patch(f"{P}/loras/bob", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 422
    r = client.post(f"{P}/loras/bulk", content=b'{"keys": ["\\ud800"], "action": "favorite"}',
                    headers={"content-type": "application/json"})
    assert r.status_code in (404, 422)


@pytest.mark.parametrize(
    "sort,raw",
    [
        ("name", b'["name", 1.5, true]'),
        ("name", b'["name", 1, 1]'),
        ("size", b'["size", "x", 1]'),
        ("added", b'["added", "x", 1]'),
        ("modified", b'["modified", "2020", 1]'),
        ("name", b'["name", "a", 9999999999999999999]'),
        ("name", b'["name", "a\\u0000", 1]'),
        ("name", b'{"not": "a list"}'),
    ],
)
def test_tampered_cursors_are_refused(client, sort, raw):
    cursor = base64.urlsafe_b64encode(raw).decode()
    r = client.get(f"{P}/loras", params={"cursor": cursor, "sort": sort})
    assert r.status_code == 422, r.text


def test_unicode_digits_are_not_ids(lib):
    with pytest.raises(NotFound):
        lib.catalog.get("\uff11")  # fullwidth 1


def test_weight_range_is_checked_against_stored_values(lib):
    lib.catalog.edit("bob", {"weight_min": 2})
    with pytest.raises(InvalidInput):
        lib.catalog.edit("bob", {"weight_max": 1})
    assert lib.catalog.get("bob")["weight_max"] is None


def test_a_symlinked_root_keeps_its_configured_path(make_app, tmp_path):
    real = tmp_path / "real"
    write_lora(real / "deep" / "s.safetensors")
    link = tmp_path / "linked"
    os.symlink(real, link)
    core = make_app(link)
    scan(core)
    e = core.files.move("s", "moved")
    assert e["path"] == str(link / "moved" / "s.safetensors") and e["root"] == str(link)
    assert scan(core).moved == 0
