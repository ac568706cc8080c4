"""Recipes over HTTP on SQLite and PostgreSQL: made from images of every dialect (LoRAs matched by hash,
then name; missing ones listed with their Civitai link), CRUD and filters, export/import as JSON and PNG,
send to the host, run as a job, made from a recorded generation, hostile uploads."""

from __future__ import annotations

import io
import json

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from lora_manager.api.routes import PREFIX
from lora_manager.standalone.app import create_app

from . import recipe_images as RI
from .loras import file_sha256, tensor_sha256, write_lora
from .test_jobs import FakeRunner

P = PREFIX + "/recipes"


@pytest.fixture
def setup(make_app, library):
    paths = {"cat": write_lora(library / "cat_style.safetensors", seed=1),
             "dog": write_lora(library / "sub" / "dog_style.safetensors", seed=2, family="xl"),
             "renamed": write_lora(library / "old_name_v2.safetensors", seed=3)}
    core = make_app(library, embed_model="off")
    core.scan(wait_hashes=True)
    with TestClient(create_app(core)) as client:
        yield core, client, paths


def _upload(client, data: bytes, ctype="image/png", **params):
    return client.post(f"{P}/from-image", content=data, headers={"content-type": ctype}, params=params)


def test_a1111_png_matched_by_tensor_hash_even_under_another_name(setup):
    core, client, paths = setup
    short = tensor_sha256(paths["renamed"])[:12]  # A1111's `Lora hashes` (AutoV3)
    r = _upload(client, RI.png({"parameters": RI.a1111_text(lora="my_old_name", tensor_hash=short)}), title="Roof")
    assert r.status_code == 201, r.text
    rec = r.json()
    assert (rec["dialect"], rec["title"], rec["source"], rec["has_cover"]) == ("a1111", "Roof", "image", True)
    assert (rec["prompt"], rec["negative_prompt"]) == ("a cat on a roof, sunset", "blurry, lowres")
    assert (rec["steps"], rec["sampler"], rec["scheduler"], rec["cfg_scale"], rec["seed"]) == (28, "DPM++ 2M",
                                                                                              "Karras", 6.5, 1234)
    assert (rec["width"], rec["height"], rec["checkpoint"], rec["params"]["Clip skip"]) == (512, 768, "dreamshaper_8",
                                                                                            "2")
    [lora] = rec["loras"]
    assert lora["present"] and lora["matched_by"] == "tensor_hash" and lora["name"] == "old_name_v2"
    assert lora["sha256"] == file_sha256(paths["renamed"]) and lora["weight"] == 0.7
    assert rec["warnings"] == [] and rec["base_model"] == "sd1"
    cover = client.get(f"{P}/{rec['id']}/cover")
    assert cover.status_code == 200 and Image.open(io.BytesIO(cover.content)).size == (64, 48)


def test_sdnext_civitai_and_comfy_dialects(setup):
    core, client, paths = setup
    sd = _upload(client, RI.png({"parameters": RI.sdnext_text(hashes=(tensor_sha256(paths["cat"])[:8], "deadbeef"))}))
    assert sd.status_code == 201, sd.text
    cat, dog = sd.json()["loras"]
    assert sd.json()["dialect"] == "sdnext" and cat["matched_by"] == "tensor_hash"
    # dog_style's recorded hash is not the file's: found by name, but flagged as another file
    assert not dog["present"] and dog["matched_by"] == "name" and "hash differs" in dog["note"]
    exif = RI.user_comment(RI.civitai_text(lora_sha=file_sha256(paths["cat"])[:10]))
    civ = _upload(client, RI.with_exif("JPEG", exif), ctype="image/jpeg")
    assert civ.status_code == 201, civ.text
    body = civ.json()
    cat, far = body["loras"]
    assert body["dialect"] == "civitai" and cat["present"] and cat["weight"] == 0.9
    assert cat["tensor_sha256"] == tensor_sha256(paths["cat"])  # found by its AutoV2, stored with every hash
    assert not far["present"] and far["civitai_url"] == "https://civitai.com/models/99?modelVersionId=4242"
    assert any("Far Away Style is not in the library" in w and "civitai.com/models/99" in w for w in body["warnings"])
    graphs = {"prompt": json.dumps(RI.comfy_prompt()), "workflow": json.dumps(RI.comfy_workflow())}
    comfy = _upload(client, RI.png(graphs))
    assert comfy.status_code == 201, comfy.text
    c = comfy.json()
    assert c["dialect"] == "comfyui" and [lo["name"] for lo in c["loras"]] == ["cat_style", "dog_style"]
    assert c["loras"][0]["present"] and c["loras"][0]["te"] == 0.6 and (c["width"], c["height"]) == (512, 640)
    webp = _upload(client, RI.with_exif("WEBP", RI.user_comment(RI.a1111_text(), "le")), ctype="image/webp")
    assert webp.status_code == 201 and webp.json()["loras"][0]["matched_by"] == "name"


def test_hostile_uploads_get_clear_errors(setup):
    core, client, _ = setup
    cases = [
        (b"not an image at all", "image/png", 422, "not an image"),
        (RI.png({}), "image/png", 422, "no generation parameters"),
        (RI.png({"parameters": "x" * ((1 << 20) + 10)}), "image/png", 422, "over"),
        (RI.png({"prompt": "{not json", "workflow": "[]"}), "image/png", 422, "ComfyUI"),
        (RI.with_exif("JPEG", b"UNICODE\x00" + "x".encode("utf-16-be")), "image/jpeg", 201, None),
        (b"GIF89a", "image/gif", 415, None),
    ]
    for data, ctype, status, words in cases:
        r = _upload(client, data, ctype)
        assert r.status_code == status, (ctype, r.text[:300])
        if words:
            assert words in r.json()["error"]["message"], r.text
    assert client.get(P).json()["total"] == 1  # only the one that parsed (an x prompt)


def test_crud_search_and_filters(setup):
    core, client, paths = setup
    a = client.post(P, json={"title": "Cats", "prompt": "a cat", "tags": ["Pets", "pets", "Warm light"],
                             "loras": [{"name": "cat_style", "weight": 0.8}]}).json()
    b = client.post(P, json={"prompt": "a dog in snow", "loras": [{"name": "dog_style"}], "tags": ["pets"]}).json()
    assert a["tags"] == ["pets", "warm light"] and b["title"] == "a dog in snow"
    assert a["loras"][0]["tensor_sha256"] == tensor_sha256(paths["cat"])
    assert {r["id"] for r in client.get(P, params={"tag": "pets"}).json()["items"]} == {a["id"], b["id"]}
    assert [r["id"] for r in client.get(P, params={"lora": "cat_style"}).json()["items"]] == [a["id"]]
    assert [r["id"] for r in client.get(P, params={"q": "snow"}).json()["items"]] == [b["id"]]
    assert client.get(f"{P}/tags").json() == [{"tag": "pets", "count": 2}, {"tag": "warm light", "count": 1}]
    p = client.patch(f"{P}/{a['id']}", json={"notes": "golden hour", "tags": ["x"], "steps": 30})
    assert p.status_code == 200 and (p.json()["notes"], p.json()["tags"], p.json()["steps"]) == ("golden hour",
                                                                                                  ["x"], 30)
    assert p.json()["loras"][0]["name"] == "cat_style"  # untouched by a patch without loras
    assert client.patch(f"{P}/{a['id']}", json={}).status_code == 422
    assert client.patch(f"{P}/{a['id']}", json={"title": None}).json()["title"] == "a cat"
    assert client.patch(f"{P}/{a['id']}", json={"loras": [{"name": "<lora:x>"}]}).status_code == 422
    assert client.post(P, json={"steps": 0}).status_code == 422
    assert client.delete(f"{P}/{a['id']}").json() == {"id": a["id"], "deleted": True}
    assert client.get(f"{P}/{a['id']}").status_code == 404
    assert client.get(P, params={"lora": "no_such_lora"}).status_code == 404


def test_export_import_json_and_png_match_by_hash(setup):
    core, client, paths = setup
    text = RI.a1111_text(tensor_hash=tensor_sha256(paths["cat"])[:12])
    made = _upload(client, RI.png({"parameters": text}), title="Shared").json()
    doc = client.get(f"{P}/{made['id']}/export", params={"format": "json"})
    assert doc.status_code == 200 and doc.headers["content-type"].startswith("application/json")
    data = doc.json()
    assert data["format"] == "lora-manager-recipe" and data["version"] == 1
    [portable] = data["recipes"]
    assert "id" not in portable and portable["loras"][0]["sha256"] == file_sha256(paths["cat"])
    portable["loras"][0]["name"] = "someone_elses_name"  # another library's name: the hash finds ours
    back = client.post(f"{P}/import", content=json.dumps(data), headers={"content-type": "application/json"})
    assert back.status_code == 201, back.text
    [imported] = back.json()["recipes"]
    assert imported["source"] == "import" and imported["loras"][0]["name"] == "cat_style"
    png = client.get(f"{P}/{made['id']}/export", params={"format": "png"})
    assert png.headers["content-type"] == "image/png"
    img = Image.open(io.BytesIO(png.content))
    assert "Lora hashes" in img.info["parameters"] and "lora-manager-recipe" in img.info
    again = client.post(f"{P}/import", content=png.content, headers={"content-type": "image/png"})
    assert again.status_code == 201 and again.json()["recipes"][0]["title"] == "Shared"
    assert again.json()["recipes"][0]["has_cover"]
    bad = [b"{", json.dumps({"format": "other"}), json.dumps({"format": "lora-manager-recipe", "version": 1,
                                                              "recipes": [{"steps": "many"}]})]
    for body in bad:
        r = client.post(f"{P}/import", content=body, headers={"content-type": "application/json"})
        assert r.status_code == 422, r.text
    assert "recipe 1 of the document" in r.json()["error"]["message"]
    plain = client.post(f"{P}/import", content=RI.png({"parameters": "x"}), headers={"content-type": "image/png"})
    assert plain.status_code == 422 and "from-image" in plain.json()["error"]["message"]


def test_send_and_run_with_warnings(setup):
    core, client, paths = setup
    rec = client.post(P, json={"prompt": "a cat", "negative_prompt": "blur", "steps": 12, "seed": 5, "width": 512,
                               "height": 512, "sampler": "Euler a", "cfg_scale": 6, "base_model": "xl",
                               "loras": [{"name": "cat_style", "weight": 0.6}, {"name": "dog_style", "weight": 1}]}
                      ).json()
    core.family.source = lambda: "sd1"
    sent = client.post(f"{P}/{rec['id']}/send").json()
    assert sent["prompt"] == "a cat <lora:cat_style:0.6> <lora:dog_style:1>"
    lines = sent["infotext"].split("\n")
    assert lines[1] == "Negative prompt: blur"
    assert "Steps: 12, Sampler: Euler a, CFG scale: 6, Seed: 5, Size: 512x512" in lines[2]
    assert any("dog_style is for xl, the loaded checkpoint is sd1" in w for w in sent["warnings"])
    assert any("made for xl" in w for w in sent["warnings"])
    assert client.post(f"{P}/{rec['id']}/run").status_code == 409  # no host: jobs need one
    core.jobs.runner = FakeRunner()
    ran = client.post(f"{P}/{rec['id']}/run")
    assert ran.status_code == 202, ran.text
    job = core.jobs.get(ran.json()["id"])
    assert job.prompt == "a cat <lora:cat_style:0.6> <lora:dog_style:1>" and job.request.seed == 5
    assert any("dog_style is for xl" in w for w in ran.json()["warnings"])
    missing = client.post(P, json={"prompt": "x", "loras": [{"name": "nowhere"}]}).json()
    r = client.post(f"{P}/{missing['id']}/run")
    assert r.status_code == 422 and "nowhere" in r.json()["error"]["message"]


def test_tags_in_a_saved_prompt_reach_the_host_once(setup):
    # seen in a real SDNext: a recipe saved with its tag in the prompt and in the stack was sent and run as
    # "a cat <lora:cat_style:0.7> <lora:cat_style:0.7>", and the host applied the LoRA twice
    core, client, _paths = setup
    rec = client.post(P, json={"prompt": "a cat <lora:cat_style:0.7> on a roof, <lora:old_name_v2:0.3>",
                               "loras": [{"name": "cat_style", "weight": 0.5}], "steps": 8, "width": 512,
                               "height": 512}).json()
    assert rec["prompt"] == "a cat on a roof"  # the tags left the prompt; the stack's own weight wins
    assert [(lo["name"], lo["weight"], lo["present"]) for lo in rec["loras"]] == [
        ("cat_style", 0.5, True), ("old_name_v2", 0.3, True)]
    sent = client.post(f"{P}/{rec['id']}/send").json()
    assert sent["prompt"] == "a cat on a roof <lora:cat_style:0.5> <lora:old_name_v2:0.3>"
    assert sent["infotext"].count("<lora:cat_style") == 1
    core.jobs.runner = FakeRunner()
    job = core.jobs.get(client.post(f"{P}/{rec['id']}/run").json()["id"])
    assert job.prompt.count("<lora:cat_style") == 1 and job.prompt.count("<lora:old_name_v2") == 1
    edited = client.patch(f"{P}/{rec['id']}", json={"prompt": "a dog <lora:cat_style:0.9>"}).json()
    assert edited["prompt"] == "a dog" and [lo["weight"] for lo in edited["loras"]] == [0.5, 0.3]


def test_from_a_recorded_generation(setup):
    core, client, paths = setup
    from datetime import datetime, timezone

    [gid] = core.recorder.usage_store.record_generations([{
        "started_at": datetime.now(timezone.utc), "outcome": "done", "source": "ui", "checkpoint": "v1-5",
        "checkpoint_family": "sd1", "seed": 9, "steps": 21, "width": 512, "height": 512, "sampler": "DDIM",
        "prompt": "a red fox <lora:cat_style:0.55>", "negative_prompt": "text",
        "requested": [{"name": "cat_style", "te": 0.55, "unet": 0.55}], "applied": []}])
    r = client.post(f"{P}/from-event/{gid}")
    assert r.status_code == 201, r.text
    rec = r.json()
    assert (rec["prompt"], rec["seed"], rec["steps"], rec["base_model"], rec["source"]) == ("a red fox", 9, 21, "sd1",
                                                                                          "event")
    assert rec["loras"][0]["present"] and rec["loras"][0]["weight"] == 0.55
    assert client.post(f"{P}/from-event/999999").status_code == 404


def test_from_text_a_prompt_box_or_a_jobs_infotext(setup):
    core, client, paths = setup
    r = client.post(f"{P}/from-text", json={"text": "a cat <lora:cat_style:0.4>\nNegative prompt: dull"})
    assert r.status_code == 201, r.text
    rec = r.json()
    assert (rec["prompt"], rec["negative_prompt"], rec["source"]) == ("a cat", "dull", "text")
    assert rec["loras"][0]["present"] and rec["loras"][0]["weight"] == 0.4
    job_info = RI.sdnext_text(hashes=(tensor_sha256(paths["cat"])[:8], tensor_sha256(paths["dog"])[:8]))
    r = client.post(f"{P}/from-text", json={"text": job_info, "title": "From a job"})
    assert r.json()["dialect"] == "sdnext" and all(lo["present"] for lo in r.json()["loras"])
    odd = client.post(f"{P}/from-text", json={"text": "x\nSteps: 1e999, Seed: nan, Size: 8x8"})
    assert odd.status_code == 201 and odd.json()["notes_read"]  # numbers that are not: noted, never a crash
    assert client.post(f"{P}/from-text", json={"text": "   "}).status_code == 422
