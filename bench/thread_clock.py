"""Where a thread's time went over a pass: on a CPU, waiting for one (run queue), or asleep (Linux only).

`/proc/self/task/<tid>/schedstat` gives each thread's seconds on a CPU and waiting in the run queue; the rest of
the pass it slept: for a hashing thread, that is mostly waiting for the interpreter's lock (its work queue is never
empty in a pass). Both are None where the kernel does not give them (not Linux, no schedstats).
"""

from __future__ import annotations

import threading
import time


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


class PassClock:
    """Samples the threads whose names start with `prefix` every `every` seconds, from `start()` to `stop(until)`
    (a monotonic time: samples after it are left out). `figures()`: {name: split} over what was seen of each."""

    def __init__(self, prefix: str, every: float = 0.005):
        self.prefix, self.every = prefix, every
        self.seen: dict[int, list] = {}  # tid: [name, (at, sched) first, (at, sched) last]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-pass-clock", daemon=True)

    def start(self) -> PassClock:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            for th in threading.enumerate():
                if th.name.startswith(self.prefix) and th.native_id and (s := sched_s(th.native_id)):
                    entry = self.seen.setdefault(th.native_id, [th.name, (now, s), (now, s)])
                    if now <= self._until:
                        entry[2] = (now, s)
            self._stop.wait(self.every)

    _until = float("inf")

    def stop(self, until: float) -> None:
        self._until = until
        self._stop.set()
        self._thread.join()

    def figures(self) -> dict[str, dict[str, float]]:
        return {name: split(last[0] - first[0], first[1], last[1]) for name, first, last in self.seen.values()}
