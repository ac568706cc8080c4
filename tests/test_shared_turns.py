"""One job at a time on a host, local and shared together (jobs/queue.py, jobs/shared_run.py): the SDNext
stand-in (tests/standin.py) runs both through the extension's own runner under the host's queue lock; a real
Redis holds the shared queue. While a local job runs, a shared job routed here waits still queued in Redis
(not claimed: no lease to run out, cancellable at once) and runs once after it; while a shared job runs, a
local job waits queued and runs after it."""

from __future__ import annotations

from lora_manager.jobs.queue import JobRequest
from lora_manager.jobs.shared import SharedJobs
from lora_manager.storage.job_images_store import JobImagesStore

from .browser import wait_for
from .loras import write_lora
from .standin import Host
from .test_shared_jobs import REDIS, prefix  # noqa: F401  (pytest injects the fixture)

ME = "turns"


def _delivered(shared, priority: str = "user") -> bool:
    """This host's worker has read an entry of its stream (it may not have claimed the job yet)."""
    [group] = shared.redis.r.xinfo_groups(shared.redis.stream(ME, priority))
    return group["last-delivered-id"] not in (b"0-0", "0-0")


def test_a_host_runs_one_job_at_a_time_local_and_shared_together(tmp_path, monkeypatch, prefix):  # noqa: F811
    monkeypatch.setenv("LORA_MANAGER_EMBED_MODEL", "off")
    monkeypatch.delenv("LORA_MANAGER_REDIS", raising=False)
    host = Host(tmp_path, monkeypatch, step_seconds=0.05)
    write_lora(host.lora_dir / "hosted.safetensors")
    host.load_extension()
    host.start()
    core = host.adapter.ready(30)
    core.scans.wait(60)
    core.scan(wait_hashes=True)  # a shared job names its LoRAs by full hash
    local = core.jobs  # the host's own queue, with the extension's runner (the host's pipeline)
    assert local.runner is not None
    # a lease of 1 s, shorter than a local job here (4 s): a shared job that was claimed while it waited
    # would lose its lease and be taken again (attempts 2)
    shared = SharedJobs(local, REDIS, ME, core.catalog, core.events.publish, JobImagesStore(core.db),
                        str(tmp_path / "data"), prefix=prefix, lease_s=1.0, beat_s=0.3,
                        roots=core.settings.lora_dirs)
    shared.start()
    try:
        wait_for(lambda: shared.redis.r.scard(f"{prefix}host:{ME}:loras") == 1, timeout=20)

        def request(prompt, steps):
            return JobRequest(prompt=prompt, loras=[{"name": "hosted"}], steps=steps, check_fit=False, host=ME)

        # a local job runs: the shared job routed here waits, queued, until it ends
        first = local.submit(request("local-1", 80))
        wait_for(lambda: first.status == "running" and first.step >= 1, timeout=20)
        wait_for(lambda: shared.redis.hosts()[ME]["busy"] is True, timeout=10)  # routing sees it busy
        second = shared.submit(request("shared-1", 3))
        wait_for(lambda: _delivered(shared), timeout=20)  # the worker has it in hand
        record = shared.redis.record(second.id)
        assert first.status == "running" and (record["status"], record["owner"], record["step"]) == ("queued", None, 0)
        wait_for(lambda: shared.get(second.id).status == "done", timeout=60)
        assert first.status == "done"
        record = shared.redis.record(second.id)
        assert (record["owner"], record["attempts"]) == (ME, 1)  # claimed once, when its turn came

        # the other way round: a shared job runs, a local job waits, queued, until it ends
        third = shared.submit(request("shared-2", 80))
        wait_for(lambda: shared.redis.record(third.id)["step"] >= 2, timeout=20)
        fourth = local.submit(request("local-2", 3))
        at = shared.redis.record(third.id)["step"]
        wait_for(lambda: shared.redis.record(third.id)["step"] >= at + 10, timeout=20)  # the shared job went on
        assert fourth.status == "queued" and fourth.started_at is None
        assert shared.redis.record(third.id)["status"] == "running"
        wait_for(lambda: fourth.status == "done", timeout=60)
        assert shared.get(third.id).status == "done"

        prompts = [p.prompt.split(",")[0].split(" <")[0].strip() for p in host.processed]
        assert prompts == ["local-1", "shared-1", "shared-2", "local-2"]
        # every one of them under the host's queue lock, which is free afterwards
        assert host.lock_held_during == [True] * 4 and not host.queue_lock.locked()
        assert not local.running_lock.locked()
    finally:
        shared.stop()
        core.scans.wait(30)
        core.close()
