"""The stand-in host's Networks page for LoRAs (`modules.shared.extra_networks`), written from docs/host.md:
it lists its cards once and keeps them, with each card's preview, until its `refresh_time` is reset and
`create_items` runs again (what the host's own refresh does)."""

from __future__ import annotations

import os
import time

MISSING = "ui/assets/missing.png"
PREVIEW_EXTS = (".png", ".jpg", ".jpeg", ".webp")


class LoraPage:
    def __init__(self, lora_dir) -> None:
        self.name = "lora"
        self.lora_dir = str(lora_dir)
        self.items: list[dict] = []
        self.refresh_time = 0.0
        self.page_time = 0.0
        self.listed = 0

    def create_items(self, tabname: str) -> None:
        if self.refresh_time:  # cached: the host lists again only after a refresh reset the time
            return
        self.items = list(self.list_items())
        self.refresh_time = time.time()
        self.listed += 1

    def list_items(self):
        for dirpath, _dirs, files in os.walk(self.lora_dir):
            for name in sorted(files):
                base, ext = os.path.splitext(name)
                if ext.lower() != ".safetensors":
                    continue
                found = [os.path.join(dirpath, base + mid + e) for mid in (".preview", "") for e in PREVIEW_EXTS]
                preview = next((p for p in found if os.path.isfile(p)), MISSING)
                yield {"name": base, "filename": os.path.join(dirpath, name), "preview": preview}
