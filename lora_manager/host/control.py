"""Control jobs through SDNext's own control pipeline (docs/host.md, "Control").

The host's entry point is `modules.control.run.control_run(units=..., inputs=..., inits=..., unit_type=...,
is_generator=True, prompt=..., ...)`: a generator that yields preview tuples, a message string when it stops
early ('Interrupted', 'Pipeline not set', ...), and last `(images, blended, html, filename)`. A unit is
`modules.control.unit.Unit(enabled=True, unit_type='controlnet', model_id=..., process_id=..., strength=...)`;
the models a user may pick are `modules.control.units.controlnet.list_models()` ('None' first). A host
without these modules (A1111) has no control pipeline: jobs of that kind are refused before they queue.
"""

from __future__ import annotations

import logging
import threading
import types
from collections.abc import Callable

from . import recording
from .jobs_runner import _poll, _report, open_image

log = logging.getLogger(__name__)


def control_models() -> list[str] | None:
    """The ControlNet models the host offers for the loaded checkpoint; None when it has no control pipeline."""
    try:
        from modules.control.units import controlnet
    except ImportError:
        return None
    try:
        # refresh: the host lists once and keeps that list, made before a model was loaded (only 'None') or
        # for the model type loaded then; its own control tab refreshes the same way
        try:
            models = controlnet.list_models(refresh=True)
        except TypeError:  # a host whose list takes no argument
            models = controlnet.list_models()
    except Exception:  # the host failed to list them: say "none" rather than fail the request
        log.exception("the host's control models could not be listed")
        return []
    return [m for m in (models or []) if isinstance(m, str) and m and m != "None"]


def _sampler_index(name: str | None) -> int | None:
    try:
        from modules import processing_helpers

        return processing_helpers.get_sampler_index(name or "Default")
    except Exception:  # an older host: the pipeline's default sampler
        return None


def run_control(job, progress: Callable[[int, int], None], shared, recorder=None) -> tuple[object, bool]:
    """Run the job through the host's control entry point, under the caller's queue lock; recorded in the
    usage as our other jobs are (the host's `p` stays inside its control pipeline: the event is ours).
    Returns (a Processed-like object, interrupted)."""
    req = job.request
    p = types.SimpleNamespace(prompt=job.prompt, negative_prompt=req.negative_prompt, seed=req.seed, steps=req.steps,
                              width=req.width, height=req.height, sampler_name=req.sampler or "Default")
    recording.attach(p, recording.start_event(p, source="job") if recorder is not None else None)
    done = False
    try:
        processed, interrupted = _run(job, progress, shared)
        done = bool(processed.images) and not interrupted
        return processed, interrupted
    finally:
        if recorder is not None:
            recording.finish(p, recorder, done=done)


def _run(job, progress: Callable[[int, int], None], shared) -> tuple[object, bool]:
    from modules.control import run, unit

    req = job.request
    control = open_image(job.control_path)
    inits = [open_image(job.init_path)] if job.init_path else None
    ctl = unit.Unit(enabled=True, unit_type="controlnet", model_id=req.control_model, process_id="",
                    strength=req.control_strength, start=0.0, end=1.0)
    stop = threading.Event()
    task = shared.state.begin("LoRA Manager control job", api=True)
    poller = threading.Thread(target=_poll, args=(shared.state, progress, stop), daemon=True)
    poller.start()
    images, info, message = None, "", None
    try:
        for item in run.control_run(
                units=[ctl], inputs=[control], inits=inits, unit_type="controlnet", is_generator=True,
                input_type=2 if inits else 0, prompt=job.prompt, negative_prompt=req.negative_prompt,
                steps=req.steps, sampler_index=_sampler_index(req.sampler), seed=req.seed, cfg_scale=req.cfg_scale,
                width_before=req.width, height_before=req.height, denoising_strength=req.denoising_strength,
                batch_size=req.batch_size, batch_count=1):
            if isinstance(item, str):
                message = item
            elif isinstance(item, tuple) and len(item) >= 3 and isinstance(item[0], list):
                images, info = item[0], item[2] if isinstance(item[2], str) else ""
    finally:
        stop.set()
        poller.join(2)
        _report(shared.state, progress)
        interrupted = bool(getattr(shared.state, "interrupted", False)) or job.cancel_requested
        shared.state.end(task)
    if message and not images:
        if "interrupt" in message.lower():
            return types.SimpleNamespace(images=[], infotexts=[], seed=None), True
        raise RuntimeError(f"the host's control pipeline stopped: {message[:300]}")
    # the generator's text is HTML for the host's page; each processed image carries the infotext itself
    infotexts = [(getattr(im, "info", None) or {}).get("parameters") or info for im in images or []]
    return types.SimpleNamespace(images=images or [], infotexts=infotexts, seed=req.seed), interrupted
