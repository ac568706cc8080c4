"""Weight sweeps and their grids, preview generation, and the results kept on disk (list, set as preview, delete,
the keep policy that never removes an image in use), through the stand-in SDNext."""

from __future__ import annotations

import json
import os
import time

import pytest
from fastapi.testclient import TestClient

from lora_manager.jobs.preview_gen import example_prompt
from lora_manager.errors import Conflict, NotFound
from lora_manager.jobs.request import JobRequest
from lora_manager.jobs.results import Results

from .generation_helpers import P, SMALL, pixel, start_host, wait_for, wait_job


@pytest.fixture
def hosted(tmp_path, monkeypatch):
    h, core = start_host(tmp_path, monkeypatch)
    yield h, core
    core.close()


def _sweep_done(client, sweep_id):
    return wait_for(lambda: (s := client.get(f"{P}/generation/sweeps/{sweep_id}").json())["status"]
                    in ("done", "failed") and s)


def test_a_weight_sweep_makes_a_labelled_grid_beside_the_singles(hosted):
    host, core = hosted
    with TestClient(host.app) as client:
        r = client.post(f"{P}/generation/sweeps", json={"job": {**SMALL, "prompt": "a cat"},
                                                        "x": {"lora": "hosted", "weights": [0, 0.5, 1]},
                                                        "seeds": [11, 22]})
        assert r.status_code == 202, r.text
        sweep = _sweep_done(client, r.json()["id"])
        assert sweep["status"] == "done" and sweep["columns"] == ["hosted: 0", "hosted: 0.5", "hosted: 1"]
        assert sweep["rows"] == ["seed 11", "seed 22"] and len(sum(sweep["jobs"], [])) == 6
        prompts = [p.prompt for p in host.processed]
        assert sorted(prompts) == sorted(["a cat"] * 6)  # the tags were stripped by the host: see the jobs
        jobs = [[core.jobs.get(j) for j in row] for row in sweep["jobs"]]
        assert [j.prompt for j in jobs[0]] == [f"a cat <lora:hosted:{w}>" for w in ("0", "0.5", "1")]
        assert {j.request.seed for j in jobs[1]} == {22}
        grid = client.get(f"{P}/results/{sweep['grid']}/images/0")
        assert grid.status_code == 200
        _color, (gw, gh) = pixel(grid.content)
        assert gw > 3 * 64 and gh > 2 * 64  # three columns, two rows, and the labels
        grid_path = core.generation.results.image_path(sweep["grid"], 0)
        single = core.generation.results.image_path(jobs[0][0].id, 0)
        assert os.path.dirname(grid_path) == os.path.dirname(single)
        kinds = [r["kind"] for r in client.get(f"{P}/results").json()["items"]]
        assert kinds.count("grid") == 1 and kinds.count("txt2img") == 6


def test_an_xy_sweep_over_two_loras(hosted):
    host, core = hosted
    with TestClient(host.app) as client:
        r = client.post(f"{P}/generation/sweeps", json={"job": {**SMALL, "prompt": "p", "seed": 5},
                                                        "x": {"lora": "hosted", "weights": [0.5, 1]},
                                                        "y": {"lora": "second", "weights": [0, 0.8]}})
        sweep = _sweep_done(client, r.json()["id"])
        assert sweep["status"] == "done" and sweep["rows"] == ["second: 0", "second: 0.8"]
        cells = [[core.jobs.get(j) for j in row] for row in sweep["jobs"]]
        assert cells[1][0].prompt == "p <lora:hosted:0.5> <lora:second:0.8>"
        assert {j.request.seed for row in cells for j in row} == {5}
        too_many = client.post(f"{P}/generation/sweeps", json={"job": {**SMALL, "prompt": "p"},
                                                               "x": {"lora": "hosted", "weights": [0.1] * 9},
                                                               "y": {"lora": "second", "weights": [0.1] * 8}})
        assert too_many.status_code == 422
        same = client.post(f"{P}/generation/sweeps", json={"job": {**SMALL, "prompt": "p"},
                                                           "x": {"lora": "hosted", "weights": [1]},
                                                           "y": {"lora": "hosted", "weights": [1]}})
        assert same.status_code == 422


def test_preview_generation_names_the_file_as_the_host_does(hosted):
    host, core = hosted
    lora = core.catalog.get("hosted")
    (host.lora_dir / "second.png").write_bytes(b"user placed")  # a preview the user put there
    with TestClient(host.app) as client:
        r = client.post(f"{P}/generation/previews", json={**SMALL})  # every LoRA without a preview
        assert r.status_code == 202, r.text
        body = r.json()
        queued = {q["lora"]: q["job"] for q in body["queued"]}
        skipped = {s["lora"]: s["reason"] for s in body["skipped"]}
        assert set(queued) == {"hosted"}
        assert "is for xl" in skipped["bigone"] and "has a preview" in skipped["second"]
        job = wait_job(core, queued["hosted"])
        assert job.status == "done" and job.prompt.startswith("hostword, a detailed picture of hosted")
        target = os.path.splitext(lora["path"])[0] + ".preview.png"
        wait_for(lambda: os.path.exists(target))
        assert pixel(target)[1] == (64, 64)
        wait_for(lambda: core.catalog.get("hosted")["previews"])
        # the host's Networks page shows the new preview without the user pressing the host's refresh
        page = host.shared.extra_networks[0]
        wait_for(lambda: {i["name"]: i["preview"] for i in page.items}.get("hosted") == target)
        again = client.post(f"{P}/generation/previews", json={**SMALL, "loras": ["hosted", "nope"]}).json()
        assert again["queued"] == [] and {s["reason"] for s in again["skipped"]} == {
            "it has a preview (ask to replace it)", "no such LoRA"}
        # replace: the user's file goes to the trash folder, never away
        r = client.post(f"{P}/generation/previews", json={**SMALL, "loras": ["second"], "replace": True}).json()
        assert wait_job(core, r["queued"][0]["job"]).status == "done"
        wait_for((host.lora_dir / "second.preview.png").exists)
        assert not (host.lora_dir / "second.png").exists()
        trashed = [os.path.join(d, f) for d, _s, fs in os.walk(core.settings.trash_dir) for f in fs]
        assert [open(t, "rb").read() for t in trashed] == [b"user placed"]
        used = client.get(f"{P}/results/{job.id}").json()["used_as_preview"]
        assert used == [lora["path"]]


def test_the_example_prompt_comes_from_civitai_when_stored():
    entry = {"title": "Cat Style", "triggers": ["catword", "fluffy"]}
    civitai = {"examples": [{"prompt": "a <lora:cat:0.7> cat on a roof, fluffy"}]}
    assert example_prompt(entry, civitai) == "catword, a cat on a roof, fluffy"
    assert example_prompt(entry, None) == "catword, fluffy, a detailed picture of Cat Style, best quality"


def test_results_set_as_preview_delete_and_cleanup_keep_what_is_used(hosted):
    host, core = hosted
    jobs = [wait_job(core, core.jobs.submit(JobRequest(prompt=f"r{i}", **SMALL)).id) for i in range(4)]
    results = core.generation.results
    with TestClient(host.app) as client:
        page = client.get(f"{P}/results", params={"limit": 3}).json()
        assert page["total"] == 4 and [r["id"] for r in page["items"]] == [j.id for j in jobs[::-1][:3]]
        assert page["items"][0]["params"]["width"] == 64 and page["items"][0]["images"] == 1
        # set as preview: written beside the LoRA, and the result is now in use
        r = client.post(f"{P}/results/{jobs[0].id}/images/0/preview", json={"lora": "second"})
        assert r.status_code == 200 and r.json()["written"] == "second.preview.png"
        kept = client.post(f"{P}/results/{jobs[1].id}/images/0/preview", json={"lora": "second"}).json()
        assert kept["written"] is None and "has a preview" in kept["kept"]
        refused = client.delete(f"{P}/results/{jobs[0].id}")
        assert refused.status_code == 409 and "preview" in refused.json()["error"]["message"]
        # a recipe made from a result keeps its own copy of the image: cleanup may take the result
        recipe = client.post(f"{P}/recipes/from-text", json={"text": "r1", "result": {"id": jobs[1].id, "image": 0}})
        assert recipe.status_code == 201, recipe.text
        recipe = recipe.json()
        preview_image, gone = results.image_path(jobs[0].id, 0), results.image_path(jobs[1].id, 0)
        report = client.post(f"{P}/results/cleanup", json={"keep_gb": 0.0000000001}).json()
        assert report["deleted"] == 3 and report["kept_in_use"] == 1
        assert {r["id"] for r in client.get(f"{P}/results").json()["items"]} == {jobs[0].id}
        assert os.path.exists(preview_image) and not os.path.exists(gone)
        assert client.get(f"{P}/results/{jobs[2].id}").status_code == 404
        assert client.get(f"{P}/recipes/{recipe['id']}/cover").status_code == 200
        deleted = client.delete(f"{P}/results/{jobs[0].id}", params={"force": True}).json()
        assert deleted["deleted"] == 1 and deleted["freed_bytes"] > 0
        assert client.get(f"{P}/results/{jobs[0].id}/images/0").status_code == 404


def test_cleanup_by_age_and_the_setting(tmp_path, monkeypatch):
    monkeypatch.setenv("LORA_MANAGER_OUTPUTS_KEEP_DAYS", "2")
    host, core = start_host(tmp_path, monkeypatch)
    try:
        results = core.generation.results
        assert results.keep_days == 2
        old, new = (wait_job(core, core.jobs.submit(JobRequest(prompt=p, **SMALL)).id) for p in ("old", "new"))
        folder, rec = results._find(old.id)
        rec["finished_at"] -= 3 * 86400
        results._write(folder, rec)
        assert results.cleanup(dry_run=True)["deleted"] == 1 and results.get(old.id)
        report = results.cleanup()
        assert report["deleted"] == 1 and [r["id"] for r in results.list()["items"]] == [new.id]
    finally:
        core.close()


def test_cleanup_by_size_from_the_setting_removes_the_oldest_and_keeps_the_preview(tmp_path, monkeypatch):
    size = 100_000  # each result's image, padded to this many bytes below; the limit holds two and a half
    monkeypatch.setenv("LORA_MANAGER_OUTPUTS_KEEP_GB", repr(2.5 * size / (1 << 30)))
    host, core = start_host(tmp_path, monkeypatch)
    try:
        results = core.generation.results
        assert results.keep_gb == 2.5 * size / (1 << 30) and results.keep_days == 0
        jobs = [wait_job(core, core.jobs.submit(JobRequest(prompt=f"r{i}", **SMALL)).id) for i in range(4)]
        assert [r["id"] for r in results.list()["items"]] == [j.id for j in reversed(jobs)]  # nothing over yet
        paths = [results.image_path(j.id, 0) for j in jobs]
        for path in paths:  # the PNG stays readable: bytes after its end are ignored
            with open(path, "ab") as f:
                f.write(b"\0" * (size - os.path.getsize(path)))
        with TestClient(host.app) as client:
            # r1 was the preview first; r0 replaced it, so only r0 is still in use
            for job, replace in ((jobs[1], False), (jobs[0], True)):
                marked = client.post(f"{P}/results/{job.id}/images/0/preview",
                                     json={"lora": "second", "replace": replace}).json()
                assert marked["written"] == "second.preview.png"
            assert results.get(jobs[1].id)["used_as_preview"] == []
            report = client.post(f"{P}/results/cleanup", json={}).json()  # no keep given: the setting's
        assert (report["deleted"], report["kept_in_use"], report["freed_bytes"], report["remaining_bytes"]) == (
            2, 1, 2 * size, 2 * size)
        # the oldest went first (the oldest of all kept: it is the preview), until the rest fit
        assert [r["id"] for r in results.list()["items"]] == [jobs[3].id, jobs[0].id]
        assert [os.path.exists(p) for p in paths] == [True, False, False, True]
        assert pixel(paths[0])[1] == (64, 64)
    finally:
        core.close()


def test_without_a_host_generation_is_refused_and_results_still_list(app):
    from lora_manager.standalone.app import create_app

    with TestClient(create_app(app)) as c:
        assert c.get(f"{P}/generation/control-models").json() == {"available": False, "models": []}
        for path, body in (("/generation/previews", {}),
                           ("/generation/sweeps", {"job": {"prompt": "p"}, "x": {"lora": "a", "weights": [1]}}),
                           ("/jobs", {"prompt": "p", "kind": "img2img", "init_image": "0" * 32})):
            r = c.post(f"{P}{path}", json=body)
            assert r.status_code == 409 and r.json()["error"]["code"] == "no_host", (path, r.text)
        assert c.get(f"{P}/results").json() == {"total": 0, "limit": 50, "offset": 0, "items": []}
        assert c.get(f"{P}/results/0123456789ab").status_code == 404
        assert c.post(f"{P}/results/cleanup", json={"keep_days": 1}).json()["deleted"] == 0


def test_a_sweep_whose_cell_fails_still_draws_its_grid(hosted):
    host, core = hosted
    host.fail_next = RuntimeError("CUDA out of memory")
    with TestClient(host.app) as client:
        r = client.post(f"{P}/generation/sweeps", json={"job": {**SMALL, "prompt": "p"},
                                                        "x": {"lora": "hosted", "weights": [0.2, 0.9]}, "seeds": [3]})
        sweep = _sweep_done(client, r.json()["id"])
        first, second = (core.jobs.get(j) for j in sweep["jobs"][0])
        assert first.status == "failed" and "out of memory" in first.error and second.status == "done"
        assert sweep["status"] == "done" and client.get(f"{P}/results/{sweep['grid']}/images/0").status_code == 200


def test_a_recipe_made_from_a_result_has_its_image_as_cover_and_a_foreign_one_is_refused(hosted, tmp_path):
    from PIL import Image

    host, core = hosted
    job = wait_job(core, core.jobs.submit(JobRequest(prompt="a fox", loras=[{"name": "hosted", "weight": 0.6}],
                                                     steps=3, width=96, height=64)).id)
    outputs = core.generation.results.outputs
    covers = os.path.join(core.settings.data_dir, "recipe-covers")
    # a record in the outputs folder whose image is a link to a file outside it: not ours to read
    Image.new("RGB", (16, 16), (1, 2, 3)).save(tmp_path / "secret.png")
    os.symlink(tmp_path / "secret.png", os.path.join(outputs, "fedcba987654.png"))
    with open(os.path.join(outputs, "fedcba987654.json"), "w", encoding="utf-8") as f:
        f.write('{"id": "fedcba987654", "kind": "txt2img", "images": ["fedcba987654.png"], "finished_at": 1}')
    with TestClient(host.app) as client:
        result = client.get(f"{P}/results/{job.id}").json()
        text = (result["infotexts"] or [result["prompt"]])[0]  # what the Results panel sends
        refused = [({"id": "../../../etc/passwd"}, 422, "body.result.id: String should match pattern"),
                   ({"id": outputs}, 422, "body.result.id: String should match pattern"),
                   ({"image": 0}, 422, "body.result.id: Field required"),
                   ({"id": "0123456789ab"}, 404, "no result '0123456789ab'"),
                   ({"id": job.id, "image": 1}, 404, "this result has 1 image(s)"),
                   ({"id": "fedcba987654"}, 404, "not in LoRA Manager's outputs folder")]
        for ref, status, words in refused:
            r = client.post(f"{P}/recipes/from-text", json={"text": text, "result": ref})
            body = r.json()  # a 422 says which field and why (inside SDNext, in FastAPI's own shape)
            error = body.get("error") or {"message": "", "details": {"errors": body.get("detail", [])}}
            said = [error["message"], *(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in
                                       error["details"].get("errors", []))]
            assert r.status_code == status and any(words in line for line in said), (ref, r.text)
        assert client.get(f"{P}/recipes").json()["total"] == 0  # none saved, no cover left behind
        assert not os.path.isdir(covers) or not os.listdir(covers)
        r = client.post(f"{P}/recipes/from-text", json={"text": text, "title": "fox",
                                                        "result": {"id": job.id, "image": 0}})
        assert r.status_code == 201, r.text
        recipe = r.json()
        assert recipe["has_cover"] and recipe["source"] == "result" and recipe["title"] == "fox"
        assert recipe["prompt"].startswith("a fox")  # the text is the recipe, read as without a result
        _color, size = pixel(client.get(f"{P}/results/{job.id}/images/0").content)
        cover = client.get(f"{P}/recipes/{recipe['id']}/cover")
        assert cover.status_code == 200 and cover.headers["content-type"] == "image/webp"
        assert cover.content[8:12] == b"WEBP" and pixel(cover.content)[1] == size == (96, 64)
        # the cover is the recipe's own copy: the result deleted, it stays
        assert client.delete(f"{P}/results/{job.id}", params={"force": True}).status_code == 200
        assert pixel(client.get(f"{P}/recipes/{recipe['id']}/cover").content)[1] == (96, 64)
        assert client.post(f"{P}/recipes/from-text", json={"text": text, "result": {"id": job.id}}).status_code == 404
        assert client.get(f"{P}/recipes").json()["total"] == 1


# --- the records read once: many results, another writer, a corrupt record --------------------------------------
def _record(outputs, day: str, rec_id: str, finished_at: float, used=(), mtime: float | None = None, text=None):
    """A result's record and image on disk as another process left them, last modified at mtime (default: an hour
    before now, each record a second apart so none shares its stat with another)."""
    folder = outputs / day
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{rec_id}.png").write_bytes(b"png" * 10)
    rec = {"id": rec_id, "kind": "txt2img", "finished_at": finished_at, "prompt": f"p {rec_id}",
           "images": [f"{rec_id}.png"], "used_as_preview": list(used)}
    path = folder / f"{rec_id}.json"
    path.write_text(text if text is not None else json.dumps(rec), encoding="utf-8")
    when = time.time() - 3600 + finished_at if mtime is None else mtime
    os.utime(path, (when, when))
    return path


@pytest.fixture
def parsed(monkeypatch):
    """The names of the record files Results parses, in order."""
    names, read = [], Results._read
    monkeypatch.setattr(Results, "_read", staticmethod(lambda path: names.append(os.path.basename(path)) or read(path)))
    return names


def test_results_parse_only_the_records_that_changed(tmp_path, parsed):
    outputs, lora, n = tmp_path / "outputs", "/loras/a.safetensors", 60
    for i in range(n):
        _record(outputs, f"2024-01-0{i % 3 + 1}", f"r{i:03d}", i, used=[lora] if i == 5 else ())
    results = Results(str(outputs))
    first = results.list(limit=500)
    assert first["total"] == n and [r["id"] for r in first["items"]][:2] == ["r059", "r058"] and len(parsed) == n
    parsed.clear()
    assert results.list(limit=500) == first and results.get("r007")["prompt"] == "p r007"
    assert parsed == []  # nothing changed: nothing parsed again
    results.mark_preview("r010", lora)  # r005 was the preview: it loses its mark, found without reading all
    assert parsed == []
    page = results.list(limit=500)
    assert sorted(parsed) == ["r005.json", "r010.json"]  # only the two records written
    uses = {r["id"]: r["used_as_preview"] for r in page["items"] if r["used_as_preview"]}
    assert uses == {"r010": [lora]} and results.get("r005")["used_as_preview"] == []
    # what was handed out is a copy: changing it changes nothing kept
    page["items"][0]["used_as_preview"].append("x")
    results.get("r010")["used_as_preview"].append("y")
    assert results.get("r010")["used_as_preview"] == [lora]
    with pytest.raises(Conflict):
        results.delete("r010")
    report = results.cleanup(keep_days=1)  # every record finished in 1970: all old, the preview kept
    assert (report["deleted"], report["kept_in_use"]) == (n - 1, 1)
    assert [r["id"] for r in results.list()["items"]] == ["r010"]
    assert not (outputs / "2024-01-03" / "r005.json").exists() and results.delete("r010", force=True)["deleted"] == 1
    assert results.list()["total"] == 0


def test_results_see_what_another_writer_changed(tmp_path, parsed):
    outputs, lora = tmp_path / "outputs", "/loras/b.safetensors"
    one, two = (_record(outputs, "2024-02-01", rid, t) for rid, t in (("w1", 1), ("w2", 2)))
    results = Results(str(outputs))
    assert [r["id"] for r in results.list()["items"]] == ["w2", "w1"]
    # another process replaces w1 (a new file) with its mark set, and edits w2 in place
    _record(outputs, "2024-02-01", "w1", 3, used=[lora], mtime=time.time() - 100)
    rec = json.loads(two.read_text(encoding="utf-8"))
    with open(two, "w", encoding="utf-8") as f:
        json.dump({**rec, "prompt": "edited elsewhere"}, f)
    os.utime(two, (time.time() - 50, time.time() - 50))
    parsed.clear()
    items = results.list()["items"]
    assert [(r["id"], r["prompt"], r["used_as_preview"]) for r in items] == [
        ("w1", "p w1", [lora]), ("w2", "edited elsewhere", [])]
    assert sorted(parsed) == ["w1.json", "w2.json"]
    results.mark_preview("w2", lora)  # the mark the other writer set is dropped as ours would be
    assert results.get("w1")["used_as_preview"] == [] and results.get("w2")["used_as_preview"] == [lora]
    # a record read in the tick it was written, then edited in place to the same size and mtime: still seen
    three = _record(outputs, "2024-02-01", "w3", 4, mtime=time.time() + 60)
    assert results.get("w3")["prompt"] == "p w3"
    st = three.stat()
    three.write_text(three.read_text(encoding="utf-8").replace("p w3", "q w3"), encoding="utf-8")
    os.utime(three, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert three.stat().st_size == st.st_size and results.get("w3")["prompt"] == "q w3"
    # a mark another writer set since the last look is dropped too when the LoRA's preview is set again
    _record(outputs, "2024-02-01", "w3", 4, used=[lora], mtime=time.time() - 20)
    results.mark_preview("w2", lora)
    assert results.get("w3")["used_as_preview"] == [] and results.get("w2")["used_as_preview"] == [lora]
    # a record removed by someone else drops out
    one.unlink()
    assert [r["id"] for r in results.list()["items"]] == ["w3", "w2"]
    with pytest.raises(NotFound):
        results.get("w1")


def test_results_skip_a_corrupt_record_without_parsing_it_again(tmp_path, parsed):
    outputs = tmp_path / "outputs"
    _record(outputs, "2024-03-01", "ok1", 1)
    bad = _record(outputs, "2024-03-01", "bad1", 2, text='{"id": "bad1", "kind": ')
    _record(outputs, "2024-03-01", "noid1", 3, text='{"kind": "txt2img"}')
    results = Results(str(outputs))
    assert [r["id"] for r in results.list()["items"]] == ["ok1"]
    with pytest.raises(NotFound):
        results.get("bad1")
    parsed.clear()
    assert results.list()["total"] == 1 and parsed == []  # unchanged, so not parsed again
    _record(outputs, "2024-03-01", "bad1", 2, mtime=time.time() - 10)  # mended by someone
    assert [r["id"] for r in results.list()["items"]] == ["bad1", "ok1"] and parsed == ["bad1.json"]
    assert bad.exists() and results.cleanup(keep_days=1)["deleted"] == 2
