"""A list page carries what a card or row shows; the rest comes with one entry or `fields=`."""

from __future__ import annotations

import orjson
from fastapi.testclient import TestClient

from lora_manager.standalone.app import create_app
from lora_manager.demo.files import generate_library

P = "/lora-manager/v1"
HEAVY = ("training_tags", "sidecars", "description", "sha256", "tensor_sha256", "autov2", "autov3", "sdnext_hash",
         "header_hash", "legacy_hash", "path", "root", "source_tags", "extracted_triggers")


def test_a_page_of_100_is_small_and_the_rest_is_one_request_away(library, make_app):
    generate_library(str(library), 110, seed=3, broken_ratio=0.0, data_bytes=2_000, sidecar_ratio=1.0)
    app = make_app(library)
    app.scan(wait_hashes=True)
    with TestClient(create_app(app)) as c:
        r = c.get(f"{P}/loras", params={"limit": 100})
        assert r.status_code == 200
        page = r.json()
        assert page["total"] >= 100 and len(page["items"]) == 100
        assert len(r.content) <= 80_000, len(r.content)
        first = page["items"][0]
        for name in ("id", "name", "prompt_name", "base_model", "triggers", "favorite", "previews", "cover",
                     "hash_state"):
            assert name in first
        assert not set(HEAVY) & set(first)
        # everything is still there for who asks: the whole entry, or named fields on a page
        full = c.get(f"{P}/loras/{first['id']}").json()
        assert set(HEAVY) <= set(full)
        asked = c.get(f"{P}/loras", params={"limit": 100, "fields": "id,training_tags,sha256"}).json()["items"]
        assert {e["id"]: e["sha256"] for e in asked}[first["id"]] == full["sha256"]
        with_tags = [e for e in asked if e["training_tags"]]
        assert with_tags and len(orjson.dumps(asked)) > 0
        assert c.get(f"{P}/loras/{with_tags[0]['id']}").json()["training_tags"] == with_tags[0]["training_tags"]
        # the default still pages by 1000 at most, more is cut to 1000 (a light `fields` list may ask for more)
        assert c.get(f"{P}/loras", params={"limit": 1001}).json()["limit"] == 1000
        assert c.get(f"{P}/loras", params={"limit": 1001, "fields": "id"}).status_code == 200
