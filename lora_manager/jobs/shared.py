"""Jobs on any host: the queue of several SDNext hosts in Redis (docs/several-hosts.md).

With `LORA_MANAGER_REDIS` (`--lora-manager-redis`) set, `core.jobs` is a `SharedJobs`: a job goes to the
host with the least waiting that has every LoRA of its stack (by full hash) and a checkpoint of the family
it names (or the host it names), through Redis (jobs/redis_store.py). Each host runs one job at a time in
its own process, no fork (the GPU pipeline lives there), through the same runner and under the same queue
lock as its local jobs; a job's state, progress, cancel and images are reachable from every host; a host
that dies mid-job has its job taken by another after its lease expires. Without Redis (unreachable at
start or since), jobs go to this host's own queue and the status says so; the jobs this host sent are
kept in a spool in its data folder and sent again if Redis comes back without them.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

from ..errors import Conflict, LoraManagerError, NotFound
from .queue import Job, JobQueue, JobRequest
from .redis_store import LEASE_S, RedisJobs
from .shared_run import SharedRun, record_as_job
from .spool import Spool

log = logging.getLogger(__name__)
BEAT_S = 5.0
HASHES_EVERY_S = 60.0


class RedisDown(LoraManagerError):
    status = 503
    code = "redis_unavailable"


class SharedJobs:
    """The face of JobQueue (submit, list, get, cancel, image_path, runner) over Redis and the local queue."""

    def __init__(self, local: JobQueue, redis_url: str, host_id: str, catalog, publish, images, data_dir: str,
                 host_name: str = "", family=None, prefix: str = "lm:", lease_s: float = LEASE_S,
                 beat_s: float = BEAT_S, roots: list[str] | None = None):
        self.local = local
        self.catalog = catalog
        self.publish_local = publish
        self.images = images  # storage.job_images_store: the images of shared jobs, in the database
        self.host = host_id
        self.roots = set(roots or ())  # this host's library roots: the LoRAs it can load are under them
        self.host_name = host_name or host_id
        self.family = family  # () -> the loaded checkpoint's family, or None
        self.redis = RedisJobs(redis_url, prefix=prefix, lease_s=lease_s, host_ttl_s=max(3 * beat_s, 2 * lease_s))
        self.beat_s = beat_s
        self.spool = Spool(os.path.join(data_dir, "shared-jobs.json"))
        self.state = "starting"  # connected | unreachable
        self.error: str | None = None
        self.since = time.time()  # when the state above began
        self.fallback = 0  # jobs queued on this host's own queue because Redis was unreachable
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._last_hashes = 0.0
        self.runs = SharedRun(self)

    # --- the JobQueue face ---
    @property
    def runner(self):
        return self.local.runner

    @runner.setter
    def runner(self, value) -> None:
        self.local.runner = value

    @property
    def inputs(self):
        return self.local.inputs

    @inputs.setter
    def inputs(self, value) -> None:  # jobs/services.attach: init and control images by reference
        self.local.inputs = value

    def __getattr__(self, name: str):
        """What only this host's queue has (the finished-job hooks, its control models, ...)."""
        if name == "local":  # not built yet
            raise AttributeError(name)
        return getattr(self.local, name)

    def start(self) -> None:
        """Threads: heartbeat and reaper, the worker, the event listener. Never blocks the caller."""
        for name, target in (("beat", self._beat_loop), ("worker", self.runs.work_loop), ("events", self._listen)):
            t = threading.Thread(target=target, name=f"lora-manager-shared-{name}", daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        self._stop.set()

    def submit(self, req: JobRequest, **local_only) -> Job:
        if req.kind != "txt2img" or local_only:
            # img2img and control start from images on this host, sweeps and preview generation write
            # beside this host's files: they run here (docs/shared-jobs.md)
            return self.local.submit(req, **local_only)
        try:
            data = self._job_data(req)  # the LoRAs by full hash, read once: routing uses them too
            host = self._route(req, [x["sha256"] for x in data["loras"]])
            job_id, now = os.urandom(6).hex(), time.time()
            self.spool.add(job_id, data, host, req.priority)
            # job.queued as submitted, said with the submit: the host that takes it says job.started after it
            queued = record_as_job({"id": job_id, "status": "queued", "host": host, "data": data, "created_at": now,
                                    "total": req.steps})
            self.redis.submit(job_id, data, host, req.priority, now, {"type": "job.queued", "job": queued.as_dict()})
            self._connected()
        except LoraManagerError:
            raise
        except Exception as exc:  # redis unreachable: this host's own queue takes it
            self._unreachable(exc)
            job = self.local.submit(req)
            self.fallback += 1
            job.warnings.append(f"Redis unreachable ({self.error}): queued on this host only")
            return job
        return self.get(job_id)

    def list(self) -> list[dict[str, Any]]:
        out = self.local.list()
        try:
            records = [self.redis.record(j) for j in self.redis.job_ids()]
            out += [record_as_job(r).as_dict() for r in records if r]
        except Exception as exc:
            self._unreachable(exc)
        return sorted(out, key=lambda j: j["created_at"], reverse=True)[:400]

    def get(self, job_id: str) -> Job:
        try:
            return self.local.get(job_id)
        except NotFound:
            pass
        record = self._record(job_id)
        if record is None:
            raise NotFound(f"no job {job_id[:40]!r}")
        return record_as_job(record)

    def cancel(self, job_id: str) -> Job:
        try:
            self.local.get(job_id)
            return self.local.cancel(job_id)
        except NotFound:
            pass
        if self._record(job_id) is None:
            raise NotFound(f"no job {job_id[:40]!r}")
        said = self.redis.cancel(job_id)
        if said == 0:
            raise Conflict(f"the job is already {self._record(job_id)['status']}")
        if said == 2:
            self.redis.publish({"type": "job.cancel", "id": job_id})  # the running host stops it
        job = self.get(job_id)
        self._publish({"type": "job.cancelled", "job": job.as_dict()})
        return job

    def image_path(self, job_id: str, index: int, outputs: str) -> str:
        try:
            self.local.get(job_id)
            return self.local.image_path(job_id, index, outputs)
        except NotFound:
            pass
        found = self.images.get(job_id, index)
        if found is None:
            raise NotFound(f"job {job_id[:40]!r} has no image {index}")
        mime, data = found
        folder = os.path.join(outputs, "shared")
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, f"{job_id}-{index}.{mime.rsplit('/', 1)[-1]}")
        if not os.path.isfile(path):
            tmp = f"{path}.{os.getpid()}.tmp"
            with open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        return path

    def status(self) -> dict[str, Any]:
        return {"backend": "redis", "state": self.state, "error": self.error, "host": self.host}

    def shared_queue(self) -> dict[str, Any]:
        """What GET /meta (jobs) and GET /hosts say of the shared queue (JobQueue.shared_queue: off)."""
        return {"on": True, "redis": self.state, "error": self.error, "since": self.since,
                "local_fallback": self.fallback}

    @property
    def busy(self) -> bool:
        """A job runs here, shared or local (the local queue's running_lock is held around each)."""
        return self.runs.busy or self.local.running_lock.locked()

    def hosts(self) -> list[dict[str, Any]]:
        return sorted(self.redis.hosts(alive_only=False).values(), key=lambda h: h["host"])

    # --- routing ---
    def _job_data(self, req: JobRequest) -> dict[str, Any]:
        loras = []
        for item in req.loras:
            entry = self.catalog.get(item["name"])  # NotFound: the client named no LoRA of the library
            if not entry.get("sha256"):
                raise Conflict(f"{entry['prompt_name']} is not hashed yet: a job for several hosts names LoRAs "
                               f"by their full hash; wait for hashing to finish")
            loras.append({"sha256": entry["sha256"], "name": entry["prompt_name"], "weight": item.get("weight")})
        request = {k: getattr(req, k) for k in req.__dataclass_fields__}
        return {"request": request, "loras": loras, "submitted_by": self.host}

    @staticmethod
    def _runners(hosts: dict[str, dict[str, Any]], family: str | None) -> list[str]:
        """The hosts that run jobs, of `family` when one is asked for."""
        return [h for h, info in hosts.items() if info.get("runner") and (not family or info.get("family") == family)]

    def _route(self, req: JobRequest, hashes: list[str]) -> str:
        hosts = self.redis.hosts()
        if req.host:
            if req.host not in hosts:
                raise Conflict(f"host {req.host!r} is not running (hosts seen: {', '.join(sorted(hosts)) or 'none'})")
            candidates = [req.host]
        else:
            candidates = self._runners(hosts, req.family)
        able = self.redis.hosts_having(candidates, hashes)
        if not able:
            why = f"with family {req.family}" if req.family else ""
            raise Conflict(f"no running host {why} has every LoRA of the stack: "
                           f"{len(hosts)} host(s) seen".replace("  ", " "))
        return min(able, key=lambda h: (self.redis.depth(h) + (1 if hosts[h].get("busy") else 0), h != self.host))

    # --- background ---
    def _beat_loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._beat()
                self._reap()
                self._resend()
                self._connected()
            except Exception as exc:
                self._unreachable(exc)
            self._stop.wait(self.beat_s)

    def _beat(self) -> None:
        hashes = None
        if time.monotonic() - self._last_hashes > HASHES_EVERY_S:
            # present here: under this host's roots (a library shared with other hosts lists theirs too)
            page = self.catalog.list(fields="id,sha256,state,root", limit=200_000)  # id: this host's view
            hashes = [e["sha256"] for e in page.items
                      if e.get("sha256") and e.get("state") == "ok" and (not self.roots or e.get("root") in self.roots)]
            self._last_hashes = time.monotonic()
        family = self.family() if self.family else None
        self.redis.beat(self.host, {"name": self.host_name, "family": family, "busy": self.busy,
                                    "runner": self.runner is not None}, hashes)

    def _reap(self) -> None:
        """Jobs of hosts that stopped: a running job whose lease expired, and jobs waiting for a dead host."""
        hosts = self.redis.hosts()
        for job_id in self.redis.running():
            record = self.redis.record(job_id)
            if record is None or record.get("started_at") and time.time() - record["started_at"] < self.redis.lease_s:
                continue
            target = self._reroute_target(record, hosts)
            said = self.redis.requeue_if_dead(job_id, target or "")
            if said == 1 and target:  # else it waits, queued for no host, until one can run it
                self.redis.route(job_id, target, record.get("priority") or "user")
            if said:  # 2: it failed (too many attempts), and says so like any failed job
                kind = "job.requeued" if said == 1 else "job.failed"
                self._publish({"type": kind, "job": record_as_job(self.redis.record(job_id)).as_dict()})
        for dead in (set(self.redis.hosts(alive_only=False)) - set(hosts)) | {""}:
            for job_id, priority in self.redis.queued_on(dead):
                target = self._reroute_target(self.redis.record(job_id), hosts)
                if target:
                    self.redis.route(job_id, target, priority)

    def _reroute_target(self, record: dict[str, Any] | None, hosts: dict[str, dict[str, Any]]) -> str | None:
        if not record:
            return None
        req = record["data"].get("request", {})
        if req.get("host"):  # a job for one host goes back to it while it is alive, else waits for it
            return req["host"] if req["host"] in hosts else None
        able = self.redis.hosts_having(self._runners(hosts, req.get("family")),
                                       [x["sha256"] for x in record["data"].get("loras", [])])
        return min(able, key=self.redis.depth) if able else None

    def _resend(self) -> None:
        """Jobs this host sent that Redis lost (it restarted without them): sent again."""
        for job_id, entry in self.spool.items():
            record = self.redis.record(job_id)
            if record is None:
                self.redis.submit(job_id, entry["data"], entry["host"], entry["priority"])
                log.warning("job %s was lost by Redis: sent again", job_id)
            elif record["status"] in ("done", "failed", "cancelled"):
                self.spool.remove(job_id)

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                pubsub = self.redis.subscribe()
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message and message.get("type") == "message":
                        self.runs.on_event(message["data"])
            except Exception as exc:
                self._unreachable(exc)
                self._stop.wait(2.0)

    def _publish(self, event: dict[str, Any]) -> None:
        """Every host's event stream hears it (through Redis), this one's too; without Redis only this one."""
        try:
            self.redis.publish(event)
        except Exception as exc:
            self._unreachable(exc)
            self.publish_local(event)

    def _record(self, job_id: str) -> dict[str, Any] | None:
        try:
            return self.redis.record(job_id)
        except Exception as exc:
            self._unreachable(exc)
            raise RedisDown(f"Redis is unreachable ({self.error}): the job's state is there") from None

    def _connected(self) -> None:
        if self.state != "connected":
            log.info("LoRA Manager: jobs shared through Redis")
            self.since = time.time()
        self.state, self.error = "connected", None

    def _unreachable(self, exc: Exception) -> None:
        if self.state != "unreachable":
            log.warning("LoRA Manager: Redis unreachable, jobs run on this host only: %s", exc)
            self.since = time.time()
        self.state, self.error = "unreachable", f"{type(exc).__name__}: {str(exc)[:200]}"
