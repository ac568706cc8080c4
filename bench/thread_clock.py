"""Where a thread's time went over a call: on a CPU, waiting for one (run queue), or asleep (Linux only).

`/proc/self/task/<tid>/schedstat` gives each thread's seconds on a CPU and waiting in the run queue; the rest of
the call it slept: for a hashing thread, that is mostly waiting for the interpreter's lock (its work queue is never
empty in a pass). Read only when a call begins and ends, so that measuring takes nothing from what is measured
(a thread sampling every few milliseconds would take the interpreter's lock itself). Nothing is recorded where
the kernel does not tell (not Linux, no schedstats).
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager


def sched_s(tid: int) -> tuple[float, float] | None:
    """(seconds on a CPU, seconds waiting for one) of thread `tid` of this process so far."""
    try:
        with open(f"/proc/self/task/{tid}/schedstat") as f:
            run, wait = f.read().split()[:2]
        return int(run) / 1e9, int(wait) / 1e9
    except (OSError, ValueError):
        return None


def split(span: float, first: tuple[float, float], last: tuple[float, float]) -> dict[str, float]:
    cpu, runq = last[0] - first[0], last[1] - first[1]
    return {"cpu_s": round(cpu, 3), "runq_s": round(runq, 3), "sleep_s": round(max(0.0, span - cpu - runq), 3)}


@contextmanager
def measured(record):
    """Around a piece of work on this thread: `record(split)` of its time when it ends (nothing where the kernel
    does not tell)."""
    t0, s0 = time.monotonic(), sched_s(threading.get_native_id())
    try:
        yield
    finally:
        s1 = sched_s(threading.get_native_id())
        if s0 and s1:
            record(split(time.monotonic() - t0, s0, s1))


@contextmanager
def clocked(cls, names: tuple[str, ...], into: dict[str, dict[str, float]]):
    """While inside, each call of the methods `names` of `cls` records its thread's split of the call's time in
    `into`, under the thread's name (a later call of the same thread replaces it)."""
    originals = {name: getattr(cls, name) for name in names}

    def wrap(fn):
        def run(*args, **kwargs):
            with measured(lambda got: into.__setitem__(threading.current_thread().name, got)):
                return fn(*args, **kwargs)
        return run

    for name, fn in originals.items():
        setattr(cls, name, wrap(fn))
    try:
        yield into
    finally:
        for name, fn in originals.items():
            setattr(cls, name, fn)
