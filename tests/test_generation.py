"""img2img and control jobs through the stand-in SDNext (its processing classes and control entry point, written
from the host contract), uploaded images checked by Pillow, and the failures a user can act on: a LoRA that does
not fit the checkpoint, the host's out-of-memory, a cancelled job that leaves no image."""

from __future__ import annotations

import os
import sys

from fastapi.testclient import TestClient

from lora_manager.jobs.inputs import MAX_UPLOAD, TooLarge, check_image
from lora_manager.jobs.request import JobRequest

import pytest

from .generation_helpers import P, SMALL, bomb_png, pixel, png, start_host, wait_for, wait_job


@pytest.fixture
def hosted(tmp_path, monkeypatch):
    h, core = start_host(tmp_path, monkeypatch)
    yield h, core
    core.close()


def _upload(client, data: bytes, ctype: str = "image/png"):
    return client.post(f"{P}/generation/init-images", content=data, headers={"content-type": ctype})


def test_img2img_from_an_upload_and_from_a_previous_result(hosted):
    host, core = hosted
    with TestClient(host.app) as client:
        up = _upload(client, png((255, 0, 0)))
        assert up.status_code == 201 and (up.json()["width"], up.json()["height"]) == (48, 48)
        r = client.post(f"{P}/jobs", json={**SMALL, "kind": "img2img", "prompt": "a red thing", "init_image":
                                           up.json()["id"], "denoising_strength": 0.35, "resize_mode": 2,
                                           "loras": [{"name": "hosted", "weight": 0.7}]})
        assert r.status_code == 202, r.text
        job = wait_job(core, r.json()["id"])
        assert job.status == "done", job.error
        p = host.processed[-1]
        assert type(p).__name__ == "Img2Img" and (p.denoising_strength, p.resize_mode) == (0.35, 2)
        assert p.init_images[0].getpixel((1, 1)) == (255, 0, 0) and host.lock_held_during[-1] is True
        image = client.get(f"{P}/jobs/{job.id}/images/0")
        assert pixel(image.content) == ((255, 0, 0), (64, 64))  # the stand-in returns the init image resized
        again = client.post(f"{P}/jobs", json={**SMALL, "kind": "img2img", "prompt": "again",
                                               "init_image": f"job:{job.id}/0"})
        second = wait_job(core, again.json()["id"])
        assert second.status == "done" and host.processed[-1].init_images[0].getpixel((1, 1)) == (255, 0, 0)
        assert client.get(f"{P}/jobs/{second.id}").json()["kind"] == "img2img"
        # img2img needs its image; a reference to nothing is a 404 before anything queues
        assert client.post(f"{P}/jobs", json={**SMALL, "kind": "img2img", "prompt": "x"}).status_code == 422
        missing = client.post(f"{P}/jobs", json={**SMALL, "kind": "img2img", "prompt": "x", "init_image": "0" * 32})
        assert missing.status_code == 404 and "upload it again" in missing.json()["error"]["message"]
        assert client.post(f"{P}/jobs", json={**SMALL, "kind": "img2img", "prompt": "x",
                                              "init_image": "job:000000000000/0"}).status_code == 404


def test_uploads_are_checked_by_pillow(hosted):
    host, _core = hosted
    with TestClient(host.app) as client:
        assert _upload(client, b"not an image at all").status_code == 422
        bomb = _upload(client, bomb_png())  # refused by Pillow before decoding
        assert bomb.status_code == 422 and "too large to decode" in bomb.json()["error"]["message"]
        wide = _upload(client, bomb_png(9000, 10))  # below Pillow's own limit, above ours
        assert wide.status_code == 422 and "9000x10" in wide.json()["error"]["message"]
        assert _upload(client, png(fmt="GIF"), "image/png").status_code == 422  # a format we do not take
        assert _upload(client, png(), "text/plain").status_code == 415
        assert _upload(client, png(fmt="JPEG"), "image/jpeg").status_code == 201
        assert _upload(client, png(fmt="WEBP"), "image/webp").status_code == 201
        truncated = png(size=(200, 200))[:300]
        assert _upload(client, truncated).status_code == 422
    with pytest.raises(TooLarge):
        check_image(b"\0" * (MAX_UPLOAD + 1))


def test_control_jobs_through_the_hosts_control_pipeline(hosted):
    host, core = hosted
    controlnet = sys.modules["modules.control.units.controlnet"]
    real = list(host.control_models)
    host.control_models[:] = ["None"]
    controlnet.list_models()  # seen in a real SDNext: the host lists once while no model is loaded, and keeps it
    host.control_models[:] = real
    with TestClient(host.app) as client:
        assert client.get(f"{P}/generation/control-models").json() == {"available": True, "models": ["Canny", "Depth"]}
        control = _upload(client, png((0, 0, 255))).json()["id"]
        init = _upload(client, png((0, 255, 0))).json()["id"]
        r = client.post(f"{P}/jobs", json={**SMALL, "kind": "control", "prompt": "blue", "control_image": control,
                                           "control_model": "Canny", "loras": [{"name": "hosted"}]})
        assert r.status_code == 202, r.text
        job = wait_job(core, r.json()["id"])
        assert job.status == "done", job.error
        call = host.control_calls[-1]
        assert call["models"] == ["Canny"] and call["lock"] is True and call["inits"] is None
        assert call["inputs"][0].getpixel((1, 1)) == (0, 0, 255)
        assert pixel(client.get(f"{P}/jobs/{job.id}/images/0").content)[0] == (0, 0, 255)
        assert job.result["infotexts"] == ["blue\nSteps: 3"]  # the infotext, never the host's HTML of it
        assert core.recorder.flush(10)  # recorded as our other jobs are (seen in a real SDNext: it was not)
        events = core.analytics.list_usage()["items"]
        assert [(e["source"], e["prompt"], e["outcome"]) for e in events] == [("job", "blue <lora:hosted:1>", "done")]
        assert [(x["prompt_name"], x["status"]) for x in events[0]["loras"]] == [("hosted", "applied")]
        assert [n.name for n in host.loaded_networks] == ["hosted"] and not host.queue_lock.locked()
        # with a separate init image: input type 2, the init image goes through
        r = client.post(f"{P}/jobs", json={**SMALL, "kind": "control", "prompt": "g", "control_image": control,
                                           "init_image": init, "control_model": "Depth"})
        job = wait_job(core, r.json()["id"])
        assert job.status == "done" and host.control_calls[-1]["input_type"] == 2
        assert pixel(job.result["images"][0])[0] == (0, 255, 0)
        bad = client.post(f"{P}/jobs", json={**SMALL, "kind": "control", "prompt": "x", "control_image": control,
                                             "control_model": "Nope"})
        assert bad.status_code == 422 and "Canny" in bad.json()["error"]["message"]
        host.control_models[:] = ["None"]  # the host lost the model between queueing and running
        r = client.post(f"{P}/jobs", json={**SMALL, "kind": "control", "prompt": "x", "control_image": control,
                                           "control_model": "Canny"})
        assert r.status_code == 422


def test_a_host_without_control_says_so(tmp_path, monkeypatch):
    host, core = start_host(tmp_path, monkeypatch, control=False)
    try:
        with TestClient(host.app) as client:
            assert client.get(f"{P}/generation/control-models").json() == {"available": False, "models": []}
            control = _upload(client, png()).json()["id"]
            r = client.post(f"{P}/jobs", json={**SMALL, "kind": "control", "prompt": "x", "control_image": control,
                                               "control_model": "Canny"})
            assert r.status_code == 409 and r.json()["error"]["code"] == "no_control"
    finally:
        core.close()


def test_a_lora_that_does_not_fit_fails_before_running(hosted):
    host, core = hosted
    job = core.jobs.submit(JobRequest(prompt="x", loras=[{"name": "bigone"}], **SMALL))
    assert any("is for xl" in w for w in job.warnings)
    done = wait_job(core, job.id)
    assert done.status == "failed" and "bigone is for xl" in done.error and "loaded checkpoint is sd1" in done.error
    assert host.processed == [] and host.lock_held_during == []
    anyway = wait_job(core, core.jobs.submit(JobRequest(prompt="x", loras=[{"name": "bigone"}], check_fit=False,
                                                        **SMALL)).id)
    assert anyway.status == "done"
    host.shared.sd_model_type = "sdxl"  # the user loads an XL checkpoint: it fits now
    assert wait_job(core, core.jobs.submit(JobRequest(prompt="x", loras=[{"name": "bigone"}], **SMALL)).id).status \
        == "done"


class OutOfMemoryError(RuntimeError):
    """torch.cuda.OutOfMemoryError's name and message, as the host raises it."""


def test_the_hosts_out_of_memory_fails_the_job_and_the_queue_goes_on(hosted):
    host, core = hosted
    host.fail_next = OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
    first = core.jobs.submit(JobRequest(prompt="big", **SMALL))
    second = core.jobs.submit(JobRequest(prompt="next", **SMALL))
    failed, done = wait_job(core, first.id), wait_job(core, second.id)
    assert failed.status == "failed" and "ran out of memory" in failed.error and "Tried to allocate" in failed.error
    assert "lower width, height or batch size" in failed.error
    assert done.status == "done" and not host.queue_lock.locked()


def test_a_cancelled_job_leaves_no_image(hosted):
    host, core = hosted
    host.step_seconds = 0.02
    job = core.jobs.submit(JobRequest(prompt="long", steps=300, width=64, height=64))
    wait_for(lambda: core.jobs.get(job.id).status == "running" and core.jobs.get(job.id).step > 0)
    core.jobs.cancel(job.id)
    done = wait_job(core, job.id)
    assert done.status == "cancelled" and done.result["images"] == []
    assert host.processed[-1].closed  # the host did hand back a partial image; it was not saved
    outputs = os.path.join(core.settings.data_dir, "outputs")
    written = [f for _d, _s, files in os.walk(outputs) for f in files]
    assert not [f for f in written if f.startswith(job.id) or f.endswith(".part")]
    assert core.generation.results.list()["total"] == 0
