"""Run a job through SDNext's own pipelines on the shared GPU: txt2img and img2img through
`modules.processing`, control through SDNext's control entry point (host/control.py).

The host's queue lock is held for the job and only for it, so the host's UI
and API jobs wait their turn and are never starved; progress is read from
`shared.state`; cancel interrupts the host. Images are saved with their
infotext in the data directory, each written under a temporary name and renamed
when whole; a cancelled job saves nothing (the host hands back a partial image).
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

    def control_models(self) -> list[str] | None:
        from .control import control_models

        return control_models()

    def interrupt(self) -> None:
        from modules import shared

        shared.state.interrupt()

    def run(self, job, progress: Callable[[int, int], None]) -> dict[str, Any]:
        from modules import call_queue, processing, shared

        if job.request.kind == "control":
            from .control import run_control

            with call_queue.queue_lock:  # held for this job only, as for the others
                processed, interrupted = run_control(job, progress, shared, self.recorder)
            return self._save(job, processed, interrupted)
        req = job.request
        stop = threading.Event()
        with call_queue.queue_lock:  # held for this job only; the host's own jobs queue behind it
            args = dict(prompt=job.prompt, negative_prompt=req.negative_prompt, seed=req.seed, steps=req.steps,
                        width=req.width, height=req.height, cfg_scale=req.cfg_scale,
                        sampler_name=req.sampler or "Default", batch_size=req.batch_size, n_iter=1,
                        do_not_save_samples=True, do_not_save_grid=True, override_settings={})
            if req.kind == "img2img":
                p = processing.StableDiffusionProcessingImg2Img(
                    init_images=[open_image(job.init_path)], denoising_strength=req.denoising_strength,
                    resize_mode=req.resize_mode, **args)
            else:
                p = processing.StableDiffusionProcessingTxt2Img(**args)
            recording.watch_apply_errors()
            event = recording.start_event(p, source="job")
            task = shared.state.begin("LoRA Manager job", api=True)
            poller = threading.Thread(target=_poll, args=(shared.state, progress, stop), daemon=True)
            poller.start()
            processed, interrupted = None, False
            try:
                processed = processing.process_images(p)
            finally:
                stop.set()
                poller.join(2)
                _report(shared.state, progress)  # where it really stopped
                interrupted = bool(getattr(shared.state, "interrupted", False))
                shared.state.end(task)
                if self.recorder is not None:
                    # Attached only now: the host's on_after_process has already run for p.
                    recording.attach(p, event)
                    recording.finish(p, self.recorder, done=processed is not None and not interrupted)
                p.close()
        return self._save(job, processed, interrupted)

    def _save(self, job, processed, interrupted: bool) -> dict[str, Any]:
        if processed is None:
            raise RuntimeError("the host has no model loaded")
        infotexts = list(getattr(processed, "infotexts", []) or [])
        if job.cancel_requested or interrupted:
            return {"images": [], "infotexts": [], "seed": None}  # the partial image is not kept
        folder = os.path.join(self.output_dir, time.strftime("%Y-%m-%d"))
        os.makedirs(folder, exist_ok=True)
        paths = []
        for i, image in enumerate(getattr(processed, "images", []) or []):
            info = infotexts[i] if i < len(infotexts) else getattr(processed, "info", "")
            paths.append(save_image(image, os.path.join(folder, f"{job.id}-{i}.png"), info))
        return {"images": paths, "infotexts": infotexts, "seed": getattr(processed, "seed", None)}


def open_image(path: str | None):
    from PIL import Image

    if not path:
        raise RuntimeError("the job's init image is missing")
    with Image.open(path) as img:
        return img.convert("RGB")


def save_image(image, path: str, info: str | None) -> str:
    """Write under a temporary name, then rename: a crash or cancel never leaves half an image under the real one."""
    from PIL.PngImagePlugin import PngInfo

    tmp = f"{path}.part"
    meta = PngInfo()
    meta.add_text("parameters", info or "")
    try:
        image.save(tmp, format="PNG", pnginfo=meta)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def _poll(state, progress: Callable[[int, int], None], stop: threading.Event) -> None:
    while not stop.wait(0.25):
        _report(state, progress)


def _report(state, progress: Callable[[int, int], None]) -> None:
    try:
        progress(int(getattr(state, "sampling_step", 0) or 0), int(getattr(state, "sampling_steps", 0) or 0))
    except (TypeError, ValueError):
        pass
