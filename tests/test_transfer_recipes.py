"""Recipes in the export archive, on SQLite and on PostgreSQL: every recipe travels with its LoRAs by hash and
its cover, an import matches the LoRAs by hash (a file renamed on the other side is still found), a second
import adds nothing, conflicts follow the policy, neither side loses a recipe, and a hostile recipes.json or
cover is refused with nothing changed."""

from __future__ import annotations

import io
import os
import shutil
import zipfile

import orjson
import pytest

from lora_manager.recipes.images import open_image, thumbnail
from lora_manager.transfer.archive import BadArchive

from .conftest import pg_schema
from .loras import write_lora
from .transfer_helpers import open_app

PARTS = ["recipes"]


def _cover(color=(200, 30, 30)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(buf, "PNG")
    return thumbnail(open_image(buf.getvalue()))


def recipes(core) -> list[dict]:
    """Each recipe as a user sees it: its fields, each LoRA's name and presence, whether it has a cover."""
    items = core.recipes.list(limit=500)["items"]
    return sorted(({"title": r["title"], "prompt": r["prompt"], "tags": r["tags"], "notes": r["notes"],
                    "seed": r["seed"], "params": r["params"], "has_cover": r["has_cover"],
                    "loras": [(lo["name"], lo["weight"], lo["present"]) for lo in r["loras"]]} for r in items),
                  key=lambda r: r["title"])


@pytest.fixture
def sides(tmp_path, db_url):
    """Two libraries with the same LoRA under other file names (one has `alice`, the other `alice_v2`), each
    on its own database of the kind under test."""
    a, b = tmp_path / "lib-a", tmp_path / "lib-b"
    write_lora(a / "alice.safetensors", seed=1, metadata={"modelspec.trigger_phrase": "alice"})
    write_lora(a / "bob.safetensors", family="xl", seed=2)
    os.makedirs(b / "renamed")
    shutil.copy(a / "alice.safetensors", b / "renamed" / "alice_v2.safetensors")
    source = open_app(a, tmp_path / "data-a", db_url)
    if db_url.startswith("sqlite"):
        target = open_app(b, tmp_path / "data-b", f"sqlite:///{tmp_path}/target.db")
        yield source, target, tmp_path
        target.close()
    else:
        with pg_schema() as other:
            target = open_app(b, tmp_path / "data-b", other)
            yield source, target, tmp_path
            target.close()
    source.close()


def _fill(core) -> None:
    core.recipes.create({"title": "Rooftop cat", "prompt": "a cat on a roof", "negative_prompt": "blurry",
                         "loras": [{"name": "alice", "weight": 0.7, "te": 0.5}, {"name": "ghost", "weight": 0.3,
                                                                                 "sha256": "ab" * 32}],
                         "sampler": "DPM++ 2M", "steps": 28, "cfg_scale": 6.5, "width": 512, "height": 768,
                         "seed": 1234, "params": {"Clip skip": "2"}, "tags": ["cats"], "notes": "first"},
                        cover=_cover())
    core.recipes.create({"title": "Bob alone", "prompt": "a city", "loras": [{"name": "bob", "weight": 1.1}]})


def test_recipes_round_trip_by_hash_and_nothing_twice(sides):
    source, target, tmp = sides
    _fill(source)
    target.recipes.create({"title": "Mine only", "prompt": "a dog", "tags": ["dogs"]})
    archive = str(tmp / "out.zip")
    report = source.transfer.export(archive, PARTS)
    assert report["counts"]["recipes"] == 2 and report["counts"]["recipe_covers"] == 1
    with zipfile.ZipFile(archive) as zf:
        doc = orjson.loads(zf.read("recipes.json"))
        assert zf.read(doc["recipes"][0]["cover"])[:4] == b"RIFF"
    alice = source.catalog.get("alice")
    first = doc["recipes"][0]["loras"][0]
    assert (first["name"], first["sha256"], first["tensor_sha256"]) == ("alice", alice["sha256"],
                                                                         alice["tensor_sha256"])
    before = recipes(target)
    dry = target.transfer.import_archive(archive, dry_run=True)
    assert dry["recipes"]["added"] == 2 and dry["recipes"]["loras_by_hash"] == 1
    assert dry["recipes"]["loras_missing"] == 2 and recipes(target) == before
    done = target.transfer.import_archive(archive)
    assert done["written"]["recipes"] == 2 and done["written"]["recipe_covers"] == 1 and done["backup"]
    got = {r["title"]: r for r in recipes(target)}
    assert set(got) == {"Rooftop cat", "Bob alone", "Mine only"}  # ours is kept
    cat = got["Rooftop cat"]
    # alice is alice_v2 here: found by hash, stored under the name this host resolves
    assert cat["loras"] == [("alice_v2", 0.7, True), ("ghost", 0.3, False)] and cat["has_cover"]
    assert (cat["seed"], cat["params"], cat["tags"], cat["notes"]) == (1234, {"Clip skip": "2"}, ["cats"], "first")
    assert got["Bob alone"]["loras"] == [("bob", 1.1, False)]  # not in this library: kept, shown missing
    rid = next(r["id"] for r in target.recipes.list(limit=10)["items"] if r["title"] == "Rooftop cat")
    with open(target.recipes.cover_path(rid), "rb") as f:
        assert open_image(f.read()).size == (64, 48)
    after = recipes(target)
    again = target.transfer.import_archive(archive)
    assert again["recipes"]["present"] == 2 and again["recipes"]["added"] == 0 and again["written"] is None
    assert recipes(target) == after
    # and back: the source gains the target's own recipe, and none of its own twice
    back = str(tmp / "back.zip")
    target.transfer.export(back, PARTS)
    home = source.transfer.import_archive(back)
    assert (home["recipes"]["added"], home["recipes"]["present"]) == (1, 2)
    assert sorted(r["title"] for r in recipes(source)) == ["Bob alone", "Mine only", "Rooftop cat"]


def test_a_recipe_edited_on_one_side_follows_the_policy(sides):
    source, target, tmp = sides
    _fill(source)
    archive = str(tmp / "out.zip")
    source.transfer.export(archive, PARTS)
    target.transfer.import_archive(archive)
    rid = next(r["id"] for r in target.recipes.list(limit=10)["items"] if r["title"] == "Bob alone")
    target.recipes.patch(rid, {"title": "Bob, mine", "tags": ["mine"], "notes": "local"})
    keep = target.transfer.import_archive(archive)
    assert keep["recipes"]["conflicting"] == 1 and keep["recipes"]["present"] == 1 and keep["written"] is None
    assert target.recipes.get(rid)["title"] == "Bob, mine" and target.recipes.list()["total"] == 2
    source.recipes.patch(next(r["id"] for r in source.recipes.list()["items"] if r["title"] == "Bob alone"),
                         {"tags": ["city"], "notes": "theirs"})
    source.transfer.export(archive, PARTS)
    target.transfer.import_archive(archive, on_conflict="merge")
    merged = target.recipes.get(rid)
    assert (merged["title"], merged["tags"], merged["notes"]) == ("Bob, mine", ["city", "mine"], "local\n\ntheirs")
    twice = target.transfer.import_archive(archive, on_conflict="merge")  # nothing of theirs is missing now
    assert twice["recipes"]["conflicting"] == 1 and twice["written"] is None
    target.transfer.import_archive(archive, on_conflict="theirs")
    theirs = target.recipes.get(rid)
    assert (theirs["title"], theirs["tags"], theirs["notes"]) == ("Bob alone", ["city"], "theirs")
    assert target.recipes.list()["total"] == 2  # never a duplicate


def test_a_restored_backup_brings_recipes_back(sides):
    source, _target, _tmp = sides
    _fill(source)
    before = recipes(source)
    taken = source.transfer.backup()
    for r in source.recipes.list()["items"]:
        if not r["has_cover"]:
            source.recipes.delete(r["id"])  # the cover file of the other stays where restore expects it
    assert len(recipes(source)) == 1
    source.transfer.restore(taken["name"])
    assert recipes(source) == before


# ------------------------------------------------------------------------------------------- hostile
@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile-recipes")
    write_lora(tmp / "lib" / "alice.safetensors", seed=1)
    write_lora(tmp / "lib" / "bob.safetensors", family="xl", seed=2)
    app = open_app(tmp / "lib", tmp / "data", f"sqlite:///{tmp}/library.db")
    _fill(app)
    good = tmp / "good.zip"
    app.transfer.export(str(good), PARTS)
    with zipfile.ZipFile(good) as zf:
        app.good = {n: zf.read(n) for n in zf.namelist()}
    yield app
    app.close()


def _with(items: dict[str, bytes], path) -> str:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in items.items():
            zf.writestr(name, data)
    return str(path)


def _recipes_doc(*recipes) -> bytes:
    return orjson.dumps({"format": "lora-manager-export/recipes", "version": 1, "recipes": list(recipes)})


@pytest.mark.parametrize("recipe,words", [
    ({"title": "x", "loras": [{"name": "<lora:evil>", "weight": 1}]}, ("recipes.json", "loras.0.name")),
    ({"title": "x", "prompt": "a\x00b"}, ("recipes.json", "NUL")),
    ({"title": "x", "surprise": 1}, ("recipes.json", "surprise")),
    ({"title": "x", "steps": 10_000}, ("recipes.json", "steps")),
    ({"title": "x", "loras": [{"name": "a", "weight": 1}] * 33}, ("recipes.json", "loras")),
    ({"title": "x", "loras": [{"name": "a", "sha256": "not hex"}]}, ("recipes.json", "sha256")),
    ({"title": "x", "cover": "../../etc/passwd"}, ("recipes.json", "cover")),
    ({"title": "x", "cover": "recipe-covers/9.webp"}, ("recipe-covers/9.webp", "does not hold")),
    ({"title": "x", "created_at": "yesterday"}, ("recipes.json", "created_at")),
    ({"title": "x", "created_at": "2026-13-45T10:00:00"}, ("recipes.json", "not a date")),
])
def test_a_hostile_recipe_is_refused_and_nothing_changes(hostile, tmp_path, recipe, words):
    _refused(hostile, {**hostile.good, "recipes.json": _recipes_doc(recipe)}, tmp_path, words)


def test_a_cover_that_is_not_an_image_is_refused(hostile, tmp_path):
    items = {**hostile.good, "recipe-covers/5.webp": b"RIFF\x00\x00\x00\x00WEBPnot really",
             "recipes.json": _recipes_doc({"title": "x", "cover": "recipe-covers/5.webp"})}
    _refused(hostile, items, tmp_path, ("recipe-covers/5.webp", "not a cover image"))


def test_a_recipes_document_of_another_shape_is_refused(hostile, tmp_path):
    _refused(hostile, {**hostile.good, "recipes.json": orjson.dumps({"format": "lora-manager-recipe", "version": 1,
                                                                     "recipes": []})}, tmp_path, ("recipes.json",))
    _refused(hostile, {**hostile.good, "recipes.json": b"[1, 2"}, tmp_path, ("recipes.json", "not valid JSON"))
    _refused(hostile, {**hostile.good, "recipe-covers/1.exe": b"MZ"}, tmp_path, ("not a member",))


def _refused(core, items, tmp_path, words) -> None:
    before = recipes(core)
    folder = core.transfer.backups.folder
    backups = sorted(os.listdir(folder)) if os.path.isdir(folder) else []
    covers = sorted(os.listdir(core.recipes.covers))
    with pytest.raises(BadArchive) as caught:
        core.transfer.import_archive(_with(items, tmp_path / "bad.zip"))
    for word in words:
        assert word in caught.value.message, caught.value.message
    assert recipes(core) == before and sorted(os.listdir(core.recipes.covers)) == covers
    assert (sorted(os.listdir(folder)) if os.path.isdir(folder) else []) == backups
