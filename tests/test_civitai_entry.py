# ruff: noqa: F811 - pytest injects the fixtures imported from civitai_fixtures
"""A LoRA's entry carries Civitai's facts beside its own fields, and the preview's rating (the tab's blur)."""

from __future__ import annotations

import json
import os

import pytest
from fastapi.testclient import TestClient

from lora_manager.standalone.app import create_app

from .civitai_fixtures import civ, civ_app, fast_retries  # noqa: F401

P = "/lora-manager/v1"


@pytest.fixture
def client(civ_app):
    app = civ_app()
    with TestClient(create_app(app)) as c:
        c.core = app
        yield c


def test_the_entry_gains_a_civitai_object_beside_the_users_fields(client):
    before = client.get(f"{P}/loras/alice").json()
    assert before["civitai"] == {"status": "not_asked"}
    # the user's own fields first: Civitai's facts must not overwrite them
    mine = {"triggers": ["my word"], "notes": "mine", "tags": ["keep"], "base_model": "sd1", "preferred_weight": 0.6}
    assert client.patch(f"{P}/loras/alice", json=mine).status_code == 200
    assert client.post(f"{P}/civitai/fetch", json={"all_missing": True}).status_code == 202
    assert client.core.civitai.wait(30)
    entry = client.get(f"{P}/loras/alice").json()
    civ = entry["civitai"]
    assert (civ["status"], civ["model_name"], civ["version_name"], civ["creator"]) == ("found", "Alice", "v1.0",
                                                                                      "painter")
    assert (civ["base_model"], civ["base_family"], civ["model_id"], civ["version_id"]) == ("Pony", "xl", 7, 11)
    assert civ["trained_words"] == ["alice", "blue dress"] and civ["tags"] == ["character", "anime"]
    assert civ["page_url"].endswith("/models/7?modelVersionId=11")
    assert "<script" not in (civ["description_html"] or "") and "alert(1)" not in (civ["description"] or "")
    # the user's fields stand, the extracted ones are reported apart
    assert entry["triggers"] == ["my word"] and entry["user_triggers"] == ["my word"]
    assert (entry["notes"], entry["tags"], entry["base_model"], entry["preferred_weight"]) == ("mine", ["keep"],
                                                                                              "sd1", 0.6)
    assert entry["base_model_source"] == "user"
    assert client.get(f"{P}/loras/carol").json()["civitai"]["status"] == "not_found"
    # every answer with an entry carries it: an edit's too (the tab shows the detail from it)
    edited = client.patch(f"{P}/loras/alice", json={"rating": 4}).json()
    assert edited["civitai"]["model_name"] == "Alice" and edited["rating"] == 4
    # the schema names the object: the API's clients can rely on it
    schema = client.get("/openapi.json").json()["components"]["schemas"]
    assert schema["LoraDetail"]["properties"]["civitai"]["$ref"].endswith("/CivitaiFacts")


def test_the_preview_rating_is_the_image_we_took_not_the_first(client):
    """alice's first image is rated R (4); with the PG setting the fetch takes the second (PG), writes it as
    the preview and says so in its sidecar's mark: the card is not blurred for an image it does not show."""
    assert client.post(f"{P}/civitai/fetch", json={"keys": ["alice"]}).status_code == 202
    assert client.core.civitai.wait(30)
    entry = client.get(f"{P}/loras/alice").json()
    sidecar = os.path.join(os.path.dirname(entry["path"]), "alice.civitai.info")
    assert json.load(open(sidecar))["lora_manager"]["preview_nsfw_level"] == 1
    page = client.get(f"{P}/loras", params={"query": "alice"}).json()["items"]
    assert [(e["name"], e["nsfw_level"]) for e in page] == [("alice", 1)]


def test_a_sidecar_of_another_tool_gives_its_first_images_rating(make_app, library):
    """Civitai Helper downloads the first image as the preview: its rating is the preview's. A model only
    flagged NSFW counts as R; a sidecar that says nothing leaves the level unknown."""
    from .loras import write_lora

    write_lora(library / "first.safetensors", seed=1)
    write_lora(library / "flagged.safetensors", seed=2)
    write_lora(library / "plain.safetensors", seed=3)
    images = [{"url": "https://image.civitai.com/x/a.jpeg", "nsfwLevel": 8, "type": "image"},
              {"url": "https://image.civitai.com/x/b.jpeg", "nsfwLevel": 1, "type": "image"}]
    (library / "first.civitai.info").write_text(json.dumps({"id": 5, "modelId": 6, "images": images,
                                                            "model": {"name": "First", "nsfw": False}}))
    (library / "flagged.civitai.info").write_text(json.dumps({"id": 7, "modelId": 8, "images": [],
                                                              "model": {"name": "Flagged", "nsfw": True}}))
    app = make_app(library, embed_model="off")
    app.scan()
    levels = {e["name"]: e.get("nsfw_level") for e in app.catalog.list(limit=10).items}
    assert levels == {"first": 8, "flagged": 4, "plain": None}
