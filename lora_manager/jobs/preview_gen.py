"""Preview generation: for one LoRA, a selection or every LoRA without a preview, a job whose prompt is its trigger
words and an example prompt (the first Civitai example image's prompt when stored), run on the loaded checkpoint
when the LoRA's base fits it (else skipped with the reason), and its first image set as the LoRA's preview.

The preview is written beside the LoRA as `<base>.preview.png` (a name SDNext, A1111 and ComfyUI read,
docs/formats.md). A LoRA that already has a preview (one the user placed, or any other) is skipped unless
`replace` is asked; then the previews the host would show first are moved to the trash folder, never deleted.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Callable
from typing import Any

from ..civitai.previews import has_preview
from ..errors import LoraManagerError, NotFound
from ..library.previews import IMAGE_EXTS
from ..storage.catalog_store import LoraQuery
from .queue import NoHost
from .request import JobRequest

log = logging.getLogger(__name__)
MAX_AT_ONCE = 500
FALLBACK = "a detailed picture of {title}, best quality"
_TAGS = re.compile(r"<[^<>]{0,300}>")


def example_prompt(entry: dict[str, Any], civitai: dict[str, Any] | None) -> str:
    """Trigger words and an example prompt; the example's own <lora:...> tags are left out (ours is added)."""
    examples = (civitai or {}).get("examples") or []
    example = next((e.get("prompt") for e in examples if isinstance(e, dict) and e.get("prompt")), None)
    if example:
        example = " ".join(_TAGS.sub(" ", example).split())[:1500]
    else:
        example = FALLBACK.format(title=entry.get("title") or entry.get("name") or "it")
    triggers = [t for t in entry.get("triggers") or [] if t and t.lower() not in example.lower()]
    return ", ".join([*triggers[:10], example]) if triggers else example


class PreviewMaker:
    def __init__(self, catalog, queue, results, civitai_facts: Callable[[int], dict | None],
                 reread: Callable[[list[int], Any], None] | None, trash_dir: str, lock: threading.Lock | None = None):
        self.catalog = catalog
        self.queue = queue
        self.results = results
        self.civitai_facts = civitai_facts
        self.reread = reread
        self.trash_dir = trash_dir
        self.lock = lock or threading.Lock()

    def generate(self, keys: list[str] | None, *, replace: bool = False, steps: int = 20, width: int = 512,
                 height: int = 512, seed: int = -1, weight: float | None = None) -> dict[str, Any]:
        """Queue a preview job per LoRA (`keys` None: every LoRA without a preview); the rest skipped with why."""
        if self.queue.runner is None:
            raise NoHost("previews are generated through the host's pipeline; start LoRA Manager inside SDNext")
        family = self.queue.runner.checkpoint_family()
        if keys is None:
            page = self.catalog.list(LoraQuery(has_preview=False, state="ok", limit=MAX_AT_ONCE))
            entries, skipped = page.items, []
        else:
            entries, skipped = [], []
            for key in keys[:MAX_AT_ONCE]:
                try:
                    entries.append(self.catalog.get(key))
                except NotFound:
                    skipped.append({"lora": str(key)[:300], "reason": "no such LoRA"})
        queued = []
        for entry in entries:
            why = self._skip(entry, family, replace)
            if why:
                skipped.append({"lora": entry["prompt_name"], "id": entry["id"], "reason": why})
                continue
            req = JobRequest(prompt=example_prompt(entry, self._facts(entry["id"])), steps=steps, width=width,
                             height=height, seed=seed, loras=[{"name": str(entry["id"]), "weight": weight}],
                             priority="background")  # after every job a person asked for
            try:
                job = self.queue.submit(req, purpose={"preview_for": entry["id"], "replace": replace},
                                        after=self._set_result)
            except LoraManagerError as exc:
                if exc.status == 409:  # no host: nothing can run, say it once
                    raise
                skipped.append({"lora": entry["prompt_name"], "id": entry["id"], "reason": exc.message})
                continue
            queued.append({"lora": entry["prompt_name"], "id": entry["id"], "job": job.id})
        return {"queued": queued, "skipped": skipped}

    def _skip(self, entry: dict[str, Any], family: str | None, replace: bool) -> str | None:
        if entry["state"] != "ok":
            return f"the LoRA is {entry['state']}"
        if not replace and (entry.get("previews") or has_preview(entry["path"])):  # the disk decides too
            return "it has a preview (ask to replace it)"
        if family is None:
            return "no checkpoint is loaded in the host (or its family is unknown)"
        base = entry.get("base_model")
        if base and base != family:
            return f"it is for {base} and the loaded checkpoint is {family}: load a {base} checkpoint first"
        return None

    def _facts(self, lora_id: int) -> dict | None:
        try:
            return self.civitai_facts(lora_id)
        except Exception:  # Civitai facts are a nicety here: a plain prompt does
            log.debug("no Civitai facts for %s", lora_id, exc_info=True)
            return None

    def _set_result(self, job) -> None:
        images = (job.result or {}).get("images") or []
        if job.status == "done" and images and job.purpose:
            self.set_preview(job.id, 0, job.purpose["preview_for"], replace=bool(job.purpose.get("replace")))

    def set_preview(self, result_id: str, index: int, key: str | int, *, replace: bool = False) -> dict[str, Any]:
        """Copy a result image beside the LoRA as `<base>.preview.png`; returns {"written"} or {"kept"} with why."""
        entry = self.catalog.get(key)
        src = self.results.image_path(result_id, index)
        lora_path = entry["path"]
        if not os.path.isfile(lora_path):
            return {"lora": entry["prompt_name"], "written": None, "kept": "the LoRA is not on disk"}
        base = os.path.splitext(lora_path)[0]
        target = base + ".preview.png"
        with self.lock:
            if has_preview(lora_path):
                if not replace:
                    return {"lora": entry["prompt_name"], "written": None, "kept": "it has a preview"}
                self._to_trash(base)
            tmp = os.path.join(os.path.dirname(lora_path), f".{os.path.basename(base)}.preview.lm-{os.getpid()}.tmp")
            try:
                shutil.copyfile(src, tmp)
                os.replace(tmp, target)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
        self.results.mark_preview(result_id, lora_path)
        if self.reread is not None:
            self.reread([entry["id"]], None)
        return {"lora": entry["prompt_name"], "written": os.path.basename(target), "kept": None}

    def _to_trash(self, base: str) -> None:
        """Move the previews the host shows first (<base>{,.preview,.thumb}.<image ext>) to the trash folder."""
        folder = os.path.join(self.trash_dir, "previews", time.strftime("%Y%m%d-%H%M%S"))
        for mid in ("", ".preview", ".thumb"):
            for ext in IMAGE_EXTS:
                path = base + mid + ext
                if os.path.isfile(path) and not os.path.islink(path):
                    os.makedirs(folder, exist_ok=True)
                    shutil.move(path, os.path.join(folder, os.path.basename(path)))
