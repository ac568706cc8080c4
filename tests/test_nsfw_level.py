# ruff: noqa: F811 - pytest injects the fixtures imported from civitai_fixtures
"""The NSFW level as a column and the list's `nsfw_max` filter ("hide above my level"), on SQLite and PostgreSQL:
the scan writes the level with the other facts, a rescan and a Civitai fetch change it, unknown levels are kept
unless flagged NSFW, and the filter combines with the others (store, keyset pages, the API)."""

from __future__ import annotations

import json
import os

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from lora_manager.standalone.app import create_app

from .civitai_fixtures import civ, civ_app, fast_retries  # noqa: F401
from .conftest import scan
from .loras import write_lora

P = "/lora-manager/v1"
# name: (folder, sidecar level (None: no rating), flagged NSFW, tags)
SPECS = {
    "saint": ("a", 1, False, ["portrait"]),
    "teen": ("a", 2, False, ["portrait"]),
    "plain": ("a", None, False, []),  # no sidecar: unknown, kept
    "wild": ("a", 16, False, []),
    "spicy": ("b", None, True, ["portrait"]),  # only flagged NSFW: counts as R (4)
    "bold": ("b", 8, False, []),
}


def lm_sidecar(lora: str, level: int | None, nsfw: bool, tags: list[str]) -> None:
    """A ComfyUI-Lora-Manager `.metadata.json` that rates its preview `level`."""
    base = os.path.splitext(lora)[0]
    name = os.path.basename(base)
    data = {"file_name": name, "model_name": name, "tags": tags, "civitai": {"model": {"name": name, "nsfw": nsfw}}}
    if level is not None:
        data["preview_nsfw_level"] = level
    with open(base + ".metadata.json", "w") as f:
        json.dump(data, f)


@pytest.fixture
def rated(app, library):
    for i, (name, (folder, level, nsfw, tags)) in enumerate(SPECS.items()):
        path = write_lora(library / folder / f"{name}.safetensors", seed=i)
        if name != "plain":
            lm_sidecar(path, level, nsfw, tags)
    # a Civitai record of another tool whose image rating is absurd: the column holds Civitai's highest bit
    huge = write_lora(library / "b" / "huge.safetensors", seed=50)
    with open(os.path.splitext(huge)[0] + ".civitai.info", "w") as f:
        json.dump({"id": 5, "modelId": 6, "model": {"name": "huge"},
                   "images": [{"url": "https://image.civitai.com/x/a.jpeg", "nsfwLevel": 10**12}]}, f)
    scan(app)
    return app


def names(page) -> list[str]:
    return sorted(e["name"] for e in page.items)


def test_the_scan_writes_the_level_column(rated, db_url):
    with rated.db.engine.connect() as conn:
        stored = dict(conn.execute(text("SELECT prompt_name, nsfw_level FROM loras")).all())
    assert stored == {"saint": 1, "teen": 2, "plain": None, "wild": 16, "spicy": 4, "bold": 8, "huge": 32}
    # the card shows the column: what the filter reads
    cards = {e["name"]: e["nsfw_level"] for e in rated.catalog.list(limit=50).items}
    assert cards == stored


@pytest.mark.parametrize("level, shown", [
    (1, ["plain", "saint"]),
    (2, ["plain", "saint", "teen"]),
    (4, ["plain", "saint", "spicy", "teen"]),
    (8, ["bold", "plain", "saint", "spicy", "teen"]),
    (16, ["bold", "plain", "saint", "spicy", "teen", "wild"]),
    (32, ["bold", "huge", "plain", "saint", "spicy", "teen", "wild"]),
])
def test_nsfw_max_hides_what_is_rated_above(rated, level, shown):
    page = rated.catalog.list(nsfw_max=level, limit=50)
    assert names(page) == shown and page.total == len(shown)


def test_nsfw_max_combines_with_the_other_filters(rated):
    c = rated.catalog
    assert names(c.list(nsfw_max=4, root=str(rated.settings.lora_dirs[0]), folder="a")) == ["plain", "saint", "teen"]
    assert names(c.list(nsfw_max=4, tags=["portrait"])) == ["saint", "spicy", "teen"]
    assert names(c.list(nsfw_max=2, tags=["portrait"])) == ["saint", "teen"]
    assert names(c.list(nsfw_max=4, exclude_tags=["portrait"])) == ["plain"]
    assert names(c.list(nsfw_max=8, nsfw=True)) == ["spicy"]
    assert names(c.list(nsfw_max=16, nsfw=False)) == ["bold", "plain", "saint", "teen", "wild"]
    assert names(c.list(nsfw_max=8, query="sai")) == ["saint"]  # a substring search
    assert names(c.list(nsfw_max=1, query="teen")) == []
    assert names(c.list(nsfw_max=2, untagged=True)) == ["plain"]
    # keyset pages of two, sorted by name (descending too): every entry once, the total the filter's
    for sort in ("name", "-name", "-added"):
        seen, cursor = [], None
        while True:
            page = c.list(nsfw_max=4, sort=sort, limit=2, cursor=cursor, fields="id,name")
            assert page.total == 4
            seen += [e["name"] for e in page.items]
            cursor = page.next_cursor
            if not cursor:
                break
        assert sorted(seen) == ["plain", "saint", "spicy", "teen"] and len(seen) == 4, sort


def test_an_unknown_level_is_hidden_when_flagged_nsfw(rated):
    """A LoRA flagged NSFW whose preview has no rating (read before the level was recorded) could be anything:
    every level hides it; with no level asked it is listed."""
    with rated.db.engine.begin() as conn:
        conn.execute(text("UPDATE loras SET nsfw_level = NULL WHERE prompt_name = 'spicy'"))
    assert "spicy" not in names(rated.catalog.list(nsfw_max=32, limit=50))
    assert "spicy" in names(rated.catalog.list(limit=50))
    assert "plain" in names(rated.catalog.list(nsfw_max=1))  # unknown and not flagged: kept


def test_a_rescan_changes_the_level(rated, library):
    sidecar = library / "a" / "saint.metadata.json"
    data = json.loads(sidecar.read_text())
    data["preview_nsfw_level"] = 8
    sidecar.write_text(json.dumps(data))
    os.utime(sidecar, ns=(1, 2 * 10**18))  # a different stamp whatever the clock's resolution
    (library / "a" / "plain.metadata.json").write_text(json.dumps({"model_name": "plain", "preview_nsfw_level": 4}))
    scan(rated)
    assert names(rated.catalog.list(nsfw_max=4)) == ["plain", "spicy", "teen"]
    assert names(rated.catalog.list(nsfw_max=2)) == ["teen"]


def test_the_api_filters_and_checks_nsfw_max(rated):
    with TestClient(create_app(rated)) as client:
        def listed(**params):
            r = client.get(f"{P}/loras", params=params)
            assert r.status_code == 200, r.text
            return sorted(e["name"] for e in r.json()["items"])

        assert listed(nsfw_max=1) == ["plain", "saint"]
        assert listed(nsfw_max=2) == ["plain", "saint", "teen"]  # another page, not the cached one
        assert listed(nsfw_max=4, folder="b", root=str(rated.settings.lora_dirs[0])) == ["spicy"]
        assert listed(nsfw_max=8, tag="portrait", sort="-name") == ["saint", "spicy", "teen"]
        assert len(listed()) == 7
        for bad in ("0", "33", "-1", "R", "2.5"):
            assert client.get(f"{P}/loras", params={"nsfw_max": bad}).status_code == 422, bad
        schema = client.get("/openapi.json").json()["paths"][f"{P}/loras"]["get"]["parameters"]
        [param] = [p for p in schema if p["name"] == "nsfw_max"]
        assert '"maximum": 32' in json.dumps(param["schema"]) and "unknown level" in param["description"]


def test_a_civitai_fetch_writes_the_level(civ_app):
    """With R allowed the fetch takes alice's first image (rated R) as the preview and records it in the sidecar;
    the read again writes the column: alice, unknown (kept) before, is hidden below R after."""
    app = civ_app(civitai_nsfw_level=4)
    assert "alice" in names(app.catalog.list(nsfw_max=2))
    [out] = app.civitai.run([app.catalog.get("alice")["id"]])["results"]
    assert out["sidecar"].startswith("written") and out["preview"].startswith("written")
    assert "alice" not in names(app.catalog.list(nsfw_max=2))
    assert "alice" in names(app.catalog.list(nsfw_max=4))
    assert app.catalog.get("alice")["nsfw_level"] == 4
