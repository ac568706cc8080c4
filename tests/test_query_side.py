"""Issue 17, the query side: the name sort by the shown name, display names a rescan keeps, tags that include the
model's own, substring search ranked, the new filters and sorts, folders; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os

import pytest
from fastapi.testclient import TestClient

from lora_manager.cli import main as cli_main
from lora_manager.standalone.app import create_app
from lora_manager.storage.catalog_store import LoraQuery

from .conftest import scan
from .loras import write_lora

P = "/lora-manager/v1"


def _lm_sidecar(path, tags, nsfw=False):
    base = os.path.splitext(str(path))[0]
    with open(base + ".metadata.json", "w") as f:
        name = os.path.basename(base)
        json.dump({"file_name": name, "model_name": name, "tags": tags,
                   "civitai": {"model": {"name": name, "nsfw": nsfw}}}, f)


@pytest.fixture
def lib(app, library):
    specs = [  # file, title, metadata
        ("zoe", "Zoë Brontë portrait", {"modelspec.tags": "Tree, portrait"}),
        ("art", "Art Nouveau Illustration", {"modelspec.trigger_phrase": "1girl, nouveau"}),
        ("sub/v10", None, {"modelspec.description": "a girl under a tree"}),
        ("sub/v2", None, {"modelspec.trigger_phrase": "girlish charm"}),
        ("sub/deep/Apple", None, {}),
        ("émile", None, {}),
    ]
    for i, (name, title, meta) in enumerate(specs):
        meta = dict(meta)
        if title:
            meta["modelspec.title"] = title
        path = write_lora(library / f"{name}.safetensors", seed=i, metadata=meta)
        os.utime(path, ns=(1, (i + 1) * 10**18))
    _lm_sidecar(library / "sub" / "deep" / "Apple.safetensors", ["Tree", "Fruit"], nsfw=True)
    (library / "empty" / "inner").mkdir(parents=True)
    scan(app)
    return app


def shown(page):
    return [e["shown_name"] for e in page.items]


def walk(cat, **kw):
    out, cursor = [], None
    while True:
        page = cat.list(LoraQuery(limit=2, cursor=cursor, fields="id,shown_name", **kw))
        out += shown(page)
        cursor = page.next_cursor
        if cursor is None:
            return out


ORDER = ["Apple", "Art Nouveau Illustration", "émile", "v2", "v10", "Zoë Brontë portrait"]


def test_name_sort_is_by_the_shown_name_natural_and_insensitive(lib):
    c = lib.catalog
    assert shown(c.list(sort="name")) == ORDER
    assert shown(c.list(sort="-name")) == ORDER[::-1]
    assert walk(c, sort="name") == ORDER and walk(c, sort="-name") == ORDER[::-1]
    assert shown(c.list(sort="name", limit=2, offset=2)) == ORDER[2:4]


def test_display_name_is_the_users_and_survives_a_rescan(lib, library):
    c = lib.catalog
    e = c.edit("v10", {"display_name": "  Aardvark   special "})
    assert e["display_name"] == "Aardvark special" and e["shown_name"] == "Aardvark special"
    assert shown(c.list(sort="name"))[0] == "Aardvark special"
    assert c.list(query="aardvark").total == 1, "the display name is searchable"
    # the file changes on disk (new metadata): a rescan rewrites the facts, never the display name
    write_lora(library / "sub" / "v10.safetensors", seed=9, metadata={"modelspec.title": "Brand new title"})
    scan(lib)
    e = c.get("v10")
    assert e["title"] == "Brand new title" and e["display_name"] == "Aardvark special"
    assert shown(c.list(sort="name"))[0] == "Aardvark special"
    e = c.edit("v10", {"display_name": None})
    assert e["display_name"] is None and e["shown_name"] == "Brand new title"
    assert shown(c.list(sort="name"))[:3] == ["Apple", "Art Nouveau Illustration", "Brand new title"]


def test_tags_include_the_models_own(lib):
    c = lib.catalog
    assert c.get("Apple")["source_tags"] == ["tree", "fruit"]
    assert sorted(shown(c.list(tags=["tree"]))) == ["Apple", "Zoë Brontë portrait"]
    assert sorted(shown(c.list(tags=["TREE"]))) == ["Apple", "Zoë Brontë portrait"]
    c.bulk(["v2"], "tag", "tree, mine")
    assert shown(c.list(tags=["tree"])) == ["Apple", "v2", "Zoë Brontë portrait"]
    assert shown(c.list(tags=["tree", "fruit"])) == ["Apple"]
    assert shown(c.list(tags=["tree"], exclude_tags=["fruit", "portrait"])) == ["v2"]
    assert shown(c.list(untagged=True)) == ["Art Nouveau Illustration", "émile", "v10"]
    assert len(c.list(untagged=False).items) == 3
    counts = {t["tag"]: t for t in c.tags()}
    assert counts["tree"] == {"tag": "tree", "count": 3, "user": 1, "model": 2}
    assert counts["mine"] == {"tag": "mine", "count": 1, "user": 1, "model": 0}
    c.bulk(["Apple"], "tag", "tree")  # both kinds on one LoRA: counted once
    assert {t["tag"]: t for t in c.tags()}["tree"] == {"tag": "tree", "count": 3, "user": 2, "model": 2}
    lib.files.trash("Apple")
    assert {t["tag"]: t for t in c.tags()}["tree"]["count"] == 2 and "fruit" not in {t["tag"] for t in c.tags()}


def test_model_tags_follow_the_file(lib, library):
    _lm_sidecar(library / "sub" / "deep" / "Apple.safetensors", ["Orchard"])
    scan(lib)
    c = lib.catalog
    assert shown(c.list(tags=["orchard"])) == ["Apple"] and shown(c.list(tags=["fruit"])) == []


def test_infix_search_ranks_whole_words_then_prefixes(lib):
    c = lib.catalog
    # "girl": a whole word in v10's description, a word start in v2's trigger, inside art's "1girl"
    assert shown(c.list(query="girl")) == ["v10", "v2", "Art Nouveau Illustration"]
    assert shown(c.list(query="girl", sort="-name")) == ["v10", "v2", "Art Nouveau Illustration"]
    assert walk(c, query="girl") == ["v10", "v2", "Art Nouveau Illustration"]
    assert c.list(query="girl").total == 3
    assert shown(c.list(query="irlis")) == ["v2"]  # a substring of a trigger
    assert shown(c.list(query="ouveau")) == ["Art Nouveau Illustration"]  # of a title
    assert shown(c.list(query="rontë")) == ["Zoë Brontë portrait"]
    assert shown(c.list(query="1girl nouv")) == ["Art Nouveau Illustration"]  # every word must match
    assert shown(c.list(query="gi")) == ["v2", "v10"]  # two letters: word starts only (one rank: by name)
    assert shown(c.list(query="girl", tags=["tree"])) == []
    c.bulk(["zoe"], "tag", "cowgirl")
    assert shown(c.list(query="girl"))[-2:] == ["Art Nouveau Illustration", "Zoë Brontë portrait"]


def test_favorites_first_other_sorts_and_filters(lib):
    c = lib.catalog
    c.edit("v10", {"favorite": True, "rating": 2})
    c.edit("zoe", {"favorite": True, "rating": 5})
    c.edit("art", {"rating": 4})
    want = ["v10", "Zoë Brontë portrait", "Apple", "Art Nouveau Illustration", "émile", "v2"]
    assert shown(c.list(favorites_first=True)) == want and walk(c, favorites_first=True) == want
    assert shown(c.list(favorites_first=True, limit=2, offset=1)) == want[1:3]
    down = ["Zoë Brontë portrait", "v10", "v2", "émile", "Art Nouveau Illustration", "Apple"]
    assert shown(c.list(favorites_first=True, sort="-name")) == down == walk(c, favorites_first=True, sort="-name")
    assert shown(c.list(favorites_first=True, sort="-name", limit=3, offset=2)) == down[2:5]
    assert shown(c.list(sort="-rating"))[:3] == ["Zoë Brontë portrait", "Art Nouveau Illustration", "v10"]
    assert walk(c, sort="-rating")[:3] == ["Zoë Brontë portrait", "Art Nouveau Illustration", "v10"]
    assert walk(c, sort="rating", favorites_first=True)[:2] == ["v10", "Zoë Brontë portrait"]
    assert sorted(walk(c, sort="uses")) == sorted(ORDER) and len(walk(c, sort="-last_used")) == 6
    assert sorted(shown(c.list(has_triggers=True))) == ["Art Nouveau Illustration", "v2"]
    c.edit("art", {"triggers": []})
    c.edit("émile", {"triggers": ["emi"]})
    assert sorted(shown(c.list(has_triggers=True))) == ["v2", "émile"]
    assert len(c.list(has_triggers=False).items) == 4
    assert shown(c.list(nsfw=True)) == ["Apple"] and len(c.list(nsfw=False).items) == 5
    root = str(lib.settings.lora_dirs[0])
    assert shown(c.list(root=root, folder="sub")) == ["Apple", "v2", "v10"]
    assert len(c.list(root=root, folder="").items) == 6 and c.list(root="/elsewhere").total == 0


def test_folders_tree_with_counts(lib):
    lib.files.trash("v2")
    tree = lib.catalog.folders(lib.settings.lora_dirs, skip=(lib.settings.data_dir,))
    (root,) = tree["roots"]
    assert root["count"] == 5
    folders = {f["path"]: f for f in root["folders"]}
    assert [f["path"] for f in root["folders"]] == ["empty", "empty/inner", "sub", "sub/deep"]
    assert folders["sub"] == {"path": "sub", "name": "sub", "parent": "", "count": 2, "direct": 1}
    assert folders["sub/deep"] == {"path": "sub/deep", "name": "deep", "parent": "sub", "count": 1, "direct": 1}
    assert folders["empty/inner"]["count"] == 0 and folders["empty/inner"]["parent"] == "empty"


def test_the_api_side(lib):
    with TestClient(create_app(lib)) as client:
        r = client.get(f"{P}/loras", params=[("tag", "tree"), ("exclude_tag", "portrait"), ("sort", "name")]).json()
        assert [e["shown_name"] for e in r["items"]] == ["Apple"]
        r = client.get(f"{P}/loras", params={"query": "girl", "fields": "name,shown_name,display_name"}).json()
        assert [e["name"] for e in r["items"]] == ["v10", "v2", "art"]
        r = client.get(f"{P}/loras", params={"untagged": "true", "nsfw": "false", "has_triggers": "true"}).json()
        assert [e["shown_name"] for e in r["items"]] == ["Art Nouveau Illustration", "v2"]
        client.patch(f"{P}/loras/art", json={"favorite": True})
        ask = {"limit": 1, "favorites_first": "true", "query": "girl", "sort": "-name"}
        first = client.get(f"{P}/loras", params=ask).json()
        names, page = [], first
        while True:
            names += [e["name"] for e in page["items"]]
            if not page["next_cursor"]:
                break
            page = client.get(f"{P}/loras", params={**ask, "cursor": page["next_cursor"]}).json()
        assert names == ["art", "v10", "v2"]
        bad = client.get(f"{P}/loras", params={"sort": "name", "cursor": first["next_cursor"]})
        assert bad.status_code == 422 and "another sort order" in bad.json()["error"]["message"]
        assert client.get(f"{P}/loras", params={"sort": "popularity"}).status_code == 422
        r = client.patch(f"{P}/loras/zoe", json={"display_name": "Aa first"})
        assert r.status_code == 200 and r.json()["shown_name"] == "Aa first"
        assert client.patch(f"{P}/loras/zoe", json={"display_name": "x" * 301}).status_code == 422
        tags = {t["tag"]: t for t in client.get(f"{P}/tags").json()}
        assert tags["tree"] == {"tag": "tree", "count": 2, "user": 0, "model": 2}
        tree = client.get(f"{P}/folders").json()
        assert [f["path"] for f in tree["roots"][0]["folders"]] == ["empty", "empty/inner", "sub", "sub/deep"]
        meta = client.get(f"{P}/meta").json()
        assert meta["jobs"]["available"] is False and "SDNext" in meta["jobs"]["reason"]
        assert meta["families"] and "shown_name" in meta["fields"]["card"]


def test_cli_list_flags(lib, capsys):
    dirs = ["--lora-dir", lib.settings.lora_dirs[0], "--data-dir", lib.settings.data_dir, "--db",
            lib.settings.db_url]
    lib.close()
    assert cli_main(["list", *dirs, "--tag", "tree", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert sorted(e["name"] for e in out["items"]) == ["Apple", "zoe"]
    assert cli_main(["list", *dirs, "--tag", "tree", "--exclude-tag", "fruit", "--json"]) == 0
    assert [e["name"] for e in json.loads(capsys.readouterr().out)["items"]] == ["zoe"]
    assert cli_main(["list", *dirs, "--untagged", "--sort", "-name", "--json"]) == 0
    assert [e["name"] for e in json.loads(capsys.readouterr().out)["items"]] == ["v10", "v2", "émile", "art"]
    assert cli_main(["tags", *dirs, "--json"]) == 0
    assert {"tag": "fruit", "count": 1, "user": 0, "model": 1} in json.loads(capsys.readouterr().out)
