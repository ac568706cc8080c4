"""A guest in the host's process: no process-wide switch is flipped there.

The garbage collector belongs to the host's process: scanning, probing and hashing
in-process leave it alone (only our own header-reader subprocesses pause it).
"""

from __future__ import annotations

import gc

from lora_manager.app import build
from lora_manager.settings import Settings

from .loras import write_lora


def test_scanning_in_process_never_switches_the_collector(tmp_path, monkeypatch):
    for i in range(40):
        write_lora(tmp_path / "lib" / f"l{i}.safetensors", seed=i)
    switched = []
    monkeypatch.setattr(gc, "disable", lambda: switched.append("disable"))
    monkeypatch.setattr(gc, "freeze", lambda: switched.append("freeze"))
    monkeypatch.setattr(gc, "set_threshold", lambda *a: switched.append("set_threshold"))
    core = build(Settings(lora_dirs=[str(tmp_path / "lib")], data_dir=str(tmp_path / "data"), scan_workers=1,
                          embed_model="off"))
    try:
        report = core.scan(wait_hashes=True)
        assert report.new == 40
    finally:
        core.close()
    assert switched == [] and gc.isenabled()
