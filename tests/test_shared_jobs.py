"""Jobs shared by several hosts through a real Redis (jobs/shared.py): routing by the LoRAs a host has and
its checkpoint's family, one job per host, progress, cancel and images from any host, priority, a host
killed mid-job, and Redis stopped and started again with jobs queued."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import types
import uuid

import orjson

import pytest

from lora_manager.errors import Conflict
from lora_manager.jobs.queue import JobRequest
from lora_manager.jobs.redis_store import MAX_ATTEMPTS, RedisJobs
from lora_manager.jobs.shared import SharedJobs
from lora_manager.jobs.shared_run import SharedRun

from .browser import wait_for
from .loras import write_lora
from .shared_hosts import REDIS, StepRunner, make_host, redis_or_skip



@pytest.fixture
def prefix():
    redis = redis_or_skip()
    p = f"lmtest:{uuid.uuid4().hex[:8]}:"
    yield p
    r = redis.Redis.from_url(REDIS)
    keys = list(r.scan_iter(match=p + "*", count=1000))
    if keys:
        r.delete(*keys)


@pytest.fixture
def hosts(tmp_path, prefix):
    """Host a (family xl) has x and y; host b (family f1) has x only; each its own library and database."""
    made = []

    def make(name, loras, family, step_s=0.02, db_url=None):
        lib = tmp_path / f"lib-{name}"
        lib.mkdir(parents=True, exist_ok=True)
        for lora in loras:  # the same file (the same hash) on every host that has it
            shutil.copy(_source(tmp_path, lora), lib / f"{lora}.safetensors")
        data = tmp_path / f"data-{name}"
        core, shared, runner = make_host(name, str(lib), str(data), db_url or f"sqlite:///{data}/library.db", REDIS,
                                         prefix, family, step_s)
        made.append(core)
        return core, shared, runner

    yield make
    for core in made:
        core.close()


def _source(tmp_path, lora: str) -> str:
    path = tmp_path / "src" / f"{lora}.safetensors"
    return str(path) if path.exists() else write_lora(path, seed=ord(lora), family="xl")


def _seen(shared, *names, having=None):
    """The hosts are heard from, and those with LoRAs (`having`, default all) have said which."""
    wait_for(lambda: set(names) <= set(shared.redis.hosts()), timeout=10)
    having = names if having is None else having
    wait_for(lambda: all(shared.redis.r.scard(f"{shared.redis.prefix}host:{n}:loras") for n in having), timeout=10)


def test_a_job_goes_to_a_host_that_has_its_loras_and_family_and_ends_visible_everywhere(hosts):
    a_core, a, a_runner = hosts("a", "xy", "xl")
    b_core, b, b_runner = hosts("b", "x", "f1")
    _seen(a, "a", "b")
    only_a = a.submit(JobRequest(prompt="p", loras=[{"name": "y", "weight": 0.7}], steps=5))
    wait_for(lambda: b.get(only_a.id).status == "done", timeout=20)  # b answers for a job it did not run
    done = b.get(only_a.id).as_dict()
    assert done["host"] == "a" and done["result"]["host"] == "a" and [j for j, _ in a_runner.ran] == [only_a.id]
    assert "<lora:y:0.7>" in a_runner.ran[0][1]
    # the family picks b; the host picks a
    # (x is an SDXL LoRA: on b's f1 checkpoint it would fail before running unless told to go on)
    for_f1 = a.submit(JobRequest(prompt="p", loras=[{"name": "x"}], steps=3, family="f1", check_fit=False))
    for_a = b.submit(JobRequest(prompt="p", loras=[{"name": "x"}], steps=3, host="a"))
    wait_for(lambda: a.get(for_f1.id).status == "done" and a.get(for_a.id).status == "done", timeout=20)
    assert a.get(for_f1.id).host == "b" and a.get(for_a.id).host == "a"
    # b has no y: no host of family f1 can run it
    with pytest.raises(Conflict, match="no running host"):
        a.submit(JobRequest(prompt="p", loras=[{"name": "y"}], family="f1"))
    with pytest.raises(Conflict, match="not running"):
        a.submit(JobRequest(prompt="p", host="nobody"))
    # the image is served by either host (the database each reads)
    assert a.images.get(only_a.id, 0)[1].startswith(b"\x89PNG")


def test_one_job_per_host_user_jobs_first_progress_and_cancel_from_another_host(hosts, db_url):
    db = db_url  # one database for both hosts (SQLite file, or PostgreSQL as several machines would share)
    a_core, a, a_runner = hosts("a", "x", "xl", step_s=0.05, db_url=db)
    b_core, b, _ = hosts("b", "", None, db_url=db)
    b.runner = None  # a standalone server: it submits and watches, it runs nothing
    _seen(a, "a", "b", having=("a",))
    assert b.redis.r.scard(f"{b.redis.prefix}host:b:loras") == 0  # the library's LoRAs are not all b's
    first = b.submit(JobRequest(prompt="first", loras=[{"name": "x"}], steps=40))
    wait_for(lambda: a.get(first.id).status == "running", timeout=10)
    later_bg = b.submit(JobRequest(prompt="background", loras=[{"name": "x"}], steps=2, priority="background"))
    later_user = b.submit(JobRequest(prompt="user", loras=[{"name": "x"}], steps=2))
    wait_for(lambda: b.get(first.id).step >= 3, timeout=10)  # progress reaches the other host
    assert b.get(later_user.id).status == "queued"  # one job at a time on a
    assert b.cancel(first.id).id == first.id
    wait_for(lambda: b.get(first.id).status == "cancelled", timeout=10)
    wait_for(lambda: b.get(later_bg.id).status == "done", timeout=20)
    order = [p.split(",")[0].split(" <")[0] for _, p in a_runner.ran]
    assert order == ["user", "background"]  # the user's job before the background one
    assert b.images.get(later_user.id, 0) is not None  # stored where b reads it


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _spawn(name, tmp_path, db, redis_url, prefix, family="xl", step_s="0.02"):
    lib = tmp_path / f"lib-{name}"
    if not lib.exists():
        lib.mkdir(parents=True)
        shutil.copy(_source(tmp_path, "x"), lib / "x.safetensors")
    data = tmp_path / f"data-{name}"
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    proc = subprocess.Popen([sys.executable, "-m", "tests.shared_hosts", name, str(lib), str(data), db, redis_url,
                             prefix, family, step_s], stdout=subprocess.PIPE, env=env)
    assert proc.stdout.readline().strip() == b"ready"
    return proc


def test_a_host_killed_mid_job_hands_it_to_another_which_finishes_it_once(tmp_path, prefix, hosts, db_url):
    db = db_url
    doomed = _spawn("doomed", tmp_path, db, REDIS, prefix, step_s="0.2")
    try:
        _, watcher, _ = hosts("watcher", "", None, db_url=db)
        watcher.runner = None
        _seen(watcher, "doomed")
        job = watcher.submit(JobRequest(prompt="long", loras=[{"name": "x"}], steps=30))
        wait_for(lambda: watcher.get(job.id).status == "running" and watcher.get(job.id).step >= 2, timeout=20)
        assert watcher.get(job.id).host == "doomed"
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(10)
        survivor = _spawn("survivor", tmp_path, db, REDIS, prefix)
        try:
            wait_for(lambda: watcher.get(job.id).status == "done", timeout=60)
            record = watcher.redis.record(job.id)
            assert record["owner"] == "survivor" and record["attempts"] == 2
        finally:
            survivor.kill()
    finally:
        doomed.kill()


def test_redis_stopped_and_started_again_loses_no_queued_job(tmp_path, hosts):
    redis_or_skip()
    server = shutil.which("redis-server") or pytest.skip("no redis-server to start and stop")
    port = _free_port()
    url = f"redis://127.0.0.1:{port}/0"

    def start():
        proc = subprocess.Popen([server, "--port", str(port), "--save", "", "--appendonly", "no"],
                                stdout=subprocess.DEVNULL)
        wait_for(lambda: _pings(url), timeout=10)
        return proc

    redis_proc = start()
    try:
        lib = tmp_path / "lib-a"
        lib.mkdir()
        shutil.copy(_source(tmp_path, "x"), lib / "x.safetensors")
        core, a, runner = make_host("a", str(lib), str(tmp_path / "data-a"), f"sqlite:///{tmp_path}/a.db", url,
                                    "lm:", "xl")
        try:
            _seen(a, "a")
            busy = a.submit(JobRequest(prompt="busy", loras=[{"name": "x"}], steps=60))
            queued = a.submit(JobRequest(prompt="kept", loras=[{"name": "x"}], steps=2))
            wait_for(lambda: a.redis.record(busy.id)["status"] == "running", timeout=10)
            assert a.redis.record(queued.id)["status"] == "queued"  # behind the running one
            redis_proc.terminate()
            redis_proc.wait(10)
            # Redis away: a new job runs on this host's own queue, and says so
            local = a.submit(JobRequest(prompt="local", loras=[{"name": "x"}], steps=2))
            assert any("Redis unreachable" in w for w in local.warnings)
            wait_for(lambda: a.local.get(local.id).status == "done", timeout=30)
            assert a.status()["state"] == "unreachable"
            redis_proc = start()  # empty: it kept nothing on disk
            wait_for(lambda: a.redis.record(queued.id) is not None, timeout=20)  # sent again from the spool
            wait_for(lambda: a.get(queued.id).status == "done", timeout=30)
            prompts = [p.split(" <")[0] for _, p in runner.ran]
            assert "local" in prompts and "kept" in prompts
            assert a.status()["state"] == "connected"
        finally:
            core.close()
    finally:
        redis_proc.terminate()


def _pings(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except Exception:
        return False


# --- leases, attempts and fencing, driven step by step (the reaper and the hosts' Redis calls, no threads) ---
LEASE = 0.2  # a host that stops renewing loses its job after 0.2 s
LORA = "ab" * 32  # the full hash of the one LoRA of these jobs, which every host here has


def _reaper(tmp_path, prefix) -> SharedJobs:
    """A host's reaper (SharedJobs._reap) over the real Redis; its threads are not started: the test calls it.
    Its heartbeat life is max(3 x 0.1, 2 x LEASE) = 0.4 s."""
    return SharedJobs(None, REDIS, "reaper", None, None, None, str(tmp_path), prefix=prefix, lease_s=LEASE,
                      beat_s=0.1)


def _beat(store: RedisJobs, *hosts: str) -> None:
    for host in hosts:
        store.beat(host, {"name": host, "family": None, "busy": False, "runner": True}, [LORA])


def _take(store: RedisJobs, host: str, job_id: str) -> str:
    """What a host's worker does: read its stream, claim the job named there, acknowledge the entry."""
    got = store.next_for(host, block_ms=0)
    assert got is not None and got[2] == job_id, got
    token = store.claim(job_id, host)
    store.ack(got[0], got[1])
    assert token
    return token


def _heard(pubsub, n: int, wait: float = 5.0) -> list[dict]:
    """The next `n` events of the channel (fewer when `wait` seconds pass first)."""
    out, end = [], time.monotonic() + wait
    while len(out) < n and time.monotonic() < end:
        message = pubsub.get_message(timeout=0.2)
        if message and message["type"] == "message":
            out.append(orjson.loads(message["data"]))
    return out


def _submit(store: RedisJobs, job_id: str, host: str) -> None:
    store.submit(job_id, {"request": {"prompt": "p", "steps": 4}, "loras": [{"sha256": LORA, "name": "x"}]},
                 host, "user")


def test_a_job_whose_host_keeps_dying_is_requeued_then_fails_after_max_attempts(tmp_path, prefix):
    reaper = _reaper(tmp_path, prefix)
    store = reaper.redis
    hosts = {h: RedisJobs(REDIS, prefix=prefix, lease_s=LEASE) for h in ("a", "b")}
    events = store.subscribe()
    _beat(store, "a", "b")
    _submit(store, "j1", "a")
    for attempt in range(1, MAX_ATTEMPTS + 1):
        host = store.record("j1")["host"]  # the job is in this host's stream: it takes it
        token = _take(hosts[host], host, "j1")
        record = store.record("j1")
        assert (record["status"], record["owner"], record["attempts"]) == ("running", host, attempt)
        if attempt == 1:  # a host alive renews: past its first lease, the job stays its own
            for _ in range(3):
                time.sleep(LEASE / 2)
                assert hosts[host].renew("j1", host, token)
            _beat(store, "a", "b")
            reaper._reap()
            assert store.record("j1")["status"] == "running" and _heard(events, 1, wait=0.3) == []
        time.sleep(LEASE * 1.5)  # the host died: nothing renews its lease, which runs out
        assert not store.r.exists(store.lease_key("j1"))
        _beat(store, "a", "b")  # the others beat on (a dead host that comes back beats again too)
        reaper._reap()
        record = store.record("j1")
        [event] = _heard(events, 1)
        if attempt < MAX_ATTEMPTS:
            assert (record["status"], record["owner"], record["attempts"]) == ("queued", None, attempt)
            assert record["host"] in hosts and event["type"] == "job.requeued"
            assert event["job"]["status"] == "queued"
    assert (record["status"], record["attempts"], record["owner"]) == ("failed", MAX_ATTEMPTS, None)
    assert record["error"] == f"its host stopped {MAX_ATTEMPTS} times while running it"
    assert record["finished_at"] and event["type"] == "job.failed" and event["job"]["error"] == record["error"]
    # ended: no host is sent it again, a later reap leaves it, and the last host cannot finish it after all
    assert all(store.next_for(h, block_ms=0) is None for h in hosts)
    reaper._reap()
    assert store.record("j1")["status"] == "failed" and _heard(events, 1, wait=0.3) == []
    assert not hosts[host].finish("j1", token, "done", {"host": host}, None)
    assert store.record("j1")["result"] is None


def test_a_host_that_lost_its_job_can_neither_renew_nor_finish_it(tmp_path, prefix):
    reaper = _reaper(tmp_path, prefix)
    store = reaper.redis
    a, b = (RedisJobs(REDIS, prefix=prefix, lease_s=LEASE) for _ in "ab")
    _beat(store, "a", "b")
    _submit(store, "j2", "a")
    token_a = _take(a, "a", "j2")
    # a is cut off from Redis: no renewal, no heartbeat, past its lease (0.2 s) and its heartbeat's life (0.4 s)
    time.sleep(0.5)
    _beat(store, "b")
    reaper._reap()
    record = store.record("j2")
    assert (record["status"], record["host"], record["owner"]) == ("queued", "b", None)
    assert not a.renew("j2", "a", token_a)  # a comes back: the job is not its own any more
    assert not a.finish("j2", token_a, "done", {"host": "a"}, None)
    assert store.record("j2")["status"] == "queued"
    token_b = _take(b, "b", "j2")
    assert token_b != token_a
    # a, still running with its old token: its renewal does not extend b's lease, its result does not count
    assert not a.renew("j2", "a", token_a)
    assert store.r.get(store.lease_key("j2")) == b"b"
    assert not a.finish("j2", token_a, "done", {"host": "a"}, None)
    assert not a.finish("j2", token_a, "failed", None, "interrupted")
    record = store.record("j2")
    assert (record["status"], record["owner"], record["attempts"], record["result"]) == ("running", "b", 2, None)
    # a's worker, told so by its renewal, stops generating
    runner = StepRunner("xl", str(tmp_path / "out"))
    worker = SharedRun(types.SimpleNamespace(redis=a, host="a", runner=runner, _unreachable=None))
    done = threading.Event()
    renewer = threading.Thread(target=worker._renew, args=("j2", token_a, done), daemon=True)
    renewer.start()
    renewer.join(5)
    assert not renewer.is_alive() and runner.stop.is_set()
    done.set()
    # b, the holder, renews and finishes once
    assert b.renew("j2", "b", token_b)
    assert b.finish("j2", token_b, "done", {"host": "b"}, None)
    assert not b.finish("j2", token_b, "failed", None, "again")
    assert not a.finish("j2", token_a, "done", {"host": "a"}, None)
    record = store.record("j2")
    assert (record["status"], record["result"], record["error"]) == ("done", {"host": "b"}, None)
    assert not store.r.exists(store.lease_key("j2")) and not b.renew("j2", "b", token_b)


def test_a_job_for_one_host_whose_lease_ran_out_goes_back_to_that_host(tmp_path, prefix):
    """A job that names its host: requeued (its host lost the lease, or died), it waits for that host only, and
    is sent to it again once it is alive."""
    reaper = _reaper(tmp_path, prefix)
    store = reaper.redis
    a = RedisJobs(REDIS, prefix=prefix, lease_s=LEASE)
    _beat(store, "a", "b")
    store.submit("j3", {"request": {"prompt": "p", "steps": 4, "host": "a"},
                        "loras": [{"sha256": LORA, "name": "x"}]}, "a", "user")
    _take(a, "a", "j3")
    time.sleep(LEASE * 1.5)  # a is alive (it beats) but did not renew: its lease ran out
    _beat(store, "a", "b")
    reaper._reap()
    record = store.record("j3")
    assert (record["status"], record["host"], record["attempts"]) == ("queued", "a", 1)
    token = _take(a, "a", "j3")  # back in a's stream, never in b's
    assert store.next_for("b", block_ms=0) is None
    # a dies while running it: the job waits for no host, and goes to a again once a beats again
    time.sleep(0.5)  # past the lease (0.2 s) and a's heartbeat life (0.4 s)
    _beat(store, "b")
    reaper._reap()
    assert (store.record("j3")["status"], store.record("j3")["host"]) == ("queued", "")
    reaper._reap()
    assert store.record("j3")["host"] == "" and store.next_for("b", block_ms=0) is None
    _beat(store, "a", "b")
    reaper._reap()
    assert store.record("j3")["host"] == "a"
    assert _take(a, "a", "j3") != token and store.record("j3")["attempts"] == 3


def test_a_job_requeued_when_no_host_could_run_it_goes_to_the_first_that_can(tmp_path, prefix):
    reaper = _reaper(tmp_path, prefix)
    store = reaper.redis
    _beat(store, "a")
    _submit(store, "j4", "a")
    _take(store, "a", "j4")
    time.sleep(0.5)  # a dies; c, alive, lacks the job's LoRA
    store.beat("c", {"name": "c", "family": None, "busy": False, "runner": True}, [])
    reaper._reap()
    assert (store.record("j4")["status"], store.record("j4")["host"]) == ("queued", "")
    _beat(store, "b")  # a host that has the LoRA
    reaper._reap()
    assert store.record("j4")["host"] == "b" and _take(store, "b", "j4")
