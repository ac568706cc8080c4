"""The jobs of several hosts in Redis: Redis Streams with a consumer group per host (docs/several-hosts.md).

Keys (all under one prefix, `lm:` by default, so that several libraries may share a Redis):
- `{p}job:{id}`: a hash, the job's record: `status` (queued, running, done, failed, cancelled), `data`
  (the request and its LoRAs by hash, JSON), `host` (where it is routed), `owner` and `token` while it runs,
  `attempts`, `step`/`total`, `result`/`error`, times. The record is the truth: every change of state
  goes through one Lua script (claim, finish, cancel, requeue), atomic in Redis.
- `{p}q:{host}:{priority}`: a stream per host and priority (`user` before `background`), read by that
  host through the consumer group `workers`. An entry names a job; the group's pending list says which
  job a host took and has not acknowledged.
- `{p}lease:{id}`: set by the host running the job, renewed while it runs (a few seconds to live): a
  host that dies lets it expire and another host takes the job again (bounded attempts).
- `{p}hosts`: a hash host id -> its heartbeat (JSON: name, family, busy, depth, last seen);
  `{p}host:{id}:loras`: a set of the full hashes of the LoRAs present on that host.
- `{p}events`: a pub/sub channel: the job events of every host, re-published on each host's stream.

A claim hands out a fresh token; a finish or a lease renewal is accepted only with the running token
(fencing): a host that lost its job (its lease expired and another took it) cannot complete it a second
time, nor keep the new holder's lease alive.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import orjson

PRIORITIES = ("user", "background")
GROUP = "workers"
LEASE_S = 15.0  # a running job's lease; renewed every LEASE_S / 3
HOST_TTL_S = 30.0  # a host unseen this long is gone
MAX_ATTEMPTS = 3  # a job whose host died this many times fails

_CLAIM = """
local job = KEYS[1]
if redis.call('HGET', job, 'status') ~= 'queued' then return 0 end
redis.call('HSET', job, 'status', 'running', 'owner', ARGV[1], 'token', ARGV[2], 'started_at', ARGV[3],
           'attempts', tonumber(redis.call('HGET', job, 'attempts') or '0') + 1)
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[4])
return 1
"""
_FINISH = """
local job = KEYS[1]
if redis.call('HGET', job, 'status') ~= 'running' or redis.call('HGET', job, 'token') ~= ARGV[1] then return 0 end
redis.call('HSET', job, 'status', ARGV[2], 'result', ARGV[3], 'error', ARGV[4], 'finished_at', ARGV[5])
redis.call('HDEL', job, 'token')
redis.call('DEL', KEYS[2])
return 1
"""
_CANCEL = """
local job = KEYS[1]
local status = redis.call('HGET', job, 'status')
if status == 'queued' then
  redis.call('HSET', job, 'status', 'cancelled', 'finished_at', ARGV[1])
  return 1
elseif status == 'running' then
  redis.call('HSET', job, 'cancel', '1')
  return 2
end
return 0
"""
# A lease is renewed only by the claim that holds the job (its token): a host whose job was requeued or taken
# by another learns it here and stops, and never extends the new holder's lease.
_RENEW = """
local job = KEYS[1]
if redis.call('HGET', job, 'status') ~= 'running' or redis.call('HGET', job, 'token') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
return 1
"""
# A running job whose lease expired goes back to the queue (or fails after MAX_ATTEMPTS).
_REQUEUE = """
local job = KEYS[1]
if redis.call('HGET', job, 'status') ~= 'running' or redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
if tonumber(redis.call('HGET', job, 'attempts') or '0') >= tonumber(ARGV[1]) then
  redis.call('HSET', job, 'status', 'failed', 'error', ARGV[2], 'finished_at', ARGV[3])
  redis.call('HDEL', job, 'token', 'owner')
  return 2
end
redis.call('HSET', job, 'status', 'queued', 'host', ARGV[4])
redis.call('HDEL', job, 'token', 'owner')
return 1
"""


def _s(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


class RedisJobs:
    """The Redis side: records, streams, leases, hosts and events; no knowledge of the host or the library."""

    def __init__(self, url: str, prefix: str = "lm:", timeout: float = 2.0, lease_s: float = LEASE_S,
                 host_ttl_s: float = HOST_TTL_S):
        import redis

        self.prefix = prefix
        self.lease_s, self.host_ttl_s = lease_s, host_ttl_s
        self.r = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout,
                                      health_check_interval=10)
        self._claim = self.r.register_script(_CLAIM)
        self._finish = self.r.register_script(_FINISH)
        self._cancel = self.r.register_script(_CANCEL)
        self._requeue = self.r.register_script(_REQUEUE)
        self._renew = self.r.register_script(_RENEW)

    # --- keys ---
    def job_key(self, job_id: str) -> str:
        return f"{self.prefix}job:{job_id}"

    def lease_key(self, job_id: str) -> str:
        return f"{self.prefix}lease:{job_id}"

    def stream(self, host: str, priority: str) -> str:
        return f"{self.prefix}q:{host}:{priority}"

    def ping(self) -> bool:
        return bool(self.r.ping())

    # --- hosts ---
    def beat(self, host: str, info: dict[str, Any], lora_hashes: list[str] | None = None) -> None:
        pipe = self.r.pipeline()
        pipe.hset(f"{self.prefix}hosts", host, orjson.dumps({**info, "host": host, "last_seen": time.time()}))
        if lora_hashes is not None:
            key = f"{self.prefix}host:{host}:loras"
            pipe.delete(key)
            for i in range(0, len(lora_hashes), 5000):
                pipe.sadd(key, *lora_hashes[i:i + 5000])
        pipe.execute()
        for priority in PRIORITIES:
            self._group(host, priority)

    def hosts(self, alive_only: bool = True) -> dict[str, dict[str, Any]]:
        now = time.time()
        out = {}
        for host, raw in self.r.hgetall(f"{self.prefix}hosts").items():
            info = orjson.loads(raw)
            info["alive"] = now - info.get("last_seen", 0) < self.host_ttl_s
            if info["alive"] or not alive_only:
                out[_s(host)] = info
        return out

    def hosts_having(self, hosts: list[str], hashes: list[str]) -> list[str]:
        """Those of `hosts` that have every LoRA of `hashes` (by full hash)."""
        if not hashes:
            return list(hosts)
        pipe = self.r.pipeline()
        for host in hosts:
            pipe.smismember(f"{self.prefix}host:{host}:loras", hashes)
        return [h for h, found in zip(hosts, pipe.execute(), strict=True) if all(found)]

    def depth(self, host: str) -> int:
        """Jobs waiting for `host` (not yet taken by it)."""
        total = 0
        for priority in PRIORITIES:
            info = self._group(host, priority)
            total += int(info.get("lag") or 0) if info else 0
        return total

    def _group(self, host: str, priority: str) -> dict[str, Any] | None:
        import redis

        key = self.stream(host, priority)
        try:
            self.r.xgroup_create(key, GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:  # BUSYGROUP: it exists
            if "BUSYGROUP" not in str(exc):
                raise
        groups = self.r.xinfo_groups(key)
        return {_s(k): v for k, v in groups[0].items()} if groups else None

    # --- jobs ---
    def submit(self, job_id: str, data: dict[str, Any], host: str, priority: str, created_at: float | None = None,
               event: dict[str, Any] | None = None) -> None:
        """The record and the stream entry, and `event` (job.queued) said in the same transaction: every host
        hears it before the host that takes the job can say it started."""
        pipe = self.r.pipeline(transaction=True)
        pipe.hset(self.job_key(job_id), mapping={"status": "queued", "data": orjson.dumps(data), "host": host,
                                                 "priority": priority, "attempts": 0,
                                                 "created_at": created_at or time.time(), "step": 0,
                                                 "total": int(data.get("request", {}).get("steps", 0))})
        pipe.xadd(self.stream(host, priority), {"job": job_id})
        if event is not None:
            pipe.publish(f"{self.prefix}events", orjson.dumps(event))
        pipe.execute()

    def route(self, job_id: str, host: str, priority: str) -> None:
        """Send a queued job to another host's stream (its host died, or it was re-submitted)."""
        self.r.hset(self.job_key(job_id), "host", host)
        self.r.xadd(self.stream(host, priority), {"job": job_id})

    def next_for(self, host: str, block_ms: int = 1000) -> tuple[str, str, str] | None:
        """The next entry of this host's streams, user jobs first: (stream, entry id, job id)."""
        import redis

        try:
            return self._next_for(host, block_ms)
        except redis.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            for priority in PRIORITIES:  # a new host, or a Redis that started again empty
                self._group(host, priority)
            return None

    def _next_for(self, host: str, block_ms: int) -> tuple[str, str, str] | None:
        for priority in PRIORITIES:
            got = self.r.xreadgroup(GROUP, host, {self.stream(host, priority): ">"}, count=1)
            if got:
                stream, entries = got[0]
                entry_id, fields = entries[0]
                return _s(stream), _s(entry_id), _s(fields[b"job"])
        if block_ms:
            got = self.r.xreadgroup(GROUP, host, {self.stream(host, p): ">" for p in PRIORITIES}, count=1,
                                    block=block_ms)
            if got:
                stream, entries = got[0]
                entry_id, fields = entries[0]
                return _s(stream), _s(entry_id), _s(fields[b"job"])
        return None

    def ack(self, stream: str, entry_id: str) -> None:
        self.r.xack(stream, GROUP, entry_id)

    def claim(self, job_id: str, host: str) -> str | None:
        """Take a queued job: its running token, or None when it is not queued any more."""
        token = uuid.uuid4().hex
        ok = self._claim(keys=[self.job_key(job_id), self.lease_key(job_id)],
                         args=[host, token, time.time(), int(self.lease_s * 1000)])
        return token if ok else None

    def renew(self, job_id: str, host: str, token: str) -> bool:
        """Extend the lease of the claim `token`; False: the job is not that claim's any more (stop running it)."""
        return bool(self._renew(keys=[self.job_key(job_id), self.lease_key(job_id)],
                                args=[token, host, int(self.lease_s * 1000)]))

    def finish(self, job_id: str, token: str, status: str, result: dict[str, Any] | None, error: str | None) -> bool:
        return bool(self._finish(keys=[self.job_key(job_id), self.lease_key(job_id)],
                                 args=[token, status, orjson.dumps(result), error or "", time.time()]))

    def progress(self, job_id: str, step: int, total: int) -> bool:
        """Record progress; True when a cancel was asked for."""
        pipe = self.r.pipeline()
        pipe.hset(self.job_key(job_id), mapping={"step": step, "total": total})
        pipe.hget(self.job_key(job_id), "cancel")
        return bool(pipe.execute()[1])

    def cancel(self, job_id: str) -> int:
        """1: a queued job is cancelled; 2: the running host is asked to stop; 0: it had ended."""
        return int(self._cancel(keys=[self.job_key(job_id)], args=[time.time()]))

    def requeue_if_dead(self, job_id: str, to_host: str) -> int:
        """0: alive or not running; 1: back in the queue for `to_host`; 2: failed after too many attempts."""
        return int(self._requeue(keys=[self.job_key(job_id), self.lease_key(job_id)],
                                 args=[MAX_ATTEMPTS, f"its host stopped {MAX_ATTEMPTS} times while running it",
                                       time.time(), to_host]))

    def record(self, job_id: str) -> dict[str, Any] | None:
        raw = self.r.hgetall(self.job_key(job_id))
        if not raw:
            return None
        rec = {_s(k): _s(v) for k, v in raw.items()}
        out: dict[str, Any] = {"id": job_id, **{k: rec[k] for k in ("status", "host", "priority") if k in rec}}
        out["data"] = orjson.loads(rec.get("data") or "{}")
        out["result"] = orjson.loads(rec["result"]) if rec.get("result") else None
        out["error"] = rec.get("error") or None
        out["owner"] = rec.get("owner")
        for key in ("attempts", "step", "total"):
            out[key] = int(float(rec.get(key) or 0))
        for key in ("created_at", "started_at", "finished_at"):
            out[key] = float(rec[key]) if rec.get(key) else None
        out["cancel_requested"] = bool(rec.get("cancel"))
        return out

    def job_ids(self, limit: int = 200) -> list[str]:
        keys = [_s(k) for k in self.r.scan_iter(match=f"{self.prefix}job:*", count=1000)]
        return [k[len(self.prefix) + 4:] for k in keys][: limit * 5]

    def running(self) -> list[str]:
        return [j for j in self.job_ids(10_000) if _s(self.r.hget(self.job_key(j), "status") or b"") == "running"]

    def queued_on(self, host: str) -> list[tuple[str, str]]:
        """(job id, priority) of the queued jobs routed to `host` ("": to no host, waiting for one)."""
        out = []
        for j in self.job_ids(10_000):
            status, routed, priority = self.r.hmget(self.job_key(j), "status", "host", "priority")
            if status == b"queued" and _s(routed or b"") == host:
                out.append((j, _s(priority or b"user")))
        return out

    # --- events ---
    def publish(self, event: dict[str, Any]) -> None:
        self.r.publish(f"{self.prefix}events", orjson.dumps(event))

    def subscribe(self):
        pubsub = self.r.pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(f"{self.prefix}events")
        return pubsub
