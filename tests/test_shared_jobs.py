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
import uuid

import pytest

from lora_manager.errors import Conflict
from lora_manager.jobs.queue import JobRequest

from .browser import wait_for
from .loras import write_lora
from .shared_hosts import make_host

REDIS = os.environ.get("LORA_MANAGER_TEST_REDIS", "redis://127.0.0.1:6379/0")


def _redis_or_skip(url: str = REDIS):
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except Exception as exc:
        if os.environ.get("CI") or os.environ.get("LORA_MANAGER_TEST_REDIS"):  # named: it must be there
            raise
        pytest.skip(f"no Redis at {url}: {exc}")
    return redis


@pytest.fixture
def prefix():
    redis = _redis_or_skip()
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
    _redis_or_skip()
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
