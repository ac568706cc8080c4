"""A small stand-in for the SDNext modules LoRA Manager touches, written from
docs/host.md (never from the host's code).

What it models: `modules.script_callbacks` (one-argument `on_*`, like SDNext),
`modules.scripts` (Script, AlwaysVisible), `modules.shared` (cmd_opts, opts with add_option, OptionInfo, state
with begin/end/interrupt and progress fields, api.add_api_route with auth: HTTP Basic when the host was given
`--auth user:password`, sd_model_type), `modules.call_queue.queue_lock`,
`modules.processing` (Txt2Img and a process_images that strips `<lora:...>`
tags into p.network_data and applies those the registry knows, step by step,
honouring interrupt, firing on_before_process / on_after_process in a finally),
and the LoRA registry `modules.lora.lora_load` / `lora_common.loaded_networks`; the Networks page for
LoRAs (`shared.extra_networks`, tests/standin_pages.py), which keeps its cards until refreshed; the page itself
with our tab and the host's txt2img, img2img and control tabs (tests/standin_ui.py).
Img2Img (`init_images`, `denoising_strength`, `resize_mode`) through the same process_images, and the
control pipeline (`modules.control.run.control_run`, a generator; `modules.control.unit.Unit`;
`modules.control.units.controlnet.list_models()`), absent with `Host(..., control=False)` as in A1111.
Images are real Pillow images: txt2img grey, img2img the init image resized, control the control image.
`fail_next` makes the next generation raise (the host's out-of-memory error, say).
"""

from __future__ import annotations

import argparse
import os
import re
import runpy
import sys
import threading
import time
import types
from typing import Any

from .standin_api import basic_auth, host_error_handlers
from .standin_pages import LoraPage

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TAG = re.compile(r"<lora:([^:>]+)(?::([^:>]+))?(?::([^:>]+))?[^>]*>")


def _mod(name: str, **attrs) -> types.ModuleType:
    mod = types.ModuleType(name)
    mod.__dict__.update(attrs)
    return mod


class Callbacks:
    def __init__(self):
        self.registered: dict[str, list] = {}

    def make(self, name: str):
        def register(fn, *args, **kwargs):
            if args or kwargs:  # SDNext rejects A1111's name= keyword
                raise TypeError(f"on_{name}() takes exactly one argument")
            self.registered.setdefault(name, []).append(fn)

        return register

    def fire(self, name: str, *args) -> list:
        """Call each callback; the results in order (on_ui_tabs callbacks return their tabs)."""
        return [fn(*args) for fn in self.registered.get(name, [])]


class State:
    def __init__(self):
        self.interrupted = self.skipped = False
        self.sampling_step = self.sampling_steps = 0
        self.job = ""

    def begin(self, title="", api=False):
        self.interrupted = self.skipped = False
        self.job = title
        return title

    def end(self, _task=None):
        self.job = ""

    def interrupt(self):
        self.interrupted = True


class Opts(types.SimpleNamespace):
    def add_option(self, key, info):
        self.added[key] = info
        setattr(self, key, info.default)


class OptionInfo:
    def __init__(self, default=None, label="", component=None, component_args=None, section=None):
        self.default, self.label, self.section = default, label, section
        self.component, self.component_args = component, component_args or {}


class Net:
    def __init__(self, name, te, unet):
        self.name, self.te_multiplier, self.unet_multiplier = name, te, unet


class ExtraNetworkLora:
    """SDNext's `lora_common.extra_network_lora`: LoRAs whose weights did not fit the model are
    counted in `errors` while applying (they stay in `loaded_networks`), and `deactivate(p)`,
    called at the end of processing before the scripts' postprocess, logs and clears them."""

    def __init__(self):
        self.errors: dict[str, int] = {}
        self.logged: list[dict[str, int]] = []

    def deactivate(self, p, force=False):
        if self.errors:
            self.logged.append(dict(self.errors))
            self.errors.clear()


class Host:
    """Install with `Host(tmp_path, monkeypatch)`; then `load_extension()`, `start()` and `generate(...)`."""

    def __init__(self, tmp_path, monkeypatch, step_seconds: float = 0.005, control: bool = True):
        self.lora_dir = tmp_path / "models" / "Lora"
        self.lora_dir.mkdir(parents=True, exist_ok=True)
        self.step_seconds = step_seconds
        self.callbacks = Callbacks()
        self.state = State()
        self.queue_lock = threading.Lock()
        self.lock_held_during = []
        self.processed = []
        self.fail_next: Exception | None = None
        self.control_models = ["None", "Canny", "Depth"]
        self.control_calls: list[dict[str, Any]] = []
        parser = argparse.ArgumentParser()
        parser.add_argument("--lora-dir", default=str(self.lora_dir))
        parser.add_argument("--data-dir", default=str(tmp_path))
        parser.add_argument("--auth", default=None)  # the host's sign-in: "user:password[,user:password]"
        self.parser = parser
        from fastapi import Depends, FastAPI

        self.app = FastAPI()
        host_error_handlers(self.app)
        host = self

        class Api:
            def __init__(self):
                self.routes = []

            def add_api_route(self, path, endpoint, auth=True, **kwargs):
                self.routes.append((path, auth))
                if auth and getattr(host.shared.cmd_opts, "auth", None):  # SDNext: HTTP Basic over --auth's users
                    kwargs["dependencies"] = [*kwargs.get("dependencies", []), Depends(basic_auth(host.shared))]
                host.app.add_api_route(path, endpoint, **kwargs)

        class Script:
            pass

        class Txt2Img:
            def __init__(self, **kw):
                self.__dict__.update(kw)
                self.closed = False
                self.network_data = []

            def close(self):
                self.closed = True

        class Img2Img(Txt2Img):
            pass

        self.available: dict[str, str] = {}
        self.loaded_networks: list[Net] = []
        self.shared = _mod("modules.shared", cmd_opts=None, opts=Opts(sd_model_checkpoint="base.safetensors", added={}),
                           OptionInfo=OptionInfo, state=self.state, api=Api(), sd_model_type="sd",
                           extra_networks=[LoraPage(self.lora_dir)])
        self.scripts = _mod("modules.scripts", Script=Script, AlwaysVisible=object())
        self.lora_common = _mod("modules.lora.lora_common", loaded_networks=self.loaded_networks,
                                extra_network_lora=ExtraNetworkLora())
        self.aliases: dict[str, str] = {}
        self.lora_load = _mod("modules.lora.lora_load", available_networks=self.available,
                              available_network_aliases=self.aliases,
                              list_available_networks=self.list_available_networks, refreshes=0)
        self.processing = _mod("modules.processing", StableDiffusionProcessingTxt2Img=Txt2Img,
                               StableDiffusionProcessingImg2Img=Img2Img, process_images=self.process_images)
        sc = _mod("modules.script_callbacks")
        for name in ("app_started", "ui_settings", "ui_tabs", "before_process", "after_process", "model_loaded",
                     "before_ui"):
            setattr(sc, f"on_{name}", self.callbacks.make(name))
        self.script_callbacks = sc
        modules = _mod("modules", shared=self.shared, scripts=self.scripts, processing=self.processing,
                       script_callbacks=sc, call_queue=_mod("modules.call_queue", queue_lock=self.queue_lock),
                       lora=_mod("modules.lora", lora_common=self.lora_common, lora_load=self.lora_load))
        for name, mod in {
            "modules": modules,
            "modules.shared": self.shared,
            "modules.scripts": self.scripts,
            "modules.processing": self.processing,
            "modules.script_callbacks": sc,
            "modules.call_queue": modules.call_queue,
            "modules.lora": modules.lora,
            "modules.lora.lora_common": self.lora_common,
            "modules.lora.lora_load": self.lora_load,
        }.items():
            monkeypatch.setitem(sys.modules, name, mod)
        for name, mod in self._control_modules(Txt2Img).items():  # absent from a host without control (A1111)
            if control:
                monkeypatch.setitem(sys.modules, name, mod)
            else:
                monkeypatch.delitem(sys.modules, name, raising=False)
        if control:
            modules.control = sys.modules["modules.control"]
        monkeypatch.syspath_prepend(ROOT)
        self.script_classes: list[type] = []

    def _control_modules(self, processing_class) -> dict[str, types.ModuleType]:
        """SDNext's control entry point as the contract describes it (docs/host.md)."""
        host = self

        class Unit:
            def __init__(self, enabled=True, unit_type="controlnet", model_id=None, process_id=None, strength=1.0,
                         start=0.0, end=1.0, **_kw):
                self.enabled, self.type, self.model_id, self.process_id = enabled, unit_type, model_id, process_id
                self.strength, self.start, self.end = strength, start, end

        def control_run(state="", units=None, inputs=None, inits=None, mask=None, unit_type=None, is_generator=True,
                        input_type=0, prompt="", negative_prompt="", steps=20, sampler_index=None, seed=-1,
                        cfg_scale=6.0, width_before=512, height_before=512, denoising_strength=0.3, batch_size=1,
                        batch_count=1, **_kw):
            active = [u for u in units or [] if u.enabled and u.type == unit_type]
            host.control_calls.append({"models": [u.model_id for u in active], "inputs": inputs, "inits": inits,
                                       "input_type": input_type, "lock": host.queue_lock.locked()})
            if host.state.interrupted:
                host.state.interrupted = False  # the host clears it when it stops early
                yield "Interrupted"
                return
            if not any(u.model_id in host.control_models for u in active):
                yield "Pipeline not set"
                return
            p = processing_class(prompt=prompt, negative_prompt=negative_prompt, seed=seed, steps=steps,
                                 width=width_before, height=height_before, cfg_scale=cfg_scale)
            p.control_image = (inputs or [None])[0]
            p.init_images = inits if input_type == 2 else None
            yield (None, p.control_image, "")  # the processed control image, as the host previews it
            processed = host.process_images(p)
            p.close()
            yield (processed.images, None, "<p>Ready</p><p><b>Prompt:</b> " + prompt + "</p>", None)  # HTML, as SDNext

        def list_models(refresh=False):  # like the host's: listed once (for the model type then), kept until refresh
            if refresh or controlnet.models is None:
                controlnet.models = list(self.control_models)
            return controlnet.models

        controlnet = _mod("modules.control.units.controlnet", list_models=list_models, models=None)
        units = _mod("modules.control.units", controlnet=controlnet)
        run = _mod("modules.control.run", control_run=control_run)
        unit = _mod("modules.control.unit", Unit=Unit)
        package = _mod("modules.control", run=run, unit=unit, units=units)
        return {"modules.control": package, "modules.control.run": run, "modules.control.unit": unit,
                "modules.control.units": units, "modules.control.units.controlnet": controlnet}

    # --- start-up, in the host's order -------------------------------------
    def load_extension(self, *argv: str) -> None:
        runpy.run_path(os.path.join(ROOT, "preload.py"))["preload"](self.parser)
        self.shared.cmd_opts = self.parser.parse_args(list(argv))
        self.reload_scripts()

    def reload_scripts(self) -> None:
        """Run the extension's scripts file, as the host does at start and on a UI reload."""
        ns = runpy.run_path(os.path.join(ROOT, "scripts", "lora_manager.py"))
        self.adapter = ns["adapter"]  # the extension's own instance, built by its scripts file
        self.script_classes = [v for v in ns.values() if isinstance(v, type) and issubclass(v, self.scripts.Script)
                               and v is not self.scripts.Script]
        self.always_on = [cls() for cls in self.script_classes]

    def start(self) -> None:
        self.callbacks.fire("before_ui")
        self.callbacks.fire("ui_settings")
        # the host builds each tab inside its own gr.Blocks, as SDNext's ui does
        self.tabs = [tab for tabs in self.callbacks.fire("ui_tabs") for tab in (tabs or [])]
        self.callbacks.fire("app_started", None, self.app)
        self.callbacks.fire("model_loaded", object())
        self.list_available_networks()
        self.shared.extra_networks[0].create_items("txt2img")  # the Networks panel lists its cards once

    def list_available_networks(self) -> None:
        self.available.clear()
        self.aliases.clear()
        for dirpath, _dirs, files in os.walk(self.lora_dir):
            for name in files:
                base, ext = os.path.splitext(name)
                if ext.lower() in (".safetensors", ".pt", ".ckpt"):
                    path, key = os.path.join(dirpath, name), base.replace(".", "_")
                    self.available[key] = self.aliases[key] = path
                    self.aliases.setdefault(base, path)  # the natural base name, as SDNext adds it
        self.lora_load.refreshes += 1

    # --- generation ----------------------------------------------------------
    def _load(self, name: str) -> bool:
        path = self.available.get(name)
        if path is None:
            return False
        with open(path, "rb") as f:  # the host fails to load a file that is not safetensors
            head = f.read(9)
        return len(head) == 9 and head[8:9] == b"{"

    def _fits(self, name: str) -> bool:
        """The loaded model is SD 1.x ('sd'): an SDXL LoRA (second text encoder) does not fit."""
        with open(self.available[name], "rb") as f:
            n = int.from_bytes(f.read(8), "little")
            return b"lora_te2_" not in f.read(n)

    def process_images(self, p) -> Any:
        """The contract's order: scripts' before_process (prompt still has its tags), tags
        stripped and applied, steps, scripts' postprocess unless interrupted, and
        on_after_process in a finally. Our own jobs leave p.scripts unset."""
        self.lock_held_during.append(self.queue_lock.locked())
        self.callbacks.fire("before_process", p)
        scripts = getattr(p, "scripts", None) or []
        try:
            for script in scripts:
                script.before_process(p)
            # SDNext's activate(): errors cleared each time, (re)loaded and counted only when the
            # requested set changed since the last generation (same LoRAs, same weights: nothing reloads)
            errors = self.lora_common.extra_network_lora.errors
            errors.clear()
            wanted = [
                (m.group(1), float(m.group(2) or 1), float(m.group(3) or m.group(2) or 1))
                for m in TAG.finditer(p.prompt)
            ]
            changed = wanted != getattr(self, "_last_wanted", None)
            self._last_wanted = wanted
            if changed:
                self.loaded_networks.clear()
            for name, te, unet in wanted:
                p.network_data.append((name, te, unet))
                if changed and (te or unet) and self._load(name):
                    self.loaded_networks.append(Net(name, te, [unet, unet, unet]))  # SDNext: [in, mid, out]
                    if not self._fits(name):  # listed as loaded, but its weights did not apply
                        errors[name] = errors.get(name, 0) + 1
            p.prompt = TAG.sub("", p.prompt).strip()
            if self.fail_next is not None:
                failure, self.fail_next = self.fail_next, None
                raise failure
            self.state.sampling_steps = p.steps
            for step in range(1, p.steps + 1):
                if self.state.interrupted:
                    break
                self.state.sampling_step = step
                time.sleep(self.step_seconds)
            self.lora_common.extra_network_lora.deactivate(p)  # inside processing, before any postprocess
            images, info = [_image(p)], f"{p.prompt}\nSteps: {p.steps}"
            images[0].info["parameters"] = info  # as the host sets on every processed image
            result = types.SimpleNamespace(images=images, infotexts=[info], seed=1234, info="")
            self.processed.append(p)
            if not self.state.interrupted:  # skipped for interrupted jobs, as in the host
                for script in scripts:
                    script.postprocess(p, result)
            return result
        finally:
            self.callbacks.fire("after_process", p)

    def generate(self, prompt: str, steps: int = 4, interrupt_at: int | None = None, **kw) -> Any:
        """A UI generation: the queue lock, state, and the always-on scripts on p."""
        p = self.processing.StableDiffusionProcessingTxt2Img(prompt=prompt, negative_prompt="", seed=7, steps=steps,
                                                             width=512, height=512, sampler_name="Euler", **kw)
        p.scripts = self.always_on
        with self.queue_lock:
            self.state.begin("txt2img")
            if interrupt_at is not None:
                threading.Timer(self.step_seconds * interrupt_at, self.state.interrupt).start()
            self.process_images(p)
            self.state.end()
        return p


def _image(p):
    """What the pipeline makes: the init (img2img) or control image at the asked size, else a grey one."""
    from PIL import Image

    size = (int(getattr(p, "width", 64) or 64), int(getattr(p, "height", 64) or 64))
    source = (getattr(p, "init_images", None) or [None])[0] or getattr(p, "control_image", None)
    if source is not None:
        return source.convert("RGB").resize(size)
    return Image.new("RGB", size, (128, 128, 128))
