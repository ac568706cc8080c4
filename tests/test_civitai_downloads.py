"""Downloads from the Civitai stand-in, on SQLite and PostgreSQL: where a file lands and what comes
with it, the redirect to the delivery host without the key, and an update in place of or beside
the version it updates, with the user's data moved or copied (docs/civitai.md, "Downloads")."""

from __future__ import annotations

import hashlib
import os
import threading

import orjson
import pytest

from lora_manager.errors import InvalidInput

from .civitai_dl_helpers import KEY, files_under, publish, wait_state
from .civitai_dl_standin import DownloadStandin
from .loras import write_lora


@pytest.fixture
def civ():
    with DownloadStandin() as standin:
        yield standin


@pytest.fixture
def dl_app(make_app, library, civ):
    def make(**kw):
        return make_app(library, civitai_url=civ.url, civitai_key=KEY, civitai_rate=1000.0, **kw)

    return make


def test_a_download_lands_in_its_template_folder_with_record_and_preview(dl_app, civ, library, tmp_path):
    blobs = publish(civ, tmp_path, name="Alice / Wonder: Land")
    app = dl_app()
    changed = threading.Event()
    app.events.on_library_changed(lambda _change: changed.set(), files_only=True)
    job = app.civitai_downloads.submit("https://civitai.com/models/7?modelVersionId=11")
    assert job["state"] in ("queued", "running") and job["version_id"] == 11
    job = wait_state(app.civitai_downloads, job["id"])
    assert job["state"] == "done", job
    target = library / "xl" / "Alice _ Wonder_ Land" / "alice.safetensors"
    assert job["target"] == str(target) and target.read_bytes() == blobs[11]
    info = orjson.loads((library / "xl" / "Alice _ Wonder_ Land" / "alice.civitai.info").read_bytes())
    assert info["id"] == 11 and info["files"][0]["hashes"]["SHA256"] == hashlib.sha256(blobs[11]).hexdigest().upper()
    assert (library / "xl" / "Alice _ Wonder_ Land" / "alice.preview.png").exists()
    entry = app.catalog.get(job["lora_id"])
    assert entry["path"] == str(target) and entry["previews"] and entry["base_model"] == "xl"
    assert any(s.get("civitai_version_id") == 11 for s in entry["sidecars"])
    assert changed.wait(10)
    app.hasher.wait(30)  # Civitai's record is kept under the file's hash, as a fetch by hash keeps it
    facts = app.civitai.civitai_facts(job["lora_id"])
    assert facts["status"] == "found" and facts["version_id"] == 11 and facts["model_id"] == 7
    assert job["size"] == len(blobs[11]) and job["progress"] == 1.0 and job["sha256"]
    # the key went to Civitai's API, never to the delivery host the download was redirected to
    api = [h.get("authorization") for _, p, h in civ.requests if p.startswith("/api/download/")]
    assert api == [f"Bearer {KEY}"]
    assert civ.delivery and all("authorization" not in h for _, h in civ.delivery)
    assert os.listdir(os.path.join(app.settings.data_dir, "downloads")) == []
    again = wait_state(app.civitai_downloads, app.civitai_downloads.submit("11")["id"])
    assert again["state"] == "failed" and again["error_code"] == "exists" and str(target) in again["error"]


def test_a_model_url_takes_its_newest_version_and_a_folder_may_be_given(dl_app, civ, library, tmp_path):
    publish(civ, tmp_path, versions=((12, "v3", "2025-05-01T00:00:00.000Z"), (11, "v2", "2025-03-01T00:00:00.000Z")))
    app = dl_app(civitai_folder="{creator}/{base_label}")
    job = wait_state(app.civitai_downloads, app.civitai_downloads.submit("https://civitai.com/models/7/a-lora")["id"])
    assert job["state"] == "done" and job["version_id"] == 12
    assert files_under(library) == ["someone/SDXL 1.0/alice.civitai.info", "someone/SDXL 1.0/alice.preview.png",
                                    "someone/SDXL 1.0/alice.safetensors"]
    job = wait_state(app.civitai_downloads, app.civitai_downloads.submit("urn:air:sdxl:lora:civitai:7@11",
                                                                         folder="mine/old")["id"])
    assert job["state"] == "done" and job["target"] == str(library / "mine" / "old" / "v11-alice.safetensors")


def test_what_is_refused_before_anything_is_asked(dl_app, civ, tmp_path):
    app = dl_app()
    for ref in ("https://example.com/models/1", "alice", "0", "https://civitai.com/images/5"):
        with pytest.raises(InvalidInput):
            app.civitai_downloads.submit(ref)
    for folder in ("../outside", str(tmp_path)):
        with pytest.raises(InvalidInput, match="inside"):
            app.civitai_downloads.submit("11", folder=folder)
    with pytest.raises(InvalidInput, match="update_of"):
        app.civitai_downloads.submit("11", replace=True)
    assert app.civitai_downloads.list() == [] and civ.requests == []


def test_a_checkpoint_or_a_pickle_is_not_downloaded(dl_app, civ, tmp_path, library):
    publish(civ, tmp_path, kind="Checkpoint")
    app = dl_app()
    job = wait_state(app.civitai_downloads, app.civitai_downloads.submit("11")["id"])
    assert job["state"] == "failed" and job["error_code"] == "not_a_lora" and "Checkpoint" in job["error"]
    civ.versions[11]["model"]["type"] = "LORA"
    civ.versions[11]["files"][0]["name"] = "alice.pt"
    civ.versions[11]["files"][0]["metadata"]["format"] = "PickleTensor"
    job = wait_state(app.civitai_downloads, app.civitai_downloads.submit("11")["id"])
    assert job["state"] == "failed" and job["error_code"] == "no_file" and "SafeTensors" in job["error"]
    assert files_under(library) == [] and civ.delivery == []


def _installed(app, library, civ, tmp_path):
    """Version 10 of model 7 in the library (with Civitai's record beside it) and the user's data on it."""
    blobs = publish(civ, tmp_path, versions=((11, "v2", "2025-05-01T00:00:00.000Z"),
                                             (10, "v1", "2025-01-01T00:00:00.000Z")))
    old = library / "chars" / "alice_v1.safetensors"
    os.makedirs(old.parent, exist_ok=True)
    old.write_bytes(blobs[10])
    (library / "chars" / "alice_v1.civitai.info").write_bytes(orjson.dumps(civ.versions[10]))
    app.scan(wait_hashes=True)
    lid = app.catalog.get("alice_v1")["id"]
    app.catalog.edit(lid, {"favorite": True, "rating": 4, "notes": "mine", "tags": ["hero"], "preferred_weight": 0.7})
    app.catalog.bulk([lid], "collect", "best")
    return lid, old


def test_an_update_in_place_trashes_the_old_version_and_moves_the_users_data(dl_app, civ, library, tmp_path):
    app = dl_app()
    old_id, old = _installed(app, library, civ, tmp_path)
    job = app.civitai_downloads.submit("https://civitai.com/models/7?modelVersionId=11", update_of="alice_v1",
                                       replace=True)
    job = wait_state(app.civitai_downloads, job["id"])
    assert job["state"] == "done", job
    assert job["target"] == str(library / "chars" / "alice.safetensors") and not old.exists()
    assert app.catalog.get(old_id)["state"] == "trashed"
    new = app.catalog.get(job["lora_id"])
    assert (new["favorite"], new["rating"], new["notes"], new["tags"], new["preferred_weight"]) == \
        (True, 4, "mine", ["hero"], 0.7)
    before = app.catalog.get(old_id)
    assert (before["favorite"], before["rating"], before["notes"], before["tags"]) == (False, None, None, [])
    members = {c["name"]: c["lora_ids"] for c in app.catalog.collections()}
    assert members["best"] == [job["lora_id"]]
    assert [e["id"] for e in app.catalog.list(query="hero").items] == [job["lora_id"]]
    app.files.restore(old_id)  # the old version is only in the trash
    assert old.exists()


def test_an_update_beside_keeps_the_old_version_and_copies_the_data_when_asked(dl_app, civ, library, tmp_path):
    app = dl_app()
    old_id, old = _installed(app, library, civ, tmp_path)
    job = wait_state(app.civitai_downloads, app.civitai_downloads.submit("11", update_of=old_id,
                                                                         carry_user_data=True)["id"])
    assert job["state"] == "done" and old.exists() and job["target"] == str(library / "chars" / "alice.safetensors")
    new, kept = app.catalog.get(job["lora_id"]), app.catalog.get(old_id)
    for e in (new, kept):
        assert (e["favorite"], e["rating"], e["tags"]) == (True, 4, ["hero"])
    assert sorted({c["name"]: c["lora_ids"] for c in app.catalog.collections()}["best"]) == sorted([old_id, new["id"]])
    plain = wait_state(app.civitai_downloads, app.civitai_downloads.submit("11", update_of=old_id)["id"])
    assert plain["error_code"] == "exists"  # the same file is in the library now


def test_a_present_file_of_another_name_is_never_overwritten(dl_app, civ, library, tmp_path):
    publish(civ, tmp_path)
    write_lora(library / "xl" / "A LoRA" / "alice.safetensors", seed=99)
    app = dl_app()
    job = wait_state(app.civitai_downloads, app.civitai_downloads.submit("11")["id"])
    assert job["state"] == "done" and job["target"].endswith("alice-11.safetensors")
    assert hashlib.sha256((library / "xl" / "A LoRA" / "alice.safetensors").read_bytes()).hexdigest() != job["sha256"]
