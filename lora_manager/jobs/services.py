"""Generation beyond one txt2img job, attached to the core once it exists (app.build): the images jobs start from,
the results kept on disk, weight sweeps with their grids, and preview generation."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from .inputs import InputImages
from .preview_gen import PreviewMaker
from .results import Results
from .sweeps import Sweeps


@dataclass
class Generation:
    inputs: InputImages
    results: Results
    sweeps: Sweeps
    previews: PreviewMaker
    outputs: str

    def control_models(self, queue) -> dict[str, Any]:
        models = queue.control_models() if queue.runner is not None else None
        return {"available": models is not None, "models": models or []}


def attach(app, reread) -> Generation:
    """Build the generation services over the core's queue, catalog and files; the queue records every finished
    job's results and resolves the images a job names."""
    s = app.settings
    outputs = os.path.join(s.data_dir, "outputs")  # where the host runner writes job images
    results = Results(outputs, keep_days=s.outputs_keep_days, keep_gb=s.outputs_keep_gb)
    inputs = InputImages(os.path.join(s.data_dir, "inputs"), result_path=_result_path(app.jobs, results, outputs))
    app.jobs.inputs = inputs
    app.jobs.finished.append(results.record_job)
    gen = Generation(inputs=inputs, results=results, sweeps=Sweeps(app.jobs, results, outputs),
                     previews=PreviewMaker(app.catalog, app.jobs, results, app.civitai.civitai_facts, reread,
                                           s.trash_dir, lock=app.files.lock), outputs=outputs)
    app.generation = gen
    return gen


def _result_path(queue, results: Results, outputs: str):
    """A previous job's image: from the queue while it remembers the job, else from the results on disk."""
    from ..errors import NotFound

    def path(job_id: str, index: int) -> str:
        try:
            return queue.image_path(job_id, index, outputs)
        except NotFound:
            return results.image_path(job_id, index)

    return path
