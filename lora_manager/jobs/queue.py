"""A queue of generation jobs that run through the host's own pipeline, one at a time.

The queue owns ordering, state, progress, cancel and events; a runner (the
host adapter) does the generation. Without a host there is no runner and
jobs are refused with a clear error.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol
from collections.abc import Callable

from ..errors import Conflict, InvalidInput, LoraManagerError, NotFound
from .request import JobRequest, validate_request  # noqa: F401  (the request's shape lives in request.py)

log = logging.getLogger(__name__)
MAX_KEPT = 200  # finished jobs kept in memory for status queries
PAUSE_BETWEEN_JOBS = 0.2


class NoHost(LoraManagerError):
    """Jobs need the host's pipeline: a state of this server, not a failure of it (409)."""

    status = 409
    code = "no_host"


class NoControl(LoraManagerError):
    """The host has no control pipeline (A1111, or an SDNext without it): a state, not a failure (409)."""

    status = 409
    code = "no_control"


class Runner(Protocol):
    def run(self, job: Job, progress: Callable[[int, int], None]) -> dict[str, Any]: ...
    def interrupt(self) -> None: ...
    def checkpoint_family(self) -> str | None: ...


@dataclass
class Job:
    id: str
    request: JobRequest
    prompt: str  # the prompt sent to the host, with resolved <lora:...> tags
    status: str = "queued"  # queued | running | done | failed | cancelled
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    step: int = 0
    total: int = 0
    result: dict[str, Any] | None = None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    lora_names: list[str] = field(default_factory=list)  # prompt names of the stack, as the host resolves them
    cancel_requested: bool = False
    order: int = 0
    host: str | None = None  # the host that runs (or ran) it, for a job of the shared queue
    lora_bases: list[tuple[str, str]] = field(default_factory=list)  # (prompt name, base family) of the stack
    init_path: str | None = None  # img2img / control: the init image's file
    control_path: str | None = None  # control: the control image's file
    group: str | None = None  # a sweep's id
    purpose: dict[str, Any] | None = None  # e.g. {"preview_for": lora id}
    after: list[Callable[[Job], None]] = field(default_factory=list)  # called once the job has finished

    def as_dict(self) -> dict[str, Any]:
        eta = None
        if self.status == "running" and self.step and self.total and self.started_at:
            elapsed = time.time() - self.started_at
            eta = round(elapsed / self.step * (self.total - self.step), 1)
        return {
            "id": self.id, "status": self.status, "prompt": self.prompt,
            "negative_prompt": self.request.negative_prompt,
            "loras": self.request.loras, "steps": self.request.steps, "width": self.request.width,
            "height": self.request.height,
            "seed": self.request.seed, "created_at": self.created_at, "started_at": self.started_at,
            "finished_at": self.finished_at, "progress": {"step": self.step, "total": self.total, "eta_s": eta},
            "result": self.result, "error": self.error, "warnings": self.warnings,
            "kind": self.request.kind, "init_image": self.request.init_image,
            "denoising_strength": self.request.denoising_strength, "resize_mode": self.request.resize_mode,
            "control_image": self.request.control_image, "control_model": self.request.control_model,
            "group": self.group, "purpose": self.purpose, "host": self.host,
        }


class JobQueue:
    def __init__(self, catalog, publish: Callable[[dict[str, Any]], None], runner: Runner | None = None,
                 inputs=None):
        self.catalog = catalog
        self.publish = publish
        self.runner = runner
        self.inputs = inputs  # jobs/inputs.InputImages: init and control images by reference
        self.finished: list[Callable[[Job], None]] = []  # called for every finished job (results, sweeps)
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Condition()
        self._order = itertools.count()
        self._thread: threading.Thread | None = None
        self._current: Job | None = None
        self.running_lock = threading.Lock()  # one job at a time on this host, local or shared (jobs/shared.py)

    # --- submitting ------------------------------------------------------
    def submit(self, req: JobRequest, *, group: str | None = None, purpose: dict[str, Any] | None = None,
               after: Callable[[Job], None] | None = None) -> Job:
        if self.runner is None:
            raise NoHost("jobs run through the host's pipeline; start LoRA Manager inside SDNext to run them")
        init_path, control_path = self._images(req)
        prompt, warnings, names, bases = self._build_prompt(req)
        job = Job(id=uuid.uuid4().hex[:12], request=req, prompt=prompt, warnings=warnings, order=next(self._order),
                  lora_names=names, lora_bases=bases, init_path=init_path, control_path=control_path, group=group,
                  purpose=purpose, after=[after] if after else [])
        with self._lock:
            self._jobs[job.id] = job
            self._trim()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._work, name="lora-manager-jobs", daemon=True)
                self._thread.start()
            self._lock.notify_all()
        self.publish({"type": "job.queued", "job": job.as_dict()})
        return job

    def _images(self, req: JobRequest) -> tuple[str | None, str | None]:
        """The files of the job's init and control images; a control job needs a host with control and one of
        its models (409 without it, 422 for a model it does not list)."""
        if req.kind == "control":
            models = self.control_models()
            if models is None:
                raise NoControl("this host has no control pipeline (SDNext's Control tab); run txt2img or img2img")
            if req.control_model not in models:
                shown = ", ".join(models[:20]) or "none"
                raise InvalidInput(f"the host has no control model {req.control_model!r}; it lists: {shown}")
        if req.kind == "txt2img" or self.inputs is None:
            return None, None
        init = self.inputs.resolve(req.init_image) if req.init_image else None
        control = self.inputs.resolve(req.control_image) if req.kind == "control" and req.control_image else None
        return init, control

    def control_models(self) -> list[str] | None:
        """The control models the host lists (None: no host, or a host without a control pipeline)."""
        lister = getattr(self.runner, "control_models", None)
        return lister() if lister is not None else None

    def _build_prompt(self, req: JobRequest) -> tuple[str, list[str], list[str], list[tuple[str, str]]]:
        family = self.runner.checkpoint_family() if self.runner else None
        tags, words, warnings, names, bases = [], [], [], [], []
        for item in req.loras:
            entry = self.catalog.get(item["name"])  # NotFound for an unknown LoRA: the client named it
            weight = item.get("weight")
            if weight is None:
                weight = entry["preferred_weight"] if entry["preferred_weight"] is not None else 1.0
            tags.append(f"<lora:{entry['prompt_name']}:{weight:g}>")
            names.append(entry["prompt_name"])
            if entry["base_model"]:
                bases.append((entry["prompt_name"], entry["base_model"]))
            if req.add_triggers:
                words.extend(entry["triggers"])
            if entry["state"] != "ok":
                warnings.append(f"{entry['prompt_name']}: {entry['state']} ({entry['error'] or 'not on disk'})")
            if family and entry["base_model"] and entry["base_model"] != family:
                warnings.append(
                    f"{entry['prompt_name']} is for {entry['base_model']}, the loaded checkpoint is {family}"
                )
        prompt = ", ".join(p for p in [req.prompt.strip(), ", ".join(words)] if p)
        return " ".join([prompt, *tags]).strip(), warnings, names, bases

    # --- reading and cancelling -----------------------------------------
    def shared_queue(self) -> dict[str, Any]:
        """This host's own queue only: no queue shared through Redis (jobs/shared.py answers when it is on)."""
        return {"on": False, "redis": None, "error": None, "since": None, "local_fallback": 0}

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            jobs = sorted(self._jobs.values(), key=lambda j: j.order, reverse=True)
        return [j.as_dict() for j in jobs]

    def get(self, job_id: str) -> Job:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise NotFound(f"no job {job_id[:40]!r}")
        return job

    def image_path(self, job_id: str, index: int, outputs: str) -> str:
        """The path of a job's result image number `index`: only a file in the `outputs` folder."""
        images = (self.get(job_id).result or {}).get("images") or []
        if index >= len(images):
            raise NotFound(f"this job has {len(images)} image(s)")
        path = os.path.realpath(str(images[index]))
        outputs = os.path.realpath(outputs)
        if not path.startswith(outputs + os.sep) or not os.path.isfile(path):
            raise NotFound("the image is not in LoRA Manager's outputs folder")
        return path

    def cancel(self, job_id: str) -> Job:
        job = self.get(job_id)
        with self._lock:
            if job.status == "queued":
                job.status, job.finished_at = "cancelled", time.time()
            elif job.status == "running":
                job.cancel_requested = True
                if self.runner is not None:
                    self.runner.interrupt()  # the host stops the current job
            else:
                raise Conflict(f"the job is already {job.status}")
        self.publish({"type": "job.cancelled", "job": job.as_dict()})
        return job

    # --- running ---------------------------------------------------------
    def _next(self) -> Job | None:
        queued = [j for j in self._jobs.values() if j.status == "queued"]
        # every user job before a background one (preview generation), each kind in the order asked
        return min(queued, key=lambda j: (j.request.priority != "user", j.order)) if queued else None

    def _work(self) -> None:
        while True:
            # one job at a time on this host: while a job of the shared queue runs here, ours stay queued
            # (cancelled at once if asked) until it ends
            with self.running_lock:
                with self._lock:
                    job = self._next()
                    if job is None:
                        self._thread = None
                        return  # idle: no thread, nothing held
                    job.status, job.started_at = "running", time.time()
                    job.total = job.request.steps
                    self._current = job
                self.publish({"type": "job.started", "job": job.as_dict()})
                self._run(job)
            job.finished_at = time.time()
            with self._lock:
                self._current = None
            for hook in [*self.finished, *job.after]:
                try:
                    hook(job)
                except Exception:  # a listener's failure is logged, never the queue's end
                    log.exception("after job %s", job.id)
            self.publish({"type": f"job.{job.status}", "job": job.as_dict()})
            # The host's lock is free now; a short pause lets a UI or API job that
            # waits on it go first, so ours never starve the host's own.
            time.sleep(PAUSE_BETWEEN_JOBS)

    def _run(self, job: Job) -> None:
        try:
            self._check_fits(job)
            self._check_host_has(job)
            job.result = self.runner.run(job, lambda step, total, job=job: self._progress(job, step, total))
            job.status = "cancelled" if job.cancel_requested else "done"
            if job.status == "done":
                job.step = job.total  # the host's last progress report can lag behind the end
        except Exception as exc:  # a failed generation is the job's outcome, not the queue's end
            log.exception("job %s failed", job.id)
            job.status = "cancelled" if job.cancel_requested else "failed"
            job.error = failure_message(exc)[:500]

    def _check_fits(self, job: Job) -> None:
        """Fail before generating when a LoRA's base does not fit the checkpoint loaded now (it may have changed
        since the job was queued); `check_fit=False` runs anyway."""
        if not job.request.check_fit or not job.lora_bases:
            return
        family = self.runner.checkpoint_family()
        wrong = [f"{name} is for {base}" for name, base in job.lora_bases if family and base != family]
        if wrong:
            raise NotFitting(f"{'; '.join(wrong)}, the loaded checkpoint is {family}: load a {wrong[0].split()[-1]} "
                             f"checkpoint, or queue the job again with check_fit off")

    def _check_host_has(self, job: Job) -> None:
        """Fail before generating when the host cannot load a LoRA of the stack (it would run without it)."""
        missing_of = getattr(self.runner, "missing_loras", None)
        missing = missing_of(job.lora_names) if missing_of and job.lora_names else []
        if missing:
            names = ", ".join(missing)
            raise HostLacksLora(f"the host cannot find LoRA {names}: it lists only the files under its own LoRA "
                                f"folder (--lora-dir); move the file there or rescan, then run the job again")

    def _progress(self, job: Job, step: int, total: int) -> None:
        job.step, job.total = step, total or job.total
        self.publish({"type": "job.progress", "id": job.id, "step": job.step, "total": job.total})

    def _trim(self) -> None:
        finished = sorted((j for j in self._jobs.values() if j.status in ("done", "failed", "cancelled")),
                          key=lambda j: j.order)
        for job in finished[: max(0, len(finished) - MAX_KEPT)]:
            del self._jobs[job.id]


class HostLacksLora(RuntimeError):
    """A LoRA of the job's stack is not in the host's list: the job fails before it starts."""


class NotFitting(RuntimeError):
    """A LoRA of the stack is for another base than the loaded checkpoint: the job fails before it starts."""


def failure_message(exc: BaseException) -> str:
    """What a failed job says: our own reasons as they are; the host's out-of-memory with what to do."""
    if isinstance(exc, (HostLacksLora, NotFitting)):
        return str(exc)
    text = str(exc)
    if "outofmemory" in type(exc).__name__.lower() or "out of memory" in text.lower():
        return (f"the host ran out of memory ({text[:300]}): lower width, height or batch size, or free the GPU, "
                f"then run the job again")
    return f"{type(exc).__name__}: {text}"
