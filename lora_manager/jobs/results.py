"""Job results kept on disk: each finished job's images in the data directory's `outputs/<day>/` with a
`<job id>.json` record beside them (the parameters it ran with), so the gallery outlives the process.

Listing, delete, "set as preview" and the cleanup policy (keep N days and/or N GB, LORA_MANAGER_OUTPUTS_KEEP_*).
Neither delete nor cleanup removes a result set as a LoRA's preview (the record's "used as preview" mark) unless
asked with force; a result whose preview was replaced by another loses its mark. A recipe made from a result keeps
its own copy of the image as its cover (recipes/service.py), so removing a result never takes a recipe's image.

Records are parsed once and kept (result_records.py): a call stats the records and parses only those that changed
on disk; the records it hands out are copies, never the ones kept.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import threading
import time
from typing import Any

from ..errors import Conflict, NotFound
from .result_records import RecordCache

log = logging.getLogger(__name__)
RECORD_FIELDS = ("prompt", "negative_prompt", "loras", "steps", "width", "height", "cfg_scale", "sampler",
                 "batch_size", "kind", "denoising_strength", "resize_mode", "control_model", "control_strength",
                 "init_image", "control_image")


class Results:
    def __init__(self, outputs: str, keep_days: float = 0, keep_gb: float = 0):
        self.outputs = os.path.realpath(outputs)
        self.keep_days = keep_days
        self.keep_gb = keep_gb
        self.lock = threading.RLock()
        self._last_cleanup = 0.0
        self._cache = RecordCache()

    # --- writing ---------------------------------------------------------
    def record_job(self, job) -> dict[str, Any] | None:
        """Write the record of a finished job with images (the queue calls this for every finished job)."""
        images = [str(p) for p in ((job.result or {}).get("images") or [])]
        if job.status != "done" or not images:
            return None
        req = job.request
        rec = {"id": job.id, "kind": req.kind, "created_at": job.created_at, "finished_at": job.finished_at,
               "params": {k: getattr(req, k) for k in RECORD_FIELDS}, "prompt": job.prompt,
               "seed": (job.result or {}).get("seed"), "infotexts": (job.result or {}).get("infotexts") or [],
               "images": [os.path.basename(p) for p in images], "group": job.group, "purpose": job.purpose,
               "used_as_preview": []}
        rec["params"]["seed"] = req.seed
        self._write(os.path.dirname(images[0]), rec)
        self.maybe_cleanup()
        return rec

    def record_grid(self, rec_id: str, path: str, params: dict[str, Any]) -> dict[str, Any]:
        rec = {"id": rec_id, "kind": "grid", "created_at": time.time(), "finished_at": time.time(), "params": params,
               "prompt": params.get("prompt", ""), "seed": None, "infotexts": [], "images": [os.path.basename(path)],
               "group": rec_id, "purpose": None, "used_as_preview": []}
        self._write(os.path.dirname(path), rec)
        return rec

    def _write(self, folder: str, rec: dict[str, Any]) -> None:
        path = os.path.join(folder, rec["id"] + ".json")
        tmp = path + ".part"
        with self.lock:
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(rec, f)
            os.replace(tmp, path)
            self._cache.drop(path)  # read again at the next look, as any record changed

    # --- reading ---------------------------------------------------------
    def _folders(self) -> list[str]:
        """The outputs folder and its day folders (the host runner writes into `<day>/`)."""
        try:
            days = [e.path for e in os.scandir(self.outputs) if e.is_dir(follow_symlinks=False)]
        except OSError:
            return []
        return [self.outputs, *sorted(days, reverse=True)]

    def _records(self) -> list[tuple[str, dict[str, Any]]]:
        """Every record, newest first: the ones kept (not to be changed), those changed on disk parsed again."""
        with self.lock:
            out = self._cache.scan(self._folders(), self._read)
        out.sort(key=lambda item: item[1].get("finished_at") or 0, reverse=True)
        return out

    @staticmethod
    def _read(path: str) -> dict[str, Any] | None:
        try:
            with open(path, encoding="utf-8") as f:
                rec = json.load(f)
        except (OSError, ValueError):
            return None
        return rec if isinstance(rec, dict) and isinstance(rec.get("id"), str) else None

    def list(self, limit: int = 50, offset: int = 0, kind: str | None = None) -> dict[str, Any]:
        with self.lock:
            recs = [r for _, r in self._records() if kind is None or r.get("kind") == kind]
        return {"total": len(recs), "limit": limit, "offset": offset,
                "items": [self._public(r) for r in recs[offset:offset + limit]]}

    def _find(self, rec_id: str) -> tuple[str, dict[str, Any]]:
        if not rec_id.replace("-", "").isalnum() or len(rec_id) > 64:
            raise NotFound("no such result")
        with self.lock:
            for folder in self._folders():
                rec = self._cache.get(os.path.join(folder, rec_id + ".json"), folder, self._read)
                if rec is not None:
                    return folder, copy.deepcopy(rec)
        raise NotFound(f"no result {rec_id[:40]!r} (deleted, or cleaned up by the keep policy)")

    def get(self, rec_id: str) -> dict[str, Any]:
        return self._public(self._find(rec_id)[1])

    def image_path(self, rec_id: str, index: int) -> str:
        folder, rec = self._find(rec_id)
        images = rec.get("images") or []
        if not 0 <= index < len(images):
            raise NotFound(f"this result has {len(images)} image(s)")
        path = os.path.realpath(os.path.join(folder, os.path.basename(str(images[index]))))
        if not path.startswith(self.outputs + os.sep) or not os.path.isfile(path):
            raise NotFound("the image is not in LoRA Manager's outputs folder")
        return path

    @staticmethod
    def _public(rec: dict[str, Any]) -> dict[str, Any]:
        return {**copy.deepcopy(rec), "images": len(rec.get("images") or [])}

    # --- uses, delete, cleanup -------------------------------------------------
    def mark_preview(self, rec_id: str, lora_path: str) -> None:
        """Mark a result as the LoRA's preview; a result it replaced is that LoRA's preview no more (its mark goes,
        so cleanup may take it: the replaced file itself went to the trash). Only the records marked for this
        LoRA are read and written, found by the marks of the records kept (brought up to date first)."""
        with self.lock:
            folder, rec = self._find(rec_id)
            self._records()  # marks another writer left since the last look
            for other_folder, other in self._cache.marked(lora_path):
                if other["id"] != rec_id:
                    other = copy.deepcopy(other)
                    other["used_as_preview"] = [p for p in other["used_as_preview"] if p != lora_path]
                    self._write(other_folder, other)
            uses = rec.setdefault("used_as_preview", [])
            if lora_path not in uses:
                uses.append(lora_path)
            self._write(folder, rec)

    def in_use(self, folder: str, rec: dict[str, Any]) -> str | None:
        """Why a record's images must stay (None: they may go)."""
        return "it is a LoRA's preview" if rec.get("used_as_preview") else None

    def delete(self, rec_id: str, force: bool = False) -> dict[str, Any]:
        folder, rec = self._find(rec_id)
        why = self.in_use(folder, rec)
        if why and not force:
            raise Conflict(f"this result is kept: {why} (delete that first, or ask with force)")
        freed = self._remove(folder, rec)
        return {"deleted": 1, "freed_bytes": freed}

    def _remove(self, folder: str, rec: dict[str, Any]) -> int:
        freed = 0
        with self.lock:
            for name in rec.get("images") or []:
                path = os.path.join(folder, os.path.basename(str(name)))
                try:
                    freed += os.path.getsize(path)
                    os.unlink(path)
                except OSError:
                    pass
            path = os.path.join(folder, rec["id"] + ".json")
            try:
                os.unlink(path)
            except OSError:
                pass
            self._cache.drop(path)
        return freed

    def _size(self, folder: str, rec: dict[str, Any]) -> int:
        total = 0
        for name in rec.get("images") or []:
            try:
                total += os.path.getsize(os.path.join(folder, os.path.basename(str(name))))
            except OSError:
                pass
        return total

    def maybe_cleanup(self, every: float = 600.0) -> None:
        if (self.keep_days or self.keep_gb) and time.time() - self._last_cleanup > every:
            try:
                self.cleanup()
            except OSError:
                log.exception("results cleanup failed")

    def cleanup(self, keep_days: float | None = None, keep_gb: float | None = None,
                dry_run: bool = False) -> dict[str, Any]:
        """Remove results older than keep_days, then the oldest until the rest fit in keep_gb (0: no limit);
        an image in use is always kept."""
        days = self.keep_days if keep_days is None else keep_days
        gb = self.keep_gb if keep_gb is None else keep_gb
        self._last_cleanup = time.time()
        deleted = freed = kept = 0
        with self.lock:
            recs = list(reversed(self._records()))  # oldest first
            sizes = {id(r): self._size(f, r) for f, r in recs}
            total = sum(sizes.values())
            cutoff = time.time() - days * 86400 if days else None
            for folder, rec in recs:
                old = cutoff is not None and (rec.get("finished_at") or 0) < cutoff
                over = bool(gb) and total > gb * (1 << 30)
                if not (old or over):
                    continue
                if self.in_use(folder, rec):
                    kept += 1
                    continue
                size = sizes[id(rec)]
                if not dry_run:
                    self._remove(folder, rec)
                deleted, freed, total = deleted + 1, freed + size, total - size
        return {"deleted": deleted, "freed_bytes": freed, "kept_in_use": kept, "remaining_bytes": total,
                "dry_run": dry_run}
