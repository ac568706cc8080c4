# ruff: noqa: F811 - pytest injects the fixtures imported from civitai_fixtures
"""Fetching Civitai's records by hash: found / AutoV2 / not found, what is stored and shown, what is asked again."""

from __future__ import annotations

import json

from .civitai_fixtures import civ, civ_app, fast_retries  # noqa: F401

KEY = "sk-civitai-secret-000"


def _by_name(report):
    return {r["path"].rsplit("/", 1)[-1].split(".")[0]: r for r in report["results"]}


def test_a_bulk_fetch_finds_by_sha256_then_autov2_and_remembers_what_is_missing(civ_app, civ):
    app = civ_app()
    report = app.civitai.run(all_missing=True)
    out = _by_name(report)
    assert (out["alice"]["outcome"], out["alice"]["matched_by"]) == ("found", "sha256")
    assert (out["bob"]["outcome"], out["bob"]["matched_by"]) == ("found", "autov2")
    assert out["carol"]["outcome"] == "not_found" and report["failed"] == 0
    # alice: by-hash + model; bob: by-hash 404, AutoV2, model; carol: by-hash 404, AutoV2 404; one preview image
    assert report["requests"] == 8 and len(civ.paths("/images/")) == 1
    assert app.civitai.status()["library"] == {"found": 2, "not_found": 1, "lacking": 0}
    again = app.civitai.run(all_missing=True)
    assert again["requests"] == 0 and again["done"] == 0  # nothing asked again: known, or known missing


def test_the_civitai_object_sits_beside_the_users_fields(civ_app):
    app = civ_app()
    app.catalog.edit("alice", {"triggers": ["my word"], "notes": "mine", "base_model": "sd1", "tags": ["keep"]})
    app.civitai.run([app.catalog.get("alice")["id"]])
    entry = app.catalog.get("alice")
    assert (entry["triggers"], entry["notes"], entry["base_model"], entry["tags"]) == (
        ["my word"],
        "mine",
        "sd1",
        ["keep"],
    )
    c = app.civitai.civitai_facts(entry["id"])
    assert (c["status"], c["model_id"], c["version_id"], c["model_name"], c["version_name"]) == (
        "found",
        7,
        11,
        "Alice",
        "v1.0",
    )
    assert (c["creator"], c["base_model"], c["base_family"], c["type"]) == ("painter", "Pony", "xl", "LORA")
    assert c["trained_words"] == ["alice", "blue dress"] and c["tags"] == ["character", "anime"]
    assert c["nsfw"] is False and c["nsfw_level"] == 1 and [i["nsfw_level"] for i in c["images"]] == [4, 1]
    assert c["published_at"] == "2025-03-01T12:00:00.000Z" and c["download_url"].endswith("/models/11")
    assert c["page_url"] == f"{app.settings.civitai_url}/models/7?modelVersionId=11"
    assert c["description"].startswith("About alice") and "alert" not in c["description"]
    html = c["description_html"]
    assert "<script" not in html and "onerror" not in html and "javascript:" not in html and "<img" not in html
    assert '<a href="https://example.org/a"' in html and "noopener" in html
    [example] = c["examples"]
    assert (example["prompt"], example["negative_prompt"], example["sampler"], example["steps"]) == \
        ("a cat, <lora:alice:0.8>", "blurry", "DPM++ 2M", 30)
    assert example["loras"] == [{"model_version_id": 11, "name": None, "weight": 0.8}]
    assert app.civitai.civitai_facts(app.catalog.get("carol")["id"]) is None  # never asked


def test_the_sidecar_and_preview_are_written_and_read_back_by_the_index(civ_app, library):
    app = civ_app()
    app.civitai.run(all_missing=True)
    info = json.loads((library / "alice.civitai.info").read_text())
    assert info["id"] == 11 and info["lora_manager"]["written_by"] == "lora-manager"
    assert info["creator"]["username"] == "painter" and info["model"]["tags"] == ["character", "anime"]
    # the first image at or below PG: the R-rated one is skipped
    assert (library / "alice.preview.png").read_bytes().startswith(b"\x89PNG")
    assert not (library / "carol.civitai.info").exists() and not list(library.glob("carol.preview.*"))
    entry = app.catalog.get("alice")  # read again at once: the preview and the record are in the index
    assert [p["name"] for p in entry["previews"]] == ["alice.preview.png"]
    assert "alice" in entry["extracted_triggers"] and entry["base_label"] == "Pony"
    assert {"kind": "civitai_info", "name": "alice.civitai.info"}.items() <= entry["sidecars"][0].items()


def test_a_sidecar_or_preview_we_did_not_write_is_left_alone(civ_app, library):
    (library / "alice.civitai.info").write_text('{"id": 5, "note": "by hand"}')
    (library / "alice.png").write_bytes(b"\x89PNG\r\n\x1a\nmine")
    app = civ_app()
    [out] = app.civitai.run([app.catalog.get("alice")["id"]])["results"]
    assert out["outcome"] == "found" and out["sidecar"].startswith("kept") and out["preview"].startswith("kept")
    assert (library / "alice.civitai.info").read_text() == '{"id": 5, "note": "by hand"}'
    assert (library / "alice.png").read_bytes().endswith(b"mine") and not list(library.glob("alice.preview.*"))


def test_settings_turn_files_off_and_the_nsfw_level_picks_the_image(civ_app, library, civ):
    from .civitai_fixtures import publish_alice
    from .civitai_standin import make_image

    app = civ_app(civitai_sidecars=False, civitai_nsfw_level=4)
    [out] = app.civitai.run([app.catalog.get("alice")["id"]])["results"]
    assert out["sidecar"] == "off" and not (library / "alice.civitai.info").exists()
    assert out["preview"] == "written: alice.preview.jpeg"  # R allowed: the first image is taken
    (library / "alice.preview.jpeg").unlink()
    publish_alice(civ, app.catalog.get("alice")["path"], images=[
        make_image(civ.image("v.mp4", b"\x00\x00\x00\x18ftypmp42video", "video/mp4"), level=1, kind="video"),
    ])
    [out] = app.civitai.run([app.catalog.get("alice")["id"]], refresh=True)["results"]
    assert out["preview"] == "written: alice.preview.mp4"  # a video stays a video
    app2 = civ_app(civitai_previews=False)
    assert app2.civitai.run([app2.catalog.get("bob")["id"]])["results"][0]["preview"] == "off"


def test_failures_are_not_remembered_and_a_run_stops_when_civitai_is_down(civ_app, civ):
    from .loras import file_sha256

    app = civ_app(civitai_key=KEY)
    civ.fail(file_sha256(civ_app.paths["alice"]).upper(), *([500] * 5))  # alice's five tries
    report = app.civitai.run(all_missing=True)
    out = _by_name(report)
    assert out["alice"]["outcome"] == "failed" and "HTTP 500" in out["alice"]["reason"]
    assert out["bob"]["outcome"] == "found" and report["failed"] == 1
    assert app.civitai.status()["library"]["lacking"] == 1  # alice is asked about again next time
    assert app.civitai.run(all_missing=True)["found"] == 1
    civ.fail("model-versions", *([500] * 100))
    app2 = civ_app(civitai_key=KEY, civitai_recheck_days=0)  # carol's "not found" is due again
    down = app2.civitai.run(all_missing=True)
    assert down["status"] in ("finished", "stopped") and down["found"] == 0
    everything = json.dumps([down, app2.civitai.status()], default=str)
    assert KEY not in everything


def test_retry_after_and_timeouts_are_waited_out(civ_app, civ):
    app = civ_app(civitai_timeout=1.5)  # wide margins: a loaded machine answers in well under 1.5 s, the fault in 4
    civ.slow_s = 4.0
    civ.fail("by-hash", 429, retry_after=0.2)
    civ.fail("by-hash", "timeout")
    report = app.civitai.run([app.catalog.get("alice")["id"]])
    assert report["found"] == 1 and report["retries"] == 2


def test_a_stopped_bulk_fetch_resumes_where_it_stopped(civ_app, civ):
    app = civ_app()
    first = app.civitai.run(all_missing=True, on_outcome=lambda out: app.civitai._stop.set())
    assert first["status"] == "stopped" and first["done"] == 1
    app.civitai._stop.clear()
    rest = app.civitai.run(all_missing=True)
    assert rest["done"] == 2 and {r["id"] for r in rest["results"]}.isdisjoint(r["id"] for r in first["results"])


def test_the_background_run_reports_progress_on_the_bus(civ_app):
    app = civ_app()
    events: list[dict] = []
    app.civitai._publish = events.append
    status = app.civitai.start(all_missing=True)
    assert status["running"] in (True, False)
    assert app.civitai.wait(30)
    last = app.civitai.status()["last_run"]
    assert last["status"] == "finished" and last["found"] == 2 and last["not_found"] == 1
    kinds = [e["type"] for e in events]
    assert kinds[0] == "civitai.started" and kinds[-1] == "civitai.finished"


def test_five_failures_in_a_row_stop_a_bulk_fetch(make_app, library, civ):
    from .loras import write_lora

    for i in range(7):
        write_lora(library / f"l{i}.safetensors", seed=i)
    app = make_app(library, civitai_url=civ.url, civitai_rate=1000.0, embed_model="off")
    app.scan(wait_hashes=True)
    civ.fail("by-hash", *([500] * 1000))
    report = app.civitai.run(all_missing=True)
    assert report["status"] == "stopped" and report["done"] == report["failed"] == 5
    assert (
        report["stopped_reason"].startswith("5 failures in a row") and app.civitai.status()["library"]["lacking"] == 7
    )


def test_a_webp_first_image_is_saved_as_preview_webp(civ_app, library, civ):
    """Civitai's image links often end in .jpeg while the file is a WebP: the bytes name the preview."""
    import io

    from fastapi.testclient import TestClient
    from PIL import Image

    from lora_manager.standalone.app import create_app

    from .civitai_fixtures import publish_alice
    from .civitai_standin import make_image

    buf = io.BytesIO()
    Image.new("RGB", (3, 2), (200, 40, 40)).save(buf, "WEBP")
    webp = buf.getvalue()
    app = civ_app()
    publish_alice(civ, app.catalog.get("alice")["path"], images=[
        make_image(civ.image("alice-r.png"), level=4, image_id=1),  # above PG: skipped
        make_image(civ.image("alice-cdn.jpeg", webp, "image/webp"), level=1, image_id=2),
        make_image(civ.image("alice-later.png"), level=1, image_id=3),
    ])
    [out] = app.civitai.run([app.catalog.get("alice")["id"]])["results"]
    assert out["preview"] == "written: alice.preview.webp"
    assert (library / "alice.preview.webp").read_bytes() == webp
    assert sorted(p.name for p in library.glob("alice.preview.*")) == ["alice.preview.webp"]
    assert civ.paths("/images/") == ["/images/alice-cdn.jpeg"]  # one image asked for: the one taken
    entry = app.catalog.get("alice")
    assert [(p["name"], p["kind"]) for p in entry["previews"]] == [("alice.preview.webp", "image")]
    with TestClient(create_app(app)) as client:
        r = client.get("/lora-manager/v1/loras/alice/previews/0")
        assert r.status_code == 200 and r.headers["content-type"] == "image/webp" and r.content == webp


def test_a_refresh_rewrites_our_sidecar_with_the_new_record_and_leaves_anothers(civ_app, library, civ):
    """Ours is recognised by its mark ("lora_manager": {"written_by": "lora-manager"}): a refresh rewrites it
    with what Civitai answers now; bob's hand-written .civitai.info is not touched in the same run."""
    hand = '{"id": 21, "note": "bob, by hand"}'
    (library / "bob.civitai.info").write_text(hand)
    app = civ_app()
    ids = [app.catalog.get(n)["id"] for n in ("alice", "bob")]
    out = _by_name(app.civitai.run(ids))
    assert out["alice"]["sidecar"] == "written" and out["bob"]["sidecar"].startswith("kept")
    first = (library / "alice.civitai.info").read_bytes()
    assert json.loads(first)["name"] == "v1.0"
    # Without a refresh the stored record answers: our file is left as it is.
    assert _by_name(app.civitai.run(ids))["alice"]["sidecar"] == "kept: ours, up to date"
    assert (library / "alice.civitai.info").read_bytes() == first
    # Civitai's record changes (a new ETag with it); a refresh asks again and rewrites our file.
    civ.versions[11].update(name="v1.1", trainedWords=["alice", "red dress"], baseModel="Illustrious")
    civ.models[7]["tags"] = ["character", "fantasy"]
    out = _by_name(app.civitai.run(ids, refresh=True))
    assert out["alice"]["sidecar"] == "written" and out["bob"]["sidecar"].startswith("kept")
    info = json.loads((library / "alice.civitai.info").read_text())
    assert (info["id"], info["name"], info["trainedWords"], info["baseModel"]) == (
        11, "v1.1", ["alice", "red dress"], "Illustrious")
    assert info["model"]["tags"] == ["character", "fantasy"] and info["creator"]["username"] == "painter"
    assert info["lora_manager"]["written_by"] == "lora-manager"
    assert (library / "bob.civitai.info").read_text() == hand
    entry = app.catalog.get("alice")  # read again: the index holds the new record's words and base
    assert "red dress" in entry["extracted_triggers"] and entry["base_label"] == "Illustrious"
    c = app.civitai.civitai_facts(entry["id"])
    assert c["version_name"] == "v1.1" and c["tags"] == ["character", "fantasy"]


def test_civitai_tags_are_the_models_own_without_a_sidecar(civ_app, library, civ):
    """Sidecar writing off: the stored record's model tags reach the tag filter and GET /tags, a rescan that
    rewrites the file's facts keeps them, and the user's tags stay as they were."""
    from fastapi.testclient import TestClient

    from lora_manager.standalone.app import create_app

    p = "/lora-manager/v1"
    app = civ_app(civitai_sidecars=False)
    app.catalog.edit("alice", {"tags": ["Mine"]})
    alice = app.catalog.get("alice")["id"]
    with TestClient(create_app(app)) as client:
        def tags():
            return {t["tag"]: t for t in client.get(f"{p}/tags").json()}

        def names(**params):
            return sorted(e["name"] for e in client.get(f"{p}/loras", params=params).json()["items"])

        assert "character" not in tags() and names(tag="character") == []
        [out] = app.civitai.run([alice])["results"]
        assert out["outcome"] == "found" and out["sidecar"] == "off"
        assert not (library / "alice.civitai.info").exists()
        assert tags()["character"] == {"tag": "character", "count": 1, "user": 0, "model": 1}
        assert tags()["anime"]["model"] == 1 and tags()["mine"] == {"tag": "mine", "count": 1, "user": 1, "model": 0}
        assert names(tag="character") == ["alice"] and names(tag="ANIME") == ["alice"]
        assert "alice" not in names(exclude_tag="anime") and "alice" not in names(untagged="true")
        # a rescan rewrites alice's facts (a sidecar of tags appears): Civitai's tags stay beside the new one
        (library / "alice.metadata.json").write_text(json.dumps({"file_name": "alice", "tags": ["Anime", "tree"]}))
        app.scan(wait_hashes=True)
        assert app.catalog.get("alice")["source_tags"] == ["anime", "tree"]
        assert names(tag="character") == ["alice"] and names(tag="tree") == ["alice"]
        assert tags()["anime"] == {"tag": "anime", "count": 1, "user": 0, "model": 1}
        # a refresh takes the model's tags of now; the user's tags are untouched
        civ.models[7]["tags"] = ["Character", "Oil  Painting"]
        app.civitai.run([alice], refresh=True)
        assert names(tag="character") == ["alice"] and names(tag="oil painting") == ["alice"]
        assert tags()["anime"]["model"] == 1  # still the sidecar's
        assert app.catalog.get("alice")["tags"] == ["mine"] and names(tag="mine") == ["alice"]
        # taken down since: Civitai's tags go, the sidecar's and the user's stay
        del civ.versions[11]
        assert app.civitai.run([alice], refresh=True)["results"][0]["outcome"] == "not_found"
        assert names(tag="character") == [] and names(tag="tree") == ["alice"] and names(tag="mine") == ["alice"]
