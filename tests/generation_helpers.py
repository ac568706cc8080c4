"""Shared by the generation tests: a stand-in SDNext with a few LoRAs, waiting for jobs, real images as bytes."""

from __future__ import annotations

import io
import struct
import threading
import time
import zlib

from .loras import write_lora
from .standin import Host

P = "/lora-manager/v1"
SMALL = {"width": 64, "height": 64, "steps": 3}


def start_host(tmp_path, monkeypatch, control: bool = True, argv: tuple[str, ...] = ()) -> tuple[Host, object]:
    monkeypatch.setenv("LORA_MANAGER_EMBED_MODEL", "off")
    h = Host(tmp_path, monkeypatch, control=control)
    write_lora(h.lora_dir / "hosted.safetensors", metadata={"modelspec.trigger_phrase": "hostword"})
    write_lora(h.lora_dir / "second.safetensors", seed=3)
    write_lora(h.lora_dir / "bigone.safetensors", family="xl", seed=2,
               metadata={"ss_base_model_version": "sdxl_base_v1-0"})
    h.load_extension(*argv)  # the host's command line (e.g. --lora-manager-api-key)
    h.start()
    core = h.adapter.ready(30)
    core.scans.wait(60)
    core.hasher.wait(60)
    for thread in threading.enumerate():  # the host's list refresh after our first scan (partial while it runs)
        if thread.name == "lora-manager-changed":
            thread.join(10)
    h.list_available_networks()
    return h, core


def wait_job(core, job_id: str, timeout: float = 30):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        job = core.jobs.get(job_id)
        if job.status in ("done", "failed", "cancelled"):
            return job
        time.sleep(0.02)
    raise AssertionError(f"job stayed {core.jobs.get(job_id).status}")


def wait_for(predicate, timeout: float = 30):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out")


def png(color=(255, 0, 0), size=(48, 48), fmt="PNG") -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format=fmt)
    return buf.getvalue()


def bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A small PNG whose header claims huge dimensions (a decompression bomb's shape)."""
    data = png(size=(1, 1))
    ihdr = struct.pack(">II", width, height) + data[24:29]
    chunk = b"IHDR" + ihdr
    return data[:8] + struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk)) + data[33:]


def pixel(path_or_bytes, xy=(5, 5)):
    from PIL import Image

    src = io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, bytes) else path_or_bytes
    with Image.open(src) as im:
        return im.convert("RGB").getpixel(xy), im.size
