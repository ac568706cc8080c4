"""The download queue: LoRAs from Civitai, one or two at a time (docs/civitai.md, "Downloads").

A job is a row of `civitai_downloads` (it outlives the process) and, while it runs here, a worker
thread with a `Control` (pause, cancel, stop). States: queued -> running -> done | failed |
cancelled, and paused (by the user, or stopped with the server) which `resume` queues again; the
partial file `<data dir>/downloads/<id>.part` stays until the job is done, cancelled, or its bytes
are known bad. Progress and every change of state go out on the EventBus as `civitai.download`.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
import uuid
from typing import Any

from ..errors import Conflict, InvalidInput, LoraManagerError, NotFound
from .refs import parse
from .stream import Control, DownloadError, Interrupted

log = logging.getLogger(__name__)
ACTIVE = ("queued", "running")
FINISHED = ("done", "failed", "cancelled")
PUBLISH_EVERY_S = 0.25
SAVE_EVERY_S = 2.0


class Downloads:
    def __init__(self, core, library, store, clients, *, workers: int = 1, publish=None):
        self.core = core  # settings, files (roots, trash), hasher
        self.library = library  # services.Library: the index
        self.store = store
        self.clients = clients  # civitai.services.Clients: one shared, paced client
        self.workers = max(1, min(2, workers))
        self.publish = publish or (lambda event: None)
        self.folder = os.path.join(core.settings.data_dir, "downloads")
        self._todo: queue.Queue[str | None] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._controls: dict[str, Control] = {}
        self._live: dict[str, dict[str, Any]] = {}  # progress of running jobs, newer than their rows
        self._lock = threading.Lock()
        self._closed = False

    # --- asking -----------------------------------------------------------------------------------
    def submit(self, ref: str, *, folder: str | None = None, update_of: str | int | None = None,
               replace: bool = False, carry_user_data: bool = False) -> dict[str, Any]:
        """Queue a download of what `ref` names; the answer is the job (checked now: the reference, the
        folder, the LoRA it updates; the rest is found out by the worker)."""
        if self._closed:
            raise Conflict("the download queue is closed")
        parsed = parse(ref, self.core.settings.civitai_url)
        if folder:
            from .targets import resolve_folder

            resolve_folder(folder, self.core.files.roots, self.core.files.inside_roots)
        old = self.library.resolve(update_of) if update_of not in (None, "") else None
        if old is None and (replace or carry_user_data):
            raise InvalidInput("replace and carry_user_data need the LoRA this download updates (update_of)")
        row = {"id": uuid.uuid4().hex, "ref": ref.strip()[:2000], "state": "queued", "model_id": parsed.model_id,
               "version_id": parsed.version_id, "folder": folder or None, "update_of": old,
               "replace": bool(replace and old), "carry_user_data": bool(carry_user_data and old and not replace)}
        self.store.add_download(row)
        job = self._changed(row["id"])  # told before a worker can take it: "queued" never follows "running"
        self._enqueue(row["id"])
        return job

    def list(self) -> list[dict[str, Any]]:
        return [self._view(j) for j in self.store.downloads()]

    def get(self, job_id: str) -> dict[str, Any]:
        job = self.store.download(job_id)
        if job is None:
            raise NotFound(f"no download {job_id[:40]!r}")
        return self._view(job)

    def pause(self, job_id: str) -> dict[str, Any]:
        job = self.get(job_id)
        if job["state"] == "running":
            self._control(job_id).interrupt("paused")
            return job
        if job["state"] == "queued":
            self.store.update_download(job_id, {"state": "paused", "error": None, "error_code": None})
            return self._changed(job_id)
        if job["state"] == "paused":
            return job
        raise Conflict(f"this download is {job['state']}: nothing to pause", {"state": job["state"]})

    def resume(self, job_id: str) -> dict[str, Any]:
        job = self.get(job_id)
        if job["state"] in ACTIVE:
            return job
        if job["state"] not in ("paused", "failed"):
            raise Conflict(f"this download is {job['state']}: start a new one instead", {"state": job["state"]})
        self.store.update_download(job_id, {"state": "queued", "error": None, "error_code": None})
        job = self._changed(job_id)
        self._enqueue(job_id)
        return job

    def cancel(self, job_id: str) -> dict[str, Any]:
        """Cancel an unfinished download (its partial file is deleted), or forget a finished one."""
        job = self.get(job_id)
        if job["state"] == "running":
            self._control(job_id).interrupt("cancelled")
            return {**job, "state": "cancelling"}
        if job["state"] in FINISHED:
            self.store.remove_download(job_id)
            self.publish({"type": "civitai.download", "job": {**job, "forgotten": True}})
            return job
        self._discard(job_id)
        self.store.update_download(job_id, {"state": "cancelled"})
        return self._changed(job_id)

    def wait(self, job_id: str, timeout: float | None = None, tick=None) -> dict[str, Any]:
        """Until the job leaves the queue (the CLI); `tick(job)` now and then."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            job = self.get(job_id)
            if job["state"] not in ACTIVE or (deadline is not None and time.monotonic() > deadline):
                return job
            if tick:
                tick(job)
            time.sleep(0.1)

    def recover(self) -> int:
        """At a server's start: jobs a stopped process left queued or running wait, paused, for a resume."""
        n = 0
        for job in self.store.downloads(limit=1000):
            if job["state"] in ACTIVE and job["id"] not in self._controls:
                self.store.update_download(job["id"], {"state": "paused", "error_code": "interrupted",
                                                       "error": "the server stopped during this download; resume it"})
                n += 1
        return n

    def close(self, timeout: float = 10.0) -> None:
        """Stop: running downloads pause (resumable later), queued ones stay queued."""
        self._closed = True
        with self._lock:
            for control in self._controls.values():
                control.interrupt("stopped")
            threads = list(self._threads)
        for _ in threads:
            self._todo.put(None)
        for t in threads:
            t.join(timeout)

    # --- the workers ------------------------------------------------------------------------------
    def _enqueue(self, job_id: str) -> None:
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            while len(self._threads) < self.workers:
                t = threading.Thread(target=self._work, name=f"lora-manager-download-{len(self._threads)}", daemon=True)
                self._threads.append(t)
                t.start()
        self._todo.put(job_id)

    def _work(self) -> None:
        while True:
            job_id = self._todo.get()
            if job_id is None or self._closed:
                return
            try:
                self._run(job_id)
            except Exception:  # a bug in one job never ends the worker
                log.exception("download %s failed", job_id)

    def _control(self, job_id: str) -> Control:
        with self._lock:
            control = self._controls.get(job_id)
        if control is None:
            raise Conflict("this download runs in another process; pause or cancel it there")
        return control

    def _run(self, job_id: str) -> None:
        job = self.store.download(job_id)
        if job is None or job["state"] != "queued":
            return  # paused or cancelled while it waited
        control = Control(self._progress(job_id))
        with self._lock:
            self._controls[job_id] = control
        self.store.update_download(job_id, {"state": "running"})
        self._changed(job_id)
        part = self._part(job_id)
        try:
            self._download(job, part, control)
        except Interrupted as stop:
            if stop.why == "cancelled":
                self._discard(job_id)
                self._finish(job_id, "cancelled")
            else:
                why = "stopped with the server; resume it to continue" if stop.why == "stopped" else None
                self._finish(job_id, "paused", "stopped" if why else None, why)
        except DownloadError as exc:
            if exc.kind not in ("unreachable",):  # kept only where a resume can continue it
                self._discard(job_id)
            self._finish(job_id, "failed", exc.kind, exc.message)
        except LoraManagerError as exc:  # Civitai unreachable for the version's record, a bad folder, a busy database
            self._finish(job_id, "failed", getattr(exc, "code", "error"), exc.message)
        except Exception as exc:
            from .client import Stopped  # loaded: the client ran

            if isinstance(exc, Stopped):  # a wait for a turn or a retry, ended by close()
                self._finish(job_id, "paused", "stopped", "stopped with the server; resume it to continue")
            else:
                log.exception("download %s failed", job_id)
                self._discard(job_id)
                self._finish(job_id, "failed", "internal", f"unexpected error: {type(exc).__name__}; see the log")

    def _download(self, job: dict[str, Any], part: str, control: Control) -> None:
        from .landing import land
        from .resolve import plan
        from .stream import fetch

        client = self.clients.get()
        if job.get("update_of"):
            job["old_path"] = self._old_path(job["update_of"])
        p = plan(self.core, client, job)
        version, file = p.version, p.file
        size = int(float(file["sizeKB"]) * 1024) if isinstance(file.get("sizeKB"), (int, float)) else None
        self.store.update_download(
            job["id"],
            {
                "model_id": version.get("modelId"),
                "version_id": version["id"],
                "sha256": p.sha256,
                "model_name": str((p.model or {}).get("name") or (version.get("model") or {}).get("name") or "")[:500]
                or None,
                "version_name": str(version.get("name") or "")[:500] or None,
                "file_name": os.path.basename(p.target),
                "size": size,
                "target": p.target,
            },
        )
        self._changed(job["id"])
        control.check()
        present = self.store.present_with_hash(p.sha256)
        if present is not None:
            raise DownloadError("exists", f"this file is already in the library: {present[1]}",
                                {"id": present[0], "path": present[1]})
        os.makedirs(self.folder, exist_ok=True)
        fetch(client, p.url, part, sha256=p.sha256, control=control, attempts=client.attempts,
              backoff_s=client.backoff_s)
        control.check()
        landed = {**job, "target": p.target, "root": p.root, "sha256": p.sha256}
        lora_id, warnings = land(self.core, self.library, self.store, client, landed, part, version, p.model)
        values = {"state": "done", "lora_id": lora_id, "error_code": None,
                  "error": "; ".join(warnings)[:2000] or None}
        if os.path.exists(p.target):
            values["done_bytes"] = values["size"] = os.path.getsize(p.target)
        self.store.update_download(job["id"], values)
        with self._lock:
            self._controls.pop(job["id"], None)
            self._live.pop(job["id"], None)
        self._changed(job["id"])

    def _old_path(self, lora_id: int) -> str:
        found = self.library.where(lora_id)
        if found is None or found[2] in ("missing", "trashed"):
            raise DownloadError("invalid", "the LoRA this download updates is not in the library any more")
        return found[0]

    def _finish(self, job_id: str, state: str, code: str | None = None, message: str | None = None) -> None:
        values: dict[str, Any] = {"state": state, "error_code": code, "error": message}
        live = self._live.get(job_id)
        if live and state != "cancelled":
            values["done_bytes"] = live["done_bytes"]
        with self._lock:
            self._controls.pop(job_id, None)
            self._live.pop(job_id, None)
        self.store.update_download(job_id, values)
        self._changed(job_id)

    def _progress(self, job_id: str):
        marks = {"publish": 0.0, "save": time.monotonic()}

        def progress(done: int, total: int | None) -> None:
            self._live[job_id] = {"done_bytes": done, **({"size": total} if total else {})}
            now = time.monotonic()
            if now - marks["save"] >= SAVE_EVERY_S:
                marks["save"] = now
                self.store.update_download(job_id, dict(self._live[job_id]))
            if now - marks["publish"] >= PUBLISH_EVERY_S:
                marks["publish"] = now
                job = self.store.download(job_id)
                if job is not None:
                    self.publish({"type": "civitai.download", "job": self._view(job)})

        return progress

    def _changed(self, job_id: str) -> dict[str, Any]:
        job = self.get(job_id)
        self.publish({"type": "civitai.download", "job": job})
        return job

    def _view(self, job: dict[str, Any]) -> dict[str, Any]:
        view = {k: v for k, v in job.items() if k not in ("created_at", "updated_at")}
        view.update(self._live.get(job["id"], {}))
        size, done = view.get("size"), view.get("done_bytes") or 0
        view["progress"] = round(min(1.0, done / size), 4) if size else None
        view["created_at"] = job["created_at"].isoformat() if job.get("created_at") else None
        view["updated_at"] = job["updated_at"].isoformat() if job.get("updated_at") else None
        return view

    def _part(self, job_id: str) -> str:
        return os.path.join(self.folder, f"{job_id}.part")

    def _discard(self, job_id: str) -> None:
        try:
            os.unlink(self._part(job_id))
        except FileNotFoundError:
            pass
