"""A header worker's program: `python -m lora_manager.library.probe_worker`, started by `probe_pool.ProbePool`.

It lowers its own priority before anything else is loaded, then serves `probe_pool.serve`. The process that
started it paces a first index (it writes every row the workers read: at 100k it was still writing 4 s after
they had finished) and may be a host generating images, which a background scan must not slow; the workers'
own start-up (about 70 ms of CPU each) ran beside that process's walk of the library and slowed it
(docs/performance.md, "Header workers after the scanning process").
"""

from __future__ import annotations

import os

NICE = 10  # added to the priority of the process that started the worker (Unix)


def step_back() -> None:
    if hasattr(os, "nice"):
        try:
            os.nice(NICE)
        except OSError:  # not allowed here: the worker runs at the priority it has
            pass


if __name__ == "__main__":
    step_back()
    from lora_manager.library.probe_pool import serve

    serve()
