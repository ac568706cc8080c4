"""Loaded by SDNext / A1111 from the extension folder: hand over to the SDNext adapter.

Kept thin: the adapter imports nothing heavy, and all work happens after the
host has started (on_app_started, then a background thread). The recorder
below is an always-on script with no UI: it only notes what each generation
asked for and what the host applied.
"""

from modules import scripts

from lora_manager.host.sdnext import SDNextAdapter

adapter = SDNextAdapter()
adapter.install()


class LoraManagerRecorder(scripts.Script):
    def title(self):
        return "LoRA Manager recorder"

    def show(self, is_img2img):
        return scripts.AlwaysVisible

    def ui(self, is_img2img):
        return []

    def before_process(self, p, *args, **kwargs):
        adapter.before_process(p)

    def postprocess(self, p, processed, *args, **kwargs):
        adapter.postprocess(p)
