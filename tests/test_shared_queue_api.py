"""The shared job queue and the hosts over HTTP: GET /meta (jobs.shared_queue) and GET /hosts say whether the
queue shared through Redis is on and whether Redis answers (a real Redis, and a Redis URL at a closed port);
the setting `redis_url` (LORA_MANAGER_REDIS, SDNext's --lora-manager-redis) makes build() use it."""

from __future__ import annotations

import time
import uuid

import pytest
from fastapi.testclient import TestClient

from lora_manager.app import build
from lora_manager.jobs.queue import JobQueue
from lora_manager.jobs.shared import SharedJobs
from lora_manager.settings import Settings
from lora_manager.standalone.app import create_app

from .browser import wait_for
from .conftest import pg_schema
from .loras import write_lora
from .shared_hosts import REDIS, StepRunner, redis_or_skip

P = "/lora-manager/v1"
CLOSED = "redis://127.0.0.1:1/0"  # nothing listens on port 1: every connection is refused


def _settings(tmp_path, **kw) -> Settings:
    root = tmp_path / "loras"
    if not root.exists():
        write_lora(root / "alpha.safetensors", family="xl", metadata={"modelspec.trigger_phrase": "alphaword"})
    return Settings(lora_dirs=[str(root)], data_dir=str(tmp_path / "data"), db_url=f"sqlite:///{tmp_path}/lib.db",
                    embed_model="off", watch_interval=0, **kw)


def _this_host(client) -> dict:
    rows = client.get(f"{P}/hosts").json()
    [me] = [h for h in rows if h["this"]]
    return me


def test_redis_unreachable_is_said_by_meta_and_hosts_and_jobs_run_here(tmp_path):
    pytest.importorskip("redis")
    core = build(_settings(tmp_path, redis_url=CLOSED, host_id="gpu-1"))
    try:
        assert isinstance(core.jobs, SharedJobs)
        core.scan(wait_hashes=True)  # a shared job names its LoRAs by full hash
        core.jobs.runner = StepRunner("xl", str(tmp_path / "data" / "outputs"), step_s=0.01)  # the host's pipeline
        with TestClient(create_app(core)) as c:
            r = c.post(f"{P}/jobs", json={"prompt": "a cat", "steps": 3, "loras": [{"name": "alpha"}]})
            assert r.status_code == 202, r.text
            job_id = r.json()["id"]
            wait_for(lambda: c.get(f"{P}/jobs/{job_id}").json()["status"] == "done", timeout=30)
            job = c.get(f"{P}/jobs/{job_id}").json()
            assert job["host"] in (None, "gpu-1")  # run by this host's own queue
            assert any("Redis unreachable" in w and "this host only" in w for w in job["warnings"])
            meta = c.get(f"{P}/meta").json()["jobs"]
            queue = meta["shared_queue"]
            assert queue["on"] is True and queue["redis"] == "unreachable" and queue["local_fallback"] == 1
            assert "127.0.0.1:1" in queue["error"] or "refused" in queue["error"].lower()
            assert isinstance(queue["since"], float) and queue["since"] <= time.time()
            assert _this_host(c)["shared_queue"] == queue  # GET /hosts: the same, on the answering host
            assert [j["id"] for j in c.get(f"{P}/jobs").json()] == [job_id]
    finally:
        core.close()


def test_redis_reachable_through_the_environment_is_said_connected(tmp_path, monkeypatch):
    redis = redis_or_skip()
    host = f"lmtest-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("LORA_MANAGER_REDIS", REDIS)
    monkeypatch.setenv("LORA_MANAGER_HOST_ID", host)
    settings = Settings.from_env(lora_dirs=[str(tmp_path / "loras")], data_dir=str(tmp_path / "data"),
                                 db_url=f"sqlite:///{tmp_path}/lib.db", embed_model="off")
    assert settings.redis_url == REDIS
    core = build(settings)
    try:
        assert isinstance(core.jobs, SharedJobs) and core.jobs.host == host
        with TestClient(create_app(core)) as c:
            wait_for(lambda: c.get(f"{P}/meta").json()["jobs"]["shared_queue"]["redis"] == "connected", timeout=20)
            queue = c.get(f"{P}/meta").json()["jobs"]["shared_queue"]
            assert queue["on"] is True and queue["error"] is None and queue["local_fallback"] == 0
            assert _this_host(c)["shared_queue"]["redis"] == "connected"
        assert host in core.jobs.redis.hosts()  # its heartbeat really is in Redis
    finally:
        core.close()
        r = redis.Redis.from_url(REDIS)
        r.hdel("lm:hosts", host)
        keys = list(r.scan_iter(match=f"lm:*{host}*", count=1000))
        if keys:
            r.delete(*keys)


def test_without_redis_the_queue_is_this_hosts_own_and_says_off(tmp_path, monkeypatch):
    monkeypatch.delenv("LORA_MANAGER_REDIS", raising=False)
    core = build(Settings.from_env(lora_dirs=[str(tmp_path / "loras")], data_dir=str(tmp_path / "data"),
                                   db_url=f"sqlite:///{tmp_path}/lib.db", embed_model="off"))
    try:
        assert type(core.jobs) is JobQueue
        with TestClient(create_app(core)) as c:
            off = {"on": False, "redis": None, "error": None, "since": None, "local_fallback": 0}
            assert c.get(f"{P}/meta").json()["jobs"]["shared_queue"] == off
            assert _this_host(c)["shared_queue"] == off
    finally:
        core.close()


def test_the_sdnext_flag_makes_the_queue_shared(tmp_path, monkeypatch):
    """--lora-manager-redis on the host's command line: the core the extension builds inside SDNext uses it."""
    pytest.importorskip("redis")
    from .standin import Host

    monkeypatch.setenv("LORA_MANAGER_EMBED_MODEL", "off")
    monkeypatch.delenv("LORA_MANAGER_REDIS", raising=False)
    h = Host(tmp_path, monkeypatch)
    write_lora(h.lora_dir / "hosted.safetensors")
    h.load_extension("--lora-manager-redis", CLOSED)
    h.start()
    core = h.adapter.ready(30)
    try:
        assert isinstance(core.jobs, SharedJobs) and core.settings.redis_url == CLOSED
        assert core.jobs.runner is not None  # the host's pipeline runs the shared queue's jobs too
        wait_for(lambda: core.jobs.shared_queue()["redis"] == "unreachable", timeout=20)
    finally:
        core.scans.wait(30)
        core.close()


def test_without_the_sdnext_flag_the_queue_is_local(tmp_path, monkeypatch):
    from .standin import Host

    monkeypatch.setenv("LORA_MANAGER_EMBED_MODEL", "off")
    monkeypatch.delenv("LORA_MANAGER_REDIS", raising=False)
    h = Host(tmp_path, monkeypatch)
    write_lora(h.lora_dir / "hosted.safetensors")
    h.load_extension()
    h.start()
    core = h.adapter.ready(30)
    try:
        assert type(core.jobs) is JobQueue and core.jobs.runner is not None
    finally:
        core.scans.wait(30)
        core.close()


def test_hosts_over_http_gives_each_hosts_state(tmp_path):
    """Two hosts on one PostgreSQL: host A (a job running, one waiting, a checkpoint loaded) answers GET /hosts
    for itself and for host B, whose row its heartbeat wrote."""
    with pg_schema() as url:
        lib_a, lib_b = tmp_path / "a", tmp_path / "b"
        write_lora(lib_a / "alpha.safetensors", family="xl")
        write_lora(lib_b / "beta.safetensors", seed=2)
        a = build(Settings(lora_dirs=[str(lib_a)], data_dir=str(tmp_path / "data-a"), db_url=url, host_id="host-a",
                           embed_model="off", watch_interval=0))
        b = build(Settings(lora_dirs=[str(lib_b)], data_dir=str(tmp_path / "data-b"), db_url=url, host_id="host-b",
                           embed_model="off", watch_interval=0))
        try:
            a.scan()
            runner = StepRunner("xl", str(tmp_path / "data-a" / "outputs"), step_s=30)  # each step waits: running
            a.jobs.runner = runner
            a.family.source = runner.checkpoint_family
            a.hosts.checkpoint = lambda: "sdxl_base.safetensors"
            with TestClient(create_app(a)) as c:
                first = c.post(f"{P}/jobs", json={"prompt": "one", "steps": 2, "loras": [{"name": "alpha"}]})
                second = c.post(f"{P}/jobs", json={"prompt": "two", "steps": 2, "loras": [{"name": "alpha"}]})
                assert first.status_code == second.status_code == 202
                wait_for(lambda: c.get(f"{P}/jobs/{first.json()['id']}").json()["status"] == "running", timeout=20)
                wait_for(lambda: {h["host_id"] for h in c.get(f"{P}/hosts").json()} == {"host-a", "host-b"},
                         timeout=30)
                r = c.get(f"{P}/hosts")
                assert r.status_code == 200
                seen = {h["host_id"]: h for h in r.json()}
                me, other = seen["host-a"], seen["host-b"]
                assert me["this"] and me["alive"] and me["kind"] == "standalone"
                assert me["roots"] == [str(lib_a)] and me["checkpoint"] == "sdxl_base.safetensors"
                assert me["family"] == "xl" and me["busy"] is True and me["queue_depth"] == 1
                assert me["started_at"] <= me["last_seen"] <= time.time() + 1
                assert me["shared_queue"]["on"] is False
                assert not other["this"] and other["alive"] and other["roots"] == [str(lib_b)]
                assert other["busy"] is False and other["queue_depth"] == 0 and other["checkpoint"] is None
                assert isinstance(other["last_seen"], float) and other["started_at"] <= other["last_seen"]
                assert other["shared_queue"] is None
                for job in (second, first):
                    c.post(f"{P}/jobs/{job.json()['id']}/cancel")
                wait_for(lambda: not any(j["status"] in ("queued", "running") for j in c.get(f"{P}/jobs").json()),
                         timeout=20)
        finally:
            a.close()
            b.close()
