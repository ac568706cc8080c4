"""Can an RQ worker run in a thread of a process whose main thread belongs to someone else (the host)?

    pip install rq redis; python bench/rq_in_a_thread.py [redis://127.0.0.1:6379/0]

(Not a benchmark and not a test: RQ is no dependency of ours; this shows why.)

Queues one job, then runs RQ's SimpleWorker (the non-forking worker) with `burst=True` in a
thread that is not the main thread, as a worker inside SDNext's process would have to. Prints
what happened. docs/shared-jobs.md records the result (RQ 3.0.0: the worker fails at start).
"""

from __future__ import annotations

import sys
import threading
import traceback

import rq
from redis import Redis




def main() -> None:
    url = sys.argv[1] if len(sys.argv) > 1 else "redis://127.0.0.1:6379/0"
    conn = Redis.from_url(url)
    queue = rq.Queue("lora-manager-rq-demo", connection=conn)
    queue.empty()
    queued = queue.enqueue("builtins.len", "ran")  # any importable function
    out: dict = {}

    def run() -> None:
        try:
            out["worked"] = rq.SimpleWorker([queue], connection=conn).work(burst=True)
        except BaseException as exc:  # noqa: BLE001 - what RQ raises is the finding
            out["error"] = "".join(traceback.format_exception_only(type(exc), exc)).strip()

    t = threading.Thread(target=run, name="not-main")
    t.start()
    t.join(60)
    queued.refresh()
    print(f"rq {rq.__version__}: worker in a non-main thread -> {out}; job status {queued.get_status()}")
    queue.empty()


if __name__ == "__main__":
    main()
