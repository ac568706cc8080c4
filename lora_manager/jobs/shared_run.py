"""This host's worker of the shared queue: takes a job routed to it, runs it like a local one, reports.

One job at a time per host, shared and local alike (the local queue's `running_lock`, taken before the
claim: a job waiting for a local one stays queued in Redis); the runner holds the host's queue lock for
the job only. A lease in Redis, renewed while the job runs, tells the others this host is alive; a
finish counts only with the token of the claim (a host that lost its job cannot complete it a second
time). The LoRAs come by full hash and are named as this host knows them.
"""

from __future__ import annotations

import logging
import mimetypes
import threading
import time
from typing import Any

import orjson

from ..errors import NotFound
from .queue import PAUSE_BETWEEN_JOBS, Job, JobRequest

log = logging.getLogger(__name__)
PROGRESS_EVERY_S = 0.5


def request_of(data: dict[str, Any]) -> JobRequest:
    """The request as sent (fields another version does not know are dropped)."""
    fields = JobRequest.__dataclass_fields__
    return JobRequest(**{k: v for k, v in (data.get("request") or {}).items() if k in fields})


def record_as_job(record: dict[str, Any]) -> Job:
    """A Redis record as a Job, for the API's answers (the same shape as a local job's)."""
    data = record["data"]
    job = Job(id=record["id"], request=request_of(data), prompt=data.get("prompt", ""),
              status=record.get("status", "queued"), created_at=record.get("created_at") or 0.0,
              started_at=record.get("started_at"), finished_at=record.get("finished_at"),
              step=record.get("step", 0), total=record.get("total", 0), result=record.get("result"),
              error=record.get("error"), warnings=list(data.get("warnings", [])))
    job.host = record.get("owner") or record.get("host") or None
    return job


class SharedRun:
    def __init__(self, shared):
        self.shared = shared
        self.busy = False
        self.current: str | None = None

    def work_loop(self) -> None:
        s = self.shared
        while not s._stop.is_set():
            if s.runner is None:  # a server without the host's pipeline takes no jobs
                s._stop.wait(1.0)
                continue
            try:
                got = s.redis.next_for(s.host, block_ms=1000)
            except Exception as exc:
                s._unreachable(exc)
                s._stop.wait(2.0)
                continue
            if got is None:
                continue
            stream, entry, job_id = got
            token = None
            try:
                # one job at a time on this host: while a local job runs, this one waits here, still queued in
                # Redis (no claim, so no lease to lose, and any host's cancel still applies at once)
                with s.local.running_lock:
                    token = s.redis.claim(job_id, s.host)
                    s.redis.ack(stream, entry)
                    if token:
                        self.run_one(job_id, token)
            except Exception:  # one job's trouble never ends the worker
                log.exception("shared job %s", job_id)
            if token:
                time.sleep(PAUSE_BETWEEN_JOBS)  # the host's own work goes first

    def run_one(self, job_id: str, token: str) -> None:
        """Run a claimed job; the caller holds the local queue's running_lock (one job at a time here)."""
        s = self.shared
        record = s.redis.record(job_id)
        req = request_of(record["data"])
        req.loras = [{"name": x["sha256"], "weight": x.get("weight")} for x in record["data"].get("loras", [])]
        job = record_as_job(record)
        job.status, job.started_at = "running", time.time()
        alive = threading.Event()
        self.busy, self.current = True, job_id
        renewer = threading.Thread(target=self._renew, args=(job_id, token, alive), daemon=True)
        renewer.start()
        s._publish({"type": "job.started", "job": job.as_dict()})
        status, result, error = "done", None, None
        try:
            # the LoRAs as this host names them
            job.prompt, job.warnings, job.lora_names, job.lora_bases = s.local._build_prompt(req)
            job.request = req
            s.local._check_fits(job)
            s.local._check_host_has(job)
            last = [0.0]
            out = s.runner.run(job, lambda step, total: self._progress(job, step, total, last))
            result = self._keep_images(job_id, out)
            if job.cancel_requested:
                status = "cancelled"
        except NotFound as exc:
            status, error = "failed", f"this host lacks a LoRA of the stack: {exc.message}"
        except Exception as exc:  # the job's outcome, not the worker's end
            if job.cancel_requested or self._cancel_asked(job_id):
                status = "cancelled"
            else:
                log.exception("shared job %s failed", job_id)
                status, error = "failed", f"{type(exc).__name__}: {exc}"[:500]
        finally:
            alive.set()
            self.busy, self.current = False, None
        if s.redis.finish(job_id, token, status, result, error):
            s._publish({"type": f"job.{status}", "job": record_as_job(s.redis.record(job_id)).as_dict()})
        else:
            log.warning("shared job %s: this host lost it (lease expired); its result is dropped", job_id)

    def _cancel_asked(self, job_id: str) -> bool:
        try:
            return bool((self.shared.redis.record(job_id) or {}).get("cancel_requested"))
        except Exception:
            return False

    def _renew(self, job_id: str, token: str, done: threading.Event) -> None:
        s = self.shared
        while not done.wait(s.redis.lease_s / 3):
            try:
                if not s.redis.renew(job_id, s.host, token):  # requeued or taken by another: stop
                    s.runner.interrupt()
                    return
            except Exception as exc:  # Redis away: the lease runs out and another host may take the job
                s._unreachable(exc)

    def _progress(self, job: Job, step: int, total: int, last: list[float]) -> None:
        job.step, job.total = step, total or job.total
        if time.monotonic() - last[0] < PROGRESS_EVERY_S and step < job.total:
            return
        last[0] = time.monotonic()
        try:
            if self.shared.redis.progress(job.id, job.step, job.total) and not job.cancel_requested:
                job.cancel_requested = True
                self.shared.runner.interrupt()
        except Exception as exc:
            self.shared._unreachable(exc)
        self.shared._publish({"type": "job.progress", "id": job.id, "step": job.step, "total": job.total})

    def _keep_images(self, job_id: str, out: dict[str, Any] | None) -> dict[str, Any]:
        """The images go into the database, where every host serves them."""
        out = dict(out or {})
        paths = [str(p) for p in out.pop("images", []) or []]
        for i, path in enumerate(paths):
            with open(path, "rb") as f:
                self.shared.images.put(job_id, i, mimetypes.guess_type(path)[0] or "image/png", f.read())
        return {**out, "images": [f"image {i}" for i in range(len(paths))], "host": self.shared.host}

    def on_event(self, raw: bytes) -> None:
        try:
            event = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return
        if event.get("type") == "job.cancel":
            if event.get("id") == self.current and self.shared.runner is not None:
                self.shared.runner.interrupt()
            return
        self.shared.publish_local(event)
