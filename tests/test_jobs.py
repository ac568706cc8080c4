"""In-process jobs: the queue (one at a time, progress, cancel, failures) with a runner
that needs no host; the host runner itself is tested in test_sdnext.py."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from lora_manager.standalone.app import create_app
from lora_manager.jobs.queue import JobRequest

from .conftest import scan
from .loras import write_lora

P = "/lora-manager/v1"


@pytest.fixture
def lib(app, library):
    write_lora(library / "cat.style.safetensors", seed=1, metadata={"modelspec.trigger_phrase": "catword"})
    write_lora(library / "xlthing.safetensors", family="xl", seed=2,
               metadata={"ss_base_model_version": "sdxl_base_v1-0"})
    scan(app)
    app.catalog.edit("cat_style", {"preferred_weight": 0.6})
    return app


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


class FakeRunner:
    """A runner without a host: counts steps, honours interrupt (the host runner is
    tested against the stand-in in test_sdnext.py)."""

    def __init__(self, seconds=0.01):
        self.interrupted = False
        self.seconds = seconds
        self.ran = []

    def checkpoint_family(self):
        return "sd1"

    def interrupt(self):
        self.interrupted = True

    def run(self, job, progress):
        self.interrupted = False
        self.ran.append(job.prompt)
        for step in range(1, job.request.steps + 1):
            if self.interrupted:
                break
            progress(step, job.request.steps)
            time.sleep(self.seconds)
        if "explode" in job.prompt:
            raise RuntimeError("CUDA out of memory")
        return {"images": [], "infotexts": []}


def test_queue_order_cancel_failure_and_warnings(lib):
    from lora_manager.errors import Conflict, NotFound

    runner = FakeRunner()
    lib.jobs.runner = runner
    first = lib.jobs.submit(JobRequest(prompt="one", steps=300))
    second = lib.jobs.submit(JobRequest(prompt="two", steps=5))
    wait_status(lib.jobs, first.id, ("running",))
    assert lib.jobs.get(second.id).status == "queued"
    lib.jobs.cancel(second.id)
    lib.jobs.cancel(first.id)
    job = wait_status(lib.jobs, first.id, ("cancelled", "done", "failed"))
    assert job.status == "cancelled" and job.step < 300 and runner.ran == ["one"]
    boom = lib.jobs.submit(JobRequest(prompt="explode", steps=2))
    job = wait_status(lib.jobs, boom.id, ("done", "failed"))
    assert job.status == "failed" and "out of memory" in job.error
    warn = lib.jobs.submit(JobRequest(prompt="w", steps=1, loras=[{"name": "xlthing"}], check_fit=False))
    assert any("is for xl" in w for w in warn.warnings) and warn.prompt == "w <lora:xlthing:1>"
    with pytest.raises(NotFound):
        lib.jobs.submit(JobRequest(prompt="x", loras=[{"name": "nope"}]))
    wait_status(lib.jobs, warn.id, ("done",))
    with pytest.raises(Conflict):
        lib.jobs.cancel(warn.id)
    assert lib.jobs.list()[0]["id"] == warn.id


def test_preferred_weight_and_triggers(lib):
    lib.jobs.runner = FakeRunner()
    job = lib.jobs.submit(JobRequest(prompt="a cat", steps=1, loras=[{"name": "cat_style"}], add_triggers=True))
    assert job.prompt == "a cat, catword <lora:cat_style:0.6>"
    done = wait_status(lib.jobs, job.id, ("done", "failed"))
    assert done.status == "done" and done.as_dict()["progress"] == {"step": 1, "total": 1, "eta_s": None}


def test_a_done_job_shows_its_progress_complete(lib):
    class Silent(FakeRunner):  # the host's last step report may never come
        def run(self, job, progress):
            return {"images": [], "infotexts": []}

    lib.jobs.runner = Silent()
    job = lib.jobs.submit(JobRequest(prompt="quiet", steps=12))
    done = wait_status(lib.jobs, job.id, ("done",))
    assert done.as_dict()["progress"] == {"step": 12, "total": 12, "eta_s": None}


def test_user_jobs_go_before_background_ones(lib):
    """Preview generation and other bulk work wait for every job a person asked for."""
    runner = FakeRunner()
    lib.jobs.runner = runner
    first = lib.jobs.submit(JobRequest(prompt="first", steps=40))
    wait_status(lib.jobs, first.id, ("running",))
    bg = lib.jobs.submit(JobRequest(prompt="background", steps=1, priority="background"))
    user = lib.jobs.submit(JobRequest(prompt="user", steps=1))
    for job in (first, bg, user):
        wait_status(lib.jobs, job.id, ("done",))
    assert runner.ran == ["first", "user", "background"]
