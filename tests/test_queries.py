"""Search, filters, sorts, pagination and edits against a real migrated database."""

from __future__ import annotations

import os

import pytest

from lora_manager.errors import InvalidInput, NotFound

from .conftest import scan
from .loras import write_lora


@pytest.fixture
def lib(app, library):
    specs = [
        ("characters/alice_v1", "sd1",
         {"modelspec.trigger_phrase": "alice wonder", "modelspec.description": "A girl in a blue dress"}),
        ("characters/bob", "xl", {"ss_output_name": "bobby_builder", "modelspec.trigger_phrase": "bobhat"}),
        ("styles/neon.glow", "xl", {"modelspec.title": "Neon Glow Style", "modelspec.trigger_phrase": "neonglow"}),
        ("styles/xl/watercolor", "xl", {"modelspec.description": "soft watercolour painting"}),
        ("zeta", "sd2", {}),
    ]
    for i, (name, fam, meta) in enumerate(specs):
        path = write_lora(library / f"{name}.safetensors", family=fam, seed=i, metadata=meta)
        os.utime(path, ns=(1, (i + 1) * 10**18))
    (library / "styles" / "neon.glow.preview.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (library / "broken.safetensors").write_bytes(b"garbage!!")
    scan(app)
    return app


def names(page):
    return [e["name"] for e in page.items]


@pytest.mark.parametrize(
    "query,expected",
    [
        ("alice", ["alice_v1"]),
        ("ali", ["alice_v1"]),  # prefix
        ("wond", ["alice_v1"]),  # trigger word prefix
        ("blue dress", ["alice_v1"]),  # description, every word
        ("bobby", ["bob"]),  # alias
        ("neon", ["neon.glow"]),  # name and title
        ("glow style", ["neon.glow"]),
        ("watercol", ["watercolor"]),
        ("nothing_like_this", []),
        ('"); DROP TABLE loras; --', []),  # FTS syntax and SQL are just words
        ("NEON*", ["neon.glow"]),
    ],
)
def test_full_text_search(lib, query, expected):
    assert sorted(names(lib.catalog.list(query=query))) == sorted(expected)


def test_filters(lib):
    c = lib.catalog
    assert sorted(names(c.list(base="xl"))) == ["bob", "neon.glow", "watercolor"]
    assert names(c.list(has_preview=True)) == ["neon.glow"]
    assert names(c.list(broken=True)) == ["broken"]
    assert sorted(names(c.list(folder="styles"))) == ["neon.glow", "watercolor"]
    assert names(c.list(folder="styles/xl")) == ["watercolor"]
    assert names(c.list(network_type="lora", base="sd2")) == ["zeta"]
    c.edit("bob", {"favorite": True})
    assert names(c.list(favorite=True)) == ["bob"]
    c.bulk(["alice_v1", "zeta"], "tag", "anime, Favourite Set")
    assert sorted(names(c.list(tags=["anime"]))) == ["alice_v1", "zeta"]
    assert names(c.list(tags=["anime"], base="sd1")) == ["alice_v1"]
    assert names(c.list(query="favourite")) == ["alice_v1", "zeta"], "user tags are searchable"


def test_sorts_and_pagination(lib):
    c = lib.catalog
    assert names(c.list(sort="name", limit=3)) == ["alice_v1", "bob", "broken"]
    page = c.list(sort="name", limit=3, offset=3)
    assert page.total == 6 and names(page) == ["neon.glow", "watercolor", "zeta"]
    assert names(c.list(sort="-modified", limit=2)) == ["zeta", "watercolor"]
    sizes = [e["size"] for e in c.list(sort="-size").items]
    assert sizes == sorted(sizes, reverse=True)
    with pytest.raises(InvalidInput):
        c.list(sort="bogus")
    with pytest.raises(InvalidInput):
        c.list(limit=0)


def test_entry_shape_has_the_documented_keys(lib):
    e = lib.catalog.get("neon_glow")
    for key in ("id", "name", "prompt_name", "path", "state", "base_model", "network_type", "sha256", "autov2",
                "tensor_sha256", "autov3", "triggers", "training_tags", "tags", "previews", "error"):
        assert key in e
    assert e["prompt_name"] == "neon_glow" and e["name"] == "neon.glow"
    assert e["previews"][0]["name"] == "neon.glow.preview.png"


def test_edit_validation_changes_nothing_on_bad_input(lib):
    c = lib.catalog
    before = c.get("bob")
    for bad in ({"rating": 9}, {"favorite": "yes"}, {"preferred_weight": "heavy"}, {"preferred_weight": float("nan")},
                {"base_model": "sd99"}, {"unknown": 1}, {"tags": [""]}, {"weight_min": 2, "weight_max": 1},
                {"triggers": [1, 2]}):
        with pytest.raises(InvalidInput):
            c.edit("bob", bad)
    assert c.get("bob") == before
    with pytest.raises(NotFound):
        c.edit("no-such-lora", {"favorite": True})


def test_user_triggers_are_kept_apart_from_extracted(lib):
    c = lib.catalog
    e = c.edit("bob",
               {"triggers": ["my words", "bobhat"], "preferred_weight": 0.7, "weight_min": 0.4, "weight_max": 1.1})
    assert e["triggers"] == ["my words", "bobhat"] and e["extracted_triggers"] == ["bobhat"]
    assert (e["preferred_weight"], e["weight_min"], e["weight_max"]) == (0.7, 0.4, 1.1)
    assert names(c.list(query="my words")) == ["bob"]
    e = c.edit("bob", {"triggers": None})
    assert e["triggers"] == ["bobhat"] and e["user_triggers"] is None


def test_bulk_edits(lib):
    c = lib.catalog
    keys = ["alice_v1", "bob", "zeta"]
    assert c.bulk(keys, "favorite") == 3
    assert c.bulk(keys, "set_base", "sd3") == 3
    assert sorted(names(c.list(base="sd3"))) == ["alice_v1", "bob", "zeta"]
    c.bulk(keys, "tag", ["t1", "t2"])
    c.bulk(["bob"], "untag", "t1")
    assert c.get("bob")["tags"] == ["t2"] and c.get("zeta")["tags"] == ["t1", "t2"]
    assert {t["tag"]: t["count"] for t in c.tags()} == {"t1": 2, "t2": 3}
    c.bulk(keys[:2], "collect", "faves")
    assert [len(x["lora_ids"]) for x in c.collections()] == [2]
    with pytest.raises(InvalidInput):
        c.bulk(keys, "explode")
    with pytest.raises(NotFound):
        c.bulk(["bob", "nope"], "favorite")


def test_cursor_pages_through_everything_once(lib):
    c = lib.catalog
    for sort in ("name", "-name", "size", "-modified", "added", "id", "-id"):
        seen, cursor = [], None
        while True:
            page = c.list(sort=sort, limit=2, cursor=cursor)
            seen += [e["id"] for e in page.items]
            cursor = page.next_cursor
            if cursor is None:
                break
        assert sorted(seen) == sorted(e["id"] for e in c.list(limit=100).items) and len(seen) == len(set(seen)), sort
    with pytest.raises(InvalidInput):
        c.list(sort="size", cursor=c.list(sort="name", limit=1).next_cursor)
    with pytest.raises(InvalidInput):
        c.list(cursor="!!not-a-cursor")


def test_fields_selection(lib):
    page = lib.catalog.list(fields="name,prompt_name,base_model,triggers", limit=100)
    assert all(set(e) == {"name", "prompt_name", "base_model", "triggers"} for e in page.items)
    full = {e["name"]: e for e in lib.catalog.list(limit=100).items}
    for e in page.items:
        assert {k: full[e["name"]][k] for k in e} == e
    with pytest.raises(InvalidInput):
        lib.catalog.list(fields="name,password")
    assert lib.catalog.list(fields=["id"], limit=5000).total == 6
    with pytest.raises(InvalidInput):
        lib.catalog.list(limit=5000)


def test_base_filter_follows_overrides(lib):
    c = lib.catalog

    def base(family):
        page = c.list(base=family)
        assert page.total == len(page.items)
        return sorted(names(page))

    assert base("xl") == ["bob", "neon.glow", "watercolor"] and base("sd1") == ["alice_v1"]
    c.edit("alice_v1", {"base_model": "xl"})  # moved into xl
    c.edit("bob", {"base_model": "sd3"})  # moved out of xl
    c.edit("watercolor", {"base_model": "xl"})  # overridden to what was detected
    assert base("xl") == ["alice_v1", "neon.glow", "watercolor"]
    assert base("sd1") == [] and base("sd3") == ["bob"]
    c.edit("alice_v1", {"base_model": None})  # back to detected
    assert base("sd1") == ["alice_v1"] and "alice_v1" not in base("xl")
    assert sorted(names(c.list(base="xl", query="neonglow"))) == ["neon.glow"]
