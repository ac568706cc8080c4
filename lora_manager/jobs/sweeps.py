"""Weight sweeps: one job per cell (a LoRA's weight per column; a seed, or a second LoRA's weight, per row), queued
like any job, and once the last has finished a labelled grid image beside the single images, kept as a result of
its own (kind "grid")."""

from __future__ import annotations

import dataclasses
import os
import random
import threading
import time
import uuid
from typing import Any

from ..errors import InvalidInput, NotFound
from .grid import make_grid, save_grid
from .queue import NoHost
from .request import validate_request

MAX_CELLS = 64
MAX_KEPT = 50


class Sweeps:
    def __init__(self, queue, results, outputs: str):
        self.queue = queue
        self.results = results
        self.outputs = outputs
        self._sweeps: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def start(self, job: dict[str, Any], x: dict[str, Any], y: dict[str, Any] | None = None,
              seeds: list[int] | None = None) -> dict[str, Any]:
        """Queue the cells of a sweep: `x` = {"lora", "weights"}; rows are `y`'s weights (an X/Y sweep over two
        LoRAs, at one seed) or `seeds`."""
        if self.queue.runner is None:
            raise NoHost("sweeps run through the host's pipeline; start LoRA Manager inside SDNext to run them")
        base = validate_request({**job, "seed": job.get("seed", -1)})
        x_weights = [float(w) for w in x.get("weights") or []]
        y_weights = [float(w) for w in (y or {}).get("weights") or []]
        if not x_weights or (y is not None and not y_weights):
            raise InvalidInput("give at least one weight for each axis")
        seeds = [int(s) for s in (seeds or [base.seed])]
        seeds = [s if s >= 0 else random.randrange(2**32 - 1) for s in seeds]
        rows = y_weights if y is not None else seeds
        if len(x_weights) * len(rows) > MAX_CELLS:
            raise InvalidInput(f"a sweep of at most {MAX_CELLS} images")
        x_name, y_name = str(x.get("lora") or ""), str((y or {}).get("lora") or "")
        if not x_name or (y is not None and (not y_name or y_name == x_name)):
            raise InvalidInput("name the LoRA of each axis (two different LoRAs for an X/Y sweep)")
        sweep_id = uuid.uuid4().hex[:12]
        cells: list[list[str]] = []
        for r in rows:
            row = []
            for w in x_weights:
                weights = {x_name: w, **({y_name: r} if y is not None else {})}
                req = dataclasses.replace(base, loras=_with_weights(base.loras, weights),
                                          seed=seeds[0] if y is not None else int(r))
                row.append(self.queue.submit(req, group=sweep_id, after=self._after).id)
            cells.append(row)
        sweep = {"id": sweep_id, "status": "running", "created_at": time.time(), "jobs": cells,
                 "columns": [f"{x_name}: {w:g}" for w in x_weights],
                 "rows": [f"{y_name}: {r:g}" for r in y_weights] if y is not None else [f"seed {s}" for s in seeds],
                 "grid": None, "prompt": base.prompt}
        with self._lock:
            self._sweeps[sweep_id] = sweep
            for old in sorted(self._sweeps.values(), key=lambda s: s["created_at"])[:-MAX_KEPT]:
                del self._sweeps[old["id"]]
        self._after(None, sweep_id)  # every cell may have failed at once
        return self.get(sweep_id)

    def get(self, sweep_id: str) -> dict[str, Any]:
        with self._lock:
            sweep = self._sweeps.get(sweep_id)
            if sweep is None:
                raise NotFound(f"no sweep {sweep_id[:40]!r}")
            return {**sweep, "jobs": [list(r) for r in sweep["jobs"]]}

    def _after(self, job, sweep_id: str | None = None) -> None:
        sweep_id = sweep_id or (job.group if job is not None else None)
        with self._lock:
            sweep = self._sweeps.get(sweep_id or "")
            if sweep is None or sweep["status"] != "running":
                return
            try:
                jobs = [[self.queue.get(j) for j in row] for row in sweep["jobs"]]
            except NotFound:  # a cell's job was forgotten (the queue keeps a bounded history)
                sweep["status"] = "failed"
                return
            if any(j.status in ("queued", "running") for row in jobs for j in row):
                return
            sweep["status"] = "drawing"
        cells = [[_first_image(j) for j in row] for row in jobs]
        if not any(c for row in cells for c in row):
            sweep["status"] = "failed"
            return
        folder = os.path.join(self.outputs, time.strftime("%Y-%m-%d"))
        os.makedirs(folder, exist_ok=True)
        path = save_grid(make_grid(cells, sweep["columns"], sweep["rows"], sweep["prompt"][:120]),
                         os.path.join(folder, f"{sweep['id']}-grid.png"))
        self.results.record_grid(sweep["id"], path, {"prompt": sweep["prompt"], "columns": sweep["columns"],
                                                     "rows": sweep["rows"], "jobs": sweep["jobs"]})
        sweep["grid"], sweep["status"] = sweep["id"], "done"


def _with_weights(loras: list[dict[str, Any]], weights: dict[str, float]) -> list[dict[str, Any]]:
    """The stack with these LoRAs' weights set (a LoRA not yet in the stack is added)."""
    out = [dict(item) for item in loras]
    for name, weight in weights.items():
        for item in out:
            if str(item.get("name")) == name:
                item["weight"] = weight
                break
        else:
            out.append({"name": name, "weight": weight})
    return out


def _first_image(job) -> str | None:
    images = (job.result or {}).get("images") or [] if job.status == "done" else []
    return str(images[0]) if images else None
