"""Host stand-ins for the shared job queue (jobs/shared.py): a runner that generates in fixed steps and
writes a real PNG, and a host built around it (in this process, or in its own: `python -m tests.shared_hosts`)."""

from __future__ import annotations

import os
import struct
import sys
import threading
import time
import zlib

from lora_manager.app import build
from lora_manager.jobs.shared import SharedJobs
from lora_manager.settings import Settings
from lora_manager.storage.job_images_store import JobImagesStore


REDIS = os.environ.get("LORA_MANAGER_TEST_REDIS", "redis://127.0.0.1:6379/0")


def redis_or_skip(url: str = REDIS):
    """The redis module when Redis answers at `url`; a skip when it does not, unless the URL was named (CI)."""
    import pytest

    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except Exception as exc:
        if os.environ.get("CI") or os.environ.get("LORA_MANAGER_TEST_REDIS"):  # named: it must be there
            raise
        pytest.skip(f"no Redis at {url}: {exc}")
    return redis



def png(seed: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"\x00" + bytes([seed % 256, 40, 90])
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


class StepRunner:
    """What SDNext's runner does, as far as the queue sees: steps with progress, interrupt, an image file."""

    def __init__(self, family: str | None, outputs: str, step_s: float = 0.02):
        self.family, self.outputs, self.step_s = family, outputs, step_s
        self.stop = threading.Event()
        self.ran: list[tuple[str, str]] = []

    def checkpoint_family(self):
        return self.family

    def missing_loras(self, names):
        return []

    def interrupt(self):
        self.stop.set()

    def run(self, job, progress):
        self.stop.clear()
        total = job.request.steps
        for i in range(total):
            if self.stop.wait(self.step_s):
                raise RuntimeError("interrupted")
            progress(i + 1, total)
        os.makedirs(self.outputs, exist_ok=True)
        path = os.path.join(self.outputs, f"{job.id}.png")
        with open(path + ".tmp", "wb") as f:
            f.write(png(len(self.ran)))
        os.replace(path + ".tmp", path)
        self.ran.append((job.id, job.prompt))
        return {"images": [path]}


def make_host(host_id: str, lib: str, data: str, db_url: str, redis_url: str, prefix: str, family: str | None,
              step_s: float = 0.02, lease_s: float = 1.5, beat_s: float = 0.3, scan: bool = True):
    core = build(Settings(lora_dirs=[lib], data_dir=data, db_url=db_url, embed_model="off", watch_interval=0))
    if scan:
        core.scan(wait_hashes=True)
    runner = StepRunner(family, os.path.join(data, "outputs"), step_s)
    shared = SharedJobs(core.jobs, redis_url, host_id, core.catalog, core.events.publish, JobImagesStore(core.db),
                        data, family=lambda: family, prefix=prefix, lease_s=lease_s, beat_s=beat_s,
                        roots=core.settings.lora_dirs)
    shared.runner = runner
    core.jobs = shared
    shared.start()
    return core, shared, runner


if __name__ == "__main__":  # host_id lib data db_url redis_url prefix family step_s
    host_id, lib, data, db_url, redis_url, prefix, family, step_s = sys.argv[1:9]
    core, shared, runner = make_host(host_id, lib, data, db_url, redis_url, prefix, family or None, float(step_s))
    print("ready", flush=True)
    while True:
        time.sleep(1)
