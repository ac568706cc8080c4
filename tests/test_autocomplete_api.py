"""The autocomplete index route: columns, versions and 304s, usage and the host's checkpoint family;
and the standalone server's read-only page assets."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from fastapi.testclient import TestClient

from lora_manager.standalone.app import create_app, extension_assets
from lora_manager.host.model_family import family_of_model_type
from lora_manager.usage.recorder import GenerationEvent

from .conftest import scan
from .loras import write_lora

P = "/lora-manager/v1"


@pytest.fixture
def lib(app, library):
    write_lora(library / "chars" / "alice.v2.safetensors", metadata={
        "modelspec.trigger_phrase": "alice, blue hair", "modelspec.title": "Alice Wonder",
        "ss_output_name": "alice_final"})
    write_lora(library / "bob.safetensors", family="xl", seed=2)
    (library / "bob.preview.png").write_bytes(b"\x89PNG\r\n\x1a\nfake")
    write_lora(library / "cover.safetensors", seed=3,
               metadata={"modelspec.thumbnail": "data:image/png;base64,iVBORw0KGgo="})
    (library / "broken.safetensors").write_bytes(b"xx")
    scan(app)
    return app


@pytest.fixture
def client(lib):
    with TestClient(create_app(lib)) as c:
        yield c


def _rows(body):
    cols = body["columns"]
    return {name: {k: cols[k][i] for k in cols} for i, name in enumerate(cols["prompt_name"])}


def test_index_columns(client):
    r = client.get(f"{P}/autocomplete")
    assert r.status_code == 200 and r.headers["etag"] == f'"{r.json()["version"]}"'
    assert "no-cache" in r.headers["cache-control"]
    body = r.json()
    rows = _rows(body)
    assert body["count"] == 3 and set(rows) == {"alice_v2", "bob", "cover"}  # broken files are left out
    assert body["checkpoint_family"] is None
    alice = rows["alice_v2"]
    assert ((alice["name"], alice["title"], alice["alias"], alice["base"])
            == ("alice.v2", "Alice Wonder", "alice_final", "sd1"))
    assert alice["triggers"] == ["alice", "blue hair"] and alice["preview"] is None and alice["uses"] == 0
    assert (rows["bob"]["name"], rows["bob"]["base"], rows["bob"]["preview"]) == (None, "xl", 0)
    assert rows["cover"]["preview"] == "cover"
    assert client.get(f"{P}/loras/{rows['bob']['id']}/previews/{rows['bob']['preview']}").status_code == 200
    assert client.get(f"{P}/loras/{rows['cover']['id']}/cover").status_code == 200


def test_unchanged_is_304_and_an_edit_changes_the_version(client):
    first = client.get(f"{P}/autocomplete")
    etag = first.headers["etag"]
    for header in (etag, "W/" + etag, f'"other", {etag}', "*"):
        again = client.get(f"{P}/autocomplete", headers={"If-None-Match": header})
        assert again.status_code == 304 and again.headers["etag"] == etag and again.content == b""
    assert client.get(f"{P}/autocomplete", headers={"If-None-Match": '"stale"'}).status_code == 200
    edit = {"preferred_weight": 0.7, "tags": ["Style"], "triggers": ["bobby"]}
    assert client.patch(f"{P}/loras/bob", json=edit).status_code == 200
    changed = client.get(f"{P}/autocomplete", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    bob = _rows(changed.json())["bob"]
    assert (bob["weight"], bob["tags"], bob["triggers"]) == (0.7, ["style"], ["bobby"])
    assert client.patch(f"{P}/loras/bob", json={"base_model": "sd1"}).status_code == 200
    assert _rows(client.get(f"{P}/autocomplete").json())["bob"]["base"] == "sd1"


def test_usage_counts_and_last_use_come_from_the_rollups(client, lib):
    when = datetime(2026, 5, 1, 12, 0, tzinfo=timezone.utc)
    for _ in range(3):
        lib.recorder.record(GenerationEvent.from_prompt("<lora:bob:0.8> <lora:alice_v2>", started_at=when,
                                                        finished_at=when, outcome="done",
                                                        applied=[{"name": "bob", "te": 0.8, "unet": 0.8}]))
    assert lib.recorder.flush(10)
    rows = _rows(client.get(f"{P}/autocomplete").json())
    assert (rows["bob"]["uses"], rows["bob"]["last_used"]) == (3, int(when.timestamp()))
    assert rows["alice_v2"]["uses"] == 0  # asked for, never applied


def test_the_loaded_checkpoint_family_is_part_of_the_version(client, lib):
    first = client.get(f"{P}/autocomplete")
    lib.host_model_family = lambda: "xl"
    r = client.get(f"{P}/autocomplete", headers={"If-None-Match": first.headers["etag"]})
    assert r.status_code == 200 and r.json()["checkpoint_family"] == "xl"
    lib.host_model_family = lambda: 1 / 0  # a failing host reads as unknown
    assert client.get(f"{P}/autocomplete").json()["checkpoint_family"] is None


@pytest.mark.parametrize("kind, family", [("sdxl", "xl"), ("sd3", "sd3"), ("f1", "f1"), ("none", None), ("ldm", None),
                                          ("mystery", None), (None, None), ("flux", "f1")])
def test_host_model_types_map_to_families(kind, family):
    assert family_of_model_type(kind) == family


def test_sd_means_sd1_or_sd2_by_the_unet_width():
    from types import SimpleNamespace as NS

    assert family_of_model_type("sd", NS(unet=NS(config=NS(cross_attention_dim=1024)))) == "sd2"
    assert family_of_model_type("sd", NS(unet=NS(config=NS(cross_attention_dim=768)))) == "sd1"
    assert family_of_model_type("sd") == "sd1"


def test_assets_are_an_allow_list(client):
    assets = extension_assets()
    assert "lora_manager_autocomplete.js" in assets and "style.css" in assets
    js = client.get("/lora-manager/assets/lora_manager_autocomplete.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert "loraManagerAutocomplete" in js.text
    css = client.get("/lora-manager/assets/style.css")
    assert css.status_code == 200 and "/* ---- autocomplete ---- */" in css.text
    for bad in ("../README.md", "..%2FREADME.md", "%2e%2e%2fpyproject.toml", "README.md", "browser.py", "x.js", ".git"):
        assert client.get(f"/lora-manager/assets/{bad}").status_code == 404, bad
    assert "/lora-manager/assets/{name}" not in client.get("/openapi.json").json()["paths"]
