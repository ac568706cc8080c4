"""What LoRA Manager costs the host: start-up (loading our scripts/ file and
registering) and recording one generation on the generation thread.

    python bench/bench_host.py

Runs against the stand-in host of the test suite (tests/standin.py), in a fresh
interpreter per start-up sample so imports are counted. Baselines in the same
run: an empty script file for start-up; an empty function call for recording.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

STARTUP = r"""
import sys, time, pathlib, types
sys.path.insert(0, {root!r})
import fastapi, pydantic  # the host has imported these long before extensions load
from tests.standin import Host
class MP:
    def setitem(self, mapping, key, value): mapping[key] = value
    def syspath_prepend(self, path): sys.path.insert(0, str(path))
host = Host(pathlib.Path({tmp!r}), MP())
t = time.perf_counter()
if {empty}:
    exec(compile("pass", "empty.py", "exec"), {{}})
else:
    host.load_extension()
    host.callbacks.fire("ui_settings")
    host.callbacks.fire("app_started", None, host.app)
print(time.perf_counter() - t)
if not {empty}:
    host.adapter.ready(60)
heavy = [m for m in sys.modules if m.split(".")[0] in ("torch", "sentence_transformers", "faiss", "gradio")]
print(heavy)
"""


def startup(empty: bool, runs: int = 5) -> tuple[float, list]:
    samples, heavy = [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            code = STARTUP.format(root=ROOT, tmp=tmp, empty=empty)
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
            lines = out.stdout.strip().splitlines()
            if out.returncode != 0 or len(lines) < 2:
                raise SystemExit(out.stderr)
            samples.append(float(lines[0]))
            heavy = eval(lines[1])  # a list literal printed by the child
    return statistics.median(samples), heavy


def recording_cost(n: int = 2000) -> dict:
    sys.path.insert(0, ROOT)
    import types

    from lora_manager.host import recording
    from lora_manager.usage.recorder import Recorder

    class Store:
        def record_generations(self, rows):
            return list(range(len(rows)))

    shared = types.SimpleNamespace(opts=types.SimpleNamespace(sd_model_checkpoint="m"), sd_model_type="sd",
                                   state=types.SimpleNamespace(interrupted=False, skipped=False))
    modules = types.ModuleType("modules")
    modules.shared = shared
    sys.modules["modules"], sys.modules["modules.shared"] = modules, shared
    recorder = Recorder(Store())
    prompt = "masterpiece, a cat in a garden <lora:cat_style:0.7> <lora:detail:0.4:0.2> <lora:light:te=0.5:unet=1>"
    ps = [types.SimpleNamespace(prompt=prompt, negative_prompt="blurry", seed=1, steps=20, width=512, height=512,
                                sampler_name="Euler") for _ in range(n)]
    t = time.perf_counter()
    for p in ps:
        recording.before(p)
        recording.finish(p, recorder, done=True)
    ours = (time.perf_counter() - t) / n
    t = time.perf_counter()
    for p in ps:
        pass  # the loop alone: what calling nothing costs
    base = (time.perf_counter() - t) / n
    recorder.flush(30)
    return {"per_generation_us": round(ours * 1e6, 1), "empty_call_us": round(base * 1e6, 2)}


def main() -> None:
    ours, heavy = startup(empty=False)
    base, _ = startup(empty=True)
    result = {
        "startup_s_median": round(ours, 3),
        "startup_empty_script_s_median": round(base, 4),
        "heavy_modules_imported": heavy,
        "recording": recording_cost(),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
