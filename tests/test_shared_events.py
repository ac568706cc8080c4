"""A shared job's events reach another host's event stream (jobs/shared.py, docs/shared-jobs.md): host A, a
server that runs nothing, submits a job over HTTP; host B runs it; A's progress stream (GET /events of a real
server) hears it queued, started, its steps and done, and A's GET /jobs/{id} and its image answer the result.
A real Redis, both hosts on one database (SQLite file, or PostgreSQL)."""

from __future__ import annotations

import json
import shutil
import threading
import time

import httpx

from .browser import ThreadServer, wait_for
from .loras import write_lora
from .shared_hosts import make_host
from .test_shared_jobs import REDIS, prefix  # noqa: F401  (pytest injects the fixture)

P = "/lora-manager/v1"


def _listeners(shared) -> int:
    """How many subscribers the shared event channel has (each host's listener is one)."""
    channel = f"{shared.redis.prefix}events"
    return dict(shared.redis.r.pubsub_numsub(channel)).get(channel.encode(), 0)


def _two_hosts(tmp_path, key_prefix: str, db_url: str, seed: int, **kw) -> list:
    """Hosts a and b, each with its own copy of one LoRA (the same hash on both)."""
    source = write_lora(tmp_path / "src" / "x.safetensors", seed=seed, family="xl")
    made = []
    for name in ("a", "b"):
        lib = tmp_path / f"lib-{name}"
        lib.mkdir()
        shutil.copy(source, lib / "x.safetensors")
        made.append(make_host(name, str(lib), str(tmp_path / f"data-{name}"), db_url, REDIS, key_prefix, "xl", **kw))
    return made


def test_a_job_run_by_another_host_is_heard_on_this_hosts_event_stream(tmp_path, prefix, db_url):  # noqa: F811
    made = _two_hosts(tmp_path, prefix, db_url, 3, step_s=0.05)
    (a_core, a, _), (b_core, b, b_runner) = made
    a.runner = None  # A submits and watches; only B runs jobs
    server = ThreadServer(a_core)
    try:
        wait_for(lambda: {"a", "b"} <= set(a.redis.hosts()), timeout=10)
        wait_for(lambda: a.redis.hosts()["a"]["runner"] is False, timeout=10)  # its heartbeat says it runs nothing
        wait_for(lambda: a.redis.r.scard(f"{prefix}host:b:loras") == 1, timeout=10)
        wait_for(lambda: _listeners(a) >= 2, timeout=10)  # both hosts' listeners are subscribed
        events: list[dict] = []
        submitted: dict = {}
        with httpx.Client(base_url=server.base, timeout=30) as client:
            deadline = time.monotonic() + 60  # a bound against a hang, not a timing assert
            with client.stream("GET", P + "/events", params={"heartbeat": 1}) as stream:
                for line in stream.iter_lines():
                    assert time.monotonic() < deadline, [e["type"] for e in events]
                    if not line.startswith("data: "):
                        continue
                    event = json.loads(line[6:])
                    events.append(event)
                    if event["type"] == "hello":
                        r = client.post(P + "/jobs", json={"prompt": "far", "steps": 12, "loras": [{"name": "x"}]})
                        assert r.status_code == 202, r.text
                        submitted = r.json()
                    elif event["type"] in ("job.done", "job.failed", "job.cancelled"):
                        break
            job_id = submitted["id"]
            mine = [e for e in events if e.get("id") == job_id or (e.get("job") or {}).get("id") == job_id]
            kinds = [e["type"] for e in mine]
            assert kinds[0] == "job.queued" and kinds[1] == "job.started" and kinds[-1] == "job.done", kinds
            assert set(kinds[2:-1]) == {"job.progress"}, kinds  # at least one step, told by B
            steps = [e["step"] for e in mine[2:-1]]
            assert steps == sorted(steps) and steps[-1] == 12 and all(e["total"] == 12 for e in mine[2:-1])
            assert mine[0]["job"]["status"] == "queued" and mine[1]["job"]["status"] == "running"
            assert mine[1]["job"]["host"] == "b" and mine[-1]["job"]["host"] == "b"
            assert mine[-1]["job"]["result"]["images"] == ["image 0"]
            assert len({e["seq"] for e in mine}) == len(mine)  # each heard once
            # A answers for the job B ran: its state, result and image
            job = client.get(f"{P}/jobs/{job_id}").json()
            assert (job["status"], job["host"], job["progress"]["step"]) == ("done", "b", 12)
            assert job["result"]["host"] == "b" and [j for j, _ in b_runner.ran] == [job_id]
            image = client.get(f"{P}/jobs/{job_id}/images/0")
            assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
    finally:
        server.stop()
        for core, _, _ in made:
            core.close()


def test_this_hosts_event_bus_hears_every_event_of_a_job_another_host_runs_once(tmp_path, prefix, db_url):  # noqa: F811
    """The same through A's EventBus alone (what the stream reads), with a job B submitted: A hears it too."""
    import asyncio

    made = _two_hosts(tmp_path, prefix, db_url, 4)
    (a_core, a, _), (b_core, b, _) = made
    a.runner = None
    heard: list[dict] = []
    ready, finished = threading.Event(), threading.Event()

    async def listen():
        sid, queue = a_core.events.subscribe()
        ready.set()
        try:
            while not finished.is_set():
                try:
                    event = await asyncio.wait_for(queue.get(), 0.5)
                except asyncio.TimeoutError:
                    continue
                heard.append(event)
                if event["type"] == "job.done":
                    finished.set()
        finally:
            a_core.events.unsubscribe(sid)

    thread = threading.Thread(target=asyncio.run, args=(listen(),), daemon=True)
    thread.start()
    try:
        ready.wait(10)
        wait_for(lambda: _listeners(a) >= 2 and a.redis.r.scard(f"{prefix}host:b:loras") == 1, timeout=10)
        wait_for(lambda: a.redis.hosts().get("a", {}).get("runner") is False, timeout=10)
        from lora_manager.jobs.queue import JobRequest

        job = b.submit(JobRequest(prompt="p", loras=[{"name": "x"}], steps=4))
        assert finished.wait(30), [e["type"] for e in heard]
        kinds = [e["type"] for e in heard if e.get("id") == job.id or (e.get("job") or {}).get("id") == job.id]
        assert kinds[0] == "job.queued" and kinds[1] == "job.started" and kinds[-1] == "job.done", kinds
        assert kinds.count("job.queued") == kinds.count("job.started") == kinds.count("job.done") == 1
        assert a.get(job.id).status == "done" and a.get(job.id).host == "b"
    finally:
        finished.set()
        thread.join(10)
        for core, _, _ in made:
            core.close()
