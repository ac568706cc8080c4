"""Run a job through SDNext's own txt2img pipeline on the shared GPU.

The host's queue lock is held for the job and only for it, so the host's UI
and API jobs wait their turn and are never starved; progress is read from
`shared.state`; cancel interrupts the host. Images are saved with their
infotext in the data directory.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any
from collections.abc import Callable

from . import recording


class HostRunner:
    def __init__(self, output_dir: str, recorder=None):
        self.output_dir = output_dir
        self.recorder = recorder

    def checkpoint_family(self) -> str | None:
        from .model_family import loaded_family

        return loaded_family()

    def missing_loras(self, names: list[str]) -> list[str]:
        """Names the host's LoRA list lacks, after one refresh of that list (a file may be new to it)."""
        from .sdnext import lora_registry

        registry = lora_registry()
        if registry is None:
            return []  # a host without a readable list: let the generation decide

        def lacking() -> list[str]:
            known = getattr(registry, "available_network_aliases", None) or getattr(registry, "available_networks", {})
            return [n for n in names if n not in known]

        missing = lacking()
        if missing and hasattr(registry, "list_available_networks"):
            registry.list_available_networks()
            missing = lacking()
        return missing

    def interrupt(self) -> None:
        from modules import shared

        shared.state.interrupt()

    def run(self, job, progress: Callable[[int, int], None]) -> dict[str, Any]:
        from modules import call_queue, processing, shared

        req = job.request
        stop = threading.Event()
        with call_queue.queue_lock:  # held for this job only; the host's own jobs queue behind it
            p = processing.StableDiffusionProcessingTxt2Img(
                prompt=job.prompt, negative_prompt=req.negative_prompt, seed=req.seed, steps=req.steps, width=req.width,
                height=req.height, cfg_scale=req.cfg_scale, sampler_name=req.sampler or "Default",
                batch_size=req.batch_size,
                n_iter=1, do_not_save_samples=True, do_not_save_grid=True, override_settings={},
            )
            recording.watch_apply_errors()
            event = recording.start_event(p, source="job")
            task = shared.state.begin("LoRA Manager job", api=True)
            poller = threading.Thread(target=_poll, args=(shared.state, progress, stop), daemon=True)
            poller.start()
            try:
                processed = processing.process_images(p)
            finally:
                stop.set()
                poller.join(2)
                _report(shared.state, progress)  # where it really stopped
                shared.state.end(task)
                if self.recorder is not None:
                    # Attached only now: the host's on_after_process has already run for p.
                    recording.attach(p, event)
                    ok = processed is not None and not getattr(shared.state, "interrupted", False)
                    recording.finish(p, self.recorder, done=ok)
                p.close()
        if processed is None:
            raise RuntimeError("the host has no model loaded")
        return self._save(job, processed)

    def _save(self, job, processed) -> dict[str, Any]:
        folder = os.path.join(self.output_dir, time.strftime("%Y-%m-%d"))
        os.makedirs(folder, exist_ok=True)
        infotexts = list(getattr(processed, "infotexts", []) or [])
        paths = []
        for i, image in enumerate(getattr(processed, "images", []) or []):
            path = os.path.join(folder, f"{job.id}-{i}.png")
            info = infotexts[i] if i < len(infotexts) else getattr(processed, "info", "")
            try:
                from PIL.PngImagePlugin import PngInfo

                meta = PngInfo()
                meta.add_text("parameters", info or "")
                image.save(path, pnginfo=meta)
            except ImportError:
                image.save(path)
            paths.append(path)
        return {"images": paths, "infotexts": infotexts, "seed": getattr(processed, "seed", None)}


def _poll(state, progress: Callable[[int, int], None], stop: threading.Event) -> None:
    while not stop.wait(0.25):
        _report(state, progress)


def _report(state, progress: Callable[[int, int], None]) -> None:
    try:
        progress(int(getattr(state, "sampling_step", 0) or 0), int(getattr(state, "sampling_steps", 0) or 0))
    except (TypeError, ValueError):
        pass
