"""A Civitai model sidecar with several versions: ours is the one with our file (hash, AutoV2, name),
picked again once the file is hashed and after a rescan reads the sidecar anew."""

from __future__ import annotations

import json
import os

from lora_manager.library.sidecars import parse_civitai_model

from .civitai_standin import make_file, make_model, make_version
from .loras import file_sha256, write_lora

OTHER = "cd" * 32


def _model(ours_sha: str, *, ours_name: str = "renamed_on_civitai.safetensors", with_sha: bool = True) -> dict:
    newer = make_version(2, 9, [make_file("pixel_v2.safetensors", OTHER)], name="v2.0", base="Pony", words=["v2 word"])
    ours = make_version(1, 9, [make_file(ours_name, ours_sha, with_sha=with_sha)], name="v1.0", base="SD 1.5",
                        words=["v1 word"])
    return make_model(9, [newer, ours], name="Pixel")


def test_the_version_with_our_file_is_picked_by_hash_autov2_or_name():
    sha = "ab" * 32
    f = parse_civitai_model(_model(sha), "x.json", sha256=sha)
    assert (f.version_name, f.version_match, f.sha256, f.triggers) == ("v1.0", "sha256", sha, ["v1 word"])
    f = parse_civitai_model(_model(sha, with_sha=False), "x.json", sha256=sha)
    assert (f.version_name, f.version_match) == ("v1.0", "autov2")
    f = parse_civitai_model(_model(sha, ours_name="Pixel_V1.safetensors"), "x.json", file_base="pixel_v1")
    assert (f.version_name, f.version_match, f.sha256) == ("v1.0", "name", None)  # a name is a guess: no hash stated
    f = parse_civitai_model(_model(sha), "x.json", file_base="pixel_v1")
    assert (f.version_name, f.version_match, f.sha256, f.hash_checked) == ("v2.0", "first", None, False)
    # an AutoV2 that collides with a file stating another SHA-256 is not ours
    collide = _model(sha)
    collide["modelVersions"][1]["files"][0]["hashes"]["SHA256"] = ("ab" * 5) + ("ef" * 27)
    assert parse_civitai_model(collide, "x.json", sha256=sha).version_match == "first"


def _sidecar(entry) -> dict:
    [s] = [s for s in entry["sidecars"] if s["kind"] == "civitai_model_json"]
    return s


def test_the_version_is_picked_again_after_hashing_and_after_a_rescan(make_app, library):
    path = write_lora(library / "pixel_v1.safetensors", seed=3)
    sidecar = library / "pixel_v1.json"
    sidecar.write_text(json.dumps(_model(file_sha256(path))))
    app = make_app(library, embed_model="off")
    app.scan(hash_after=False)
    before = _sidecar(app.catalog.get("pixel_v1"))
    assert (before["civitai_version_id"], before["version_match"]) == (2, "first")  # not hashed yet: a guess
    assert "v2 word" in app.catalog.get("pixel_v1")["extracted_triggers"]
    app.hasher.wake()
    assert app.hasher.wait(60)
    after = _sidecar(app.catalog.get("pixel_v1"))
    assert (after["civitai_version_id"], after["version_match"], after["sha256"]) == (1, "sha256", file_sha256(path))
    entry = app.catalog.get("pixel_v1")
    assert entry["extracted_triggers"] == ["v1 word"] and entry["base_label"] == "SD 1.5"
    # The sidecar is rewritten (its version list grows): the scan reads it without a hash, then picks again.
    data = json.loads(sidecar.read_text())
    data["modelVersions"].insert(0, make_version(3, 9, [make_file("pixel_v3.safetensors", "ef" * 32)], name="v3.0"))
    sidecar.write_text(json.dumps(data))
    os.utime(sidecar, ns=(1, 10**18))
    report = app.scan(hash_after=False)
    assert report.changed == 1
    again = _sidecar(app.catalog.get("pixel_v1"))
    assert (again["civitai_version_id"], again["version_match"]) == (1, "sha256")
    assert app.civitai.resolve_sidecar_versions() == []  # nothing left to pick again
