"""In-process jobs: the queue (one at a time, progress, cancel) and the host runner
against a stand-in of the host's processing, state and queue lock."""

from __future__ import annotations

import os
import sys
import threading
import time
import types

import pytest
from fastapi.testclient import TestClient

from lora_manager.api.standalone import create_app
from lora_manager.jobs import JobRequest

from .conftest import scan
from .loras import write_lora

P = "/lora-manager/v1"


@pytest.fixture
def lib(app, library):
    write_lora(library / "cat.style.safetensors", seed=1, metadata={"modelspec.trigger_phrase": "catword"})
    write_lora(library / "xlthing.safetensors", family="xl", seed=2, metadata={"ss_base_model_version": "sdxl_base_v1-0"})
    scan(app)
    app.catalog.edit("cat_style", {"preferred_weight": 0.6})
    return app


class Host:
    """The parts of SDNext a job touches (HOST_CONTRACT: processing, state, queue lock)."""

    def __init__(self, tmp_path):
        self.lock = threading.Lock()
        self.seen_lock_held = []
        self.calls = []
        host = self

        class State:
            interrupted = False
            sampling_step = 0
            sampling_steps = 0

            def begin(self, title, api=False):
                self.interrupted = False
                return 1

            def end(self, task):
                pass

            def interrupt(self):
                self.interrupted = True

        self.state = State()

        class Txt2Img:
            def __init__(self, **kw):
                self.__dict__.update(kw)
                self.closed = False

            def close(self):
                self.closed = True

        class Image:
            def save(self, path, pnginfo=None):
                from PIL import Image as PILImage

                PILImage.new("RGB", (8, 8)).save(path, pnginfo=pnginfo)

        def process_images(p):
            host.seen_lock_held.append(host.lock.locked())
            host.calls.append(p)
            host.state.sampling_steps = p.steps
            for step in range(1, p.steps + 1):
                if host.state.interrupted:
                    break
                host.state.sampling_step = step
                time.sleep(0.02)
            return types.SimpleNamespace(images=[Image()], infotexts=[f"{p.prompt}\nSteps: {p.steps}"], seed=1234, info="")

        self.modules = {
            "modules": types.ModuleType("modules"),
            "modules.shared": types.SimpleNamespace(state=self.state, sd_model_type="sd", opts=types.SimpleNamespace(sd_model_checkpoint="m")),
            "modules.processing": types.SimpleNamespace(StableDiffusionProcessingTxt2Img=Txt2Img, process_images=process_images),
            "modules.call_queue": types.SimpleNamespace(queue_lock=self.lock),
        }
        for name in ("shared", "processing", "call_queue"):
            setattr(self.modules["modules"], name, self.modules[f"modules.{name}"])


@pytest.fixture
def host_jobs(lib, tmp_path, monkeypatch):
    host = Host(tmp_path)
    for name, mod in host.modules.items():
        monkeypatch.setitem(sys.modules, name, mod)
    from lora_manager.host.jobs_runner import HostRunner

    lib.jobs.runner = HostRunner(str(tmp_path / "outputs"), recorder=lib.recorder)
    return host


def wait_status(jobs, job_id, statuses, timeout=30):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        job = jobs.get(job_id)
        if job.status in statuses:
            return job
        time.sleep(0.02)
    raise AssertionError(f"job stayed {jobs.get(job_id).status}")


def test_without_a_host_jobs_are_refused(lib):
    with TestClient(create_app(lib)) as c:
        r = c.post(f"{P}/jobs", json={"prompt": "a cat", "loras": [{"name": "cat_style"}]})
        assert r.status_code == 409 and r.json()["error"]["code"] == "no_host"


def test_a_job_runs_through_the_host_pipeline(lib, host_jobs, tmp_path):
    with TestClient(create_app(lib)) as c:
        r = c.post(f"{P}/jobs", json={"prompt": "a cat", "loras": [{"name": "cat_style"}, {"name": "xlthing", "weight": 0.3}],
                                      "steps": 5, "add_triggers": True})
        assert r.status_code == 202
        job = wait_status(lib.jobs, r.json()["id"], ("done", "failed"))
        body = c.get(f"{P}/jobs/{job.id}").json()
    assert body["status"] == "done", body
    assert body["prompt"] == "a cat, catword <lora:cat_style:0.6> <lora:xlthing:0.3>"
    assert any("xlthing is for xl" in w for w in body["warnings"])
    assert host_jobs.seen_lock_held == [True] and not host_jobs.lock.locked()
    assert host_jobs.calls[0].closed and host_jobs.calls[0].do_not_save_samples
    (image,) = body["result"]["images"]
    from PIL import Image

    assert "Steps: 5" in Image.open(image).info["parameters"]
    lib.recorder.flush(10)
    usage = lib.repo.list_usage()["items"]
    assert usage[0]["source"] == "job" and usage[0]["outcome"] == "done"


def test_jobs_run_one_at_a_time_and_cancel(lib, host_jobs):
    first = lib.jobs.submit(JobRequest(prompt="one", steps=100))
    second = lib.jobs.submit(JobRequest(prompt="two", steps=5))
    wait_status(lib.jobs, first.id, ("running",))
    assert lib.jobs.get(second.id).status == "queued"
    lib.jobs.cancel(second.id)
    assert lib.jobs.get(second.id).status == "cancelled"
    lib.jobs.cancel(first.id)  # interrupts the host
    job = wait_status(lib.jobs, first.id, ("cancelled", "done", "failed"))
    assert job.status == "cancelled" and job.step < 100
    assert [p.prompt for p in host_jobs.calls] == ["one"]
    lib.recorder.flush(10)
    assert lib.repo.list_usage()["items"][0]["outcome"] == "interrupted"


def test_progress_events_and_unknown_loras(lib, host_jobs):
    from lora_manager.errors import Conflict, NotFound

    with pytest.raises(NotFound):
        lib.jobs.submit(JobRequest(prompt="x", loras=[{"name": "nope"}]))
    job = lib.jobs.submit(JobRequest(prompt="x", steps=30))
    seen = []
    while lib.jobs.get(job.id).status in ("queued", "running"):
        seen.append(lib.jobs.get(job.id).step)
        time.sleep(0.05)
    assert lib.jobs.get(job.id).status == "done" and max(seen) > 0
    with pytest.raises(Conflict):
        lib.jobs.cancel(job.id)
