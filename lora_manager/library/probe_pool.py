"""Read headers in worker processes: plain `python -m` subprocesses (library/probe_worker.py) fed over pipes.

Not multiprocessing: its spawn start method re-imports the parent's
`__main__` in every child, which inside a host means the host's own launch
script; fork is unsafe in a process with threads and a GPU context. A
subprocess running this module imports only the library readers.

Protocol: 4-byte little-endian length, then a pickle. Parent sends a list
of FileEntry; the worker answers with the list of packed ProbeResults. Or it sends
(TRAINING, [(id, path, size, header digest), ...]) and the worker answers with
[(id, (training tags, stored metadata) or None), ...] (sync/training.py's pass). EOF ends it.
"""

from __future__ import annotations

import os
import pickle
import queue
import struct
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Iterable, Iterator

from .records import ProbeResult
from .walker import FileEntry

_LEN = struct.Struct("<I")
AHEAD = 2  # chunks given to a worker at a time: it starts the next while this process takes in the last
DEFER = "--defer-training-tags"  # the worker's argument: training tags left for later
TRAINING = "training-tags"  # a request for training tags alone (see the protocol above)


def _write(stream, obj) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_LEN.pack(len(data)))
    stream.write(data)
    stream.flush()


def _read(stream):
    head = stream.read(4)
    if len(head) < 4:
        return None
    (n,) = _LEN.unpack(head)
    data = stream.read(n)
    if len(data) < n:
        return None
    return pickle.loads(data)


class WorkerDied(RuntimeError):
    pass


_FINISHED = object()


class ProbePool:
    """Run `probe_many` over chunks of entries in `workers` subprocesses (`training_tags` False: the
    workers leave training tags for the background pass, `probe.probe`'s `training`)."""

    def __init__(self, workers: int = 2, *, training_tags: bool = True):
        self.workers = max(1, workers)
        self.training_tags = training_tags
        self._ready: list[subprocess.Popen] = []  # started by `start`, not yet given work

    def start(self) -> ProbePool:
        """Start the workers now: their interpreters load while the caller still walks the
        library (a cold index). `map` uses them; `close` ends them if it never runs."""
        try:
            while len(self._ready) < self.workers:
                self._ready.append(self._spawn())
        except OSError:
            self.close()
            raise
        return self

    def close(self) -> None:
        """End workers that `start` made and `map` did not use (EOF ends a worker)."""
        ready, self._ready = self._ready, []
        for proc in ready:
            _finish(proc)

    def _spawn(self) -> subprocess.Popen:
        pkg_parent = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env = dict(os.environ)
        env["PYTHONPATH"] = pkg_parent + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        return subprocess.Popen(
            [sys.executable, "-m", "lora_manager.library.probe_worker", *([] if self.training_tags else [DEFER])],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=pkg_parent,
        )

    def map(self, chunks: Iterable[list[FileEntry]]) -> Iterator[list[ProbeResult]]:
        """Yield result lists as workers finish them (any order). Raises WorkerDied
        when every worker died before the end; the results already yielded stand
        and the caller reads the rest itself."""
        todo: queue.Queue = queue.Queue()
        count = 0
        for chunk in chunks:
            todo.put(chunk)
            count += 1
        done: queue.Queue = queue.Queue()
        wanted = min(self.workers, count)
        ready, self._ready = self._ready, []
        for proc in ready[wanted:]:
            _finish(proc)
        procs = ready[:wanted] + [self._spawn() for _ in range(wanted - len(ready[:wanted]))]

        # Answers read from the workers and not yet taken in by the caller: one a worker at most. A caller slower
        # than the workers (a pass storing beside the hasher and a first query) holds them back instead of
        # piling up their answers in memory (docs/performance-api.md, "Answers held back").
        unread = threading.Semaphore(len(procs))
        threads = [threading.Thread(target=_feed, args=(p, todo, done, unread), daemon=True) for p in procs]
        for t in threads:
            t.start()
        received = 0
        finished = 0
        failed: WorkerDied | None = None
        try:
            while finished < len(threads):
                item = done.get()
                if item is _FINISHED:
                    finished += 1
                elif isinstance(item, WorkerDied):
                    failed = item
                else:
                    received += 1
                    yield item
                    unread.release()  # taken in: a worker's next answer may be read
        finally:
            unread.release(count + len(procs))  # a caller that stopped early: every feeder reads its worker to the end
            while not todo.empty():  # a consumer that stopped early: no more work
                try:
                    todo.get_nowait()
                except queue.Empty:
                    break
            for p in procs:
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
        if received < count:
            raise WorkerDied(str(failed or "header workers stopped"))


def _feed(proc: subprocess.Popen, todo: queue.Queue, done: queue.Queue, unread: threading.Semaphore) -> None:
    """Keep AHEAD chunks with the worker (one in work, the next waiting in its pipe, so that it never
    waits for this process between chunks), written by a thread of their own while this one reads the
    answers in order, each once `unread` has a place for it (the caller took in an earlier one). A worker
    that dies leaves the chunks it was given to the others or the fallback."""
    given: deque[list[FileEntry]] = deque()  # sent, not answered yet, in order
    room = threading.Semaphore(AHEAD)
    stop = threading.Event()

    def send() -> None:
        try:
            while room.acquire() and not stop.is_set():
                try:
                    chunk = todo.get_nowait()
                except queue.Empty:
                    return
                given.append(chunk)
                _write(proc.stdin, chunk)
        except (OSError, ValueError, pickle.PickleError):
            pass  # a dead worker: the reader below sees its end
        finally:
            try:
                proc.stdin.close()  # EOF: the worker answers what it has, then ends
            except OSError:
                pass

    writer = threading.Thread(target=send, daemon=True)
    writer.start()
    try:
        while True:
            unread.acquire()
            try:
                results = _read(proc.stdout)
            except (OSError, pickle.PickleError, EOFError):
                results = None
            if results is None:
                unread.release()  # no answer took the place
                break
            given.popleft()
            done.put(results)
            room.release()
    finally:
        stop.set()
        room.release()
        if given:  # given up on with chunks unanswered: ended, so that a write blocked on its pipe returns
            proc.kill()
        writer.join()
        if given:
            done.put(WorkerDied(f"header worker exited ({proc.poll()})"))
            for chunk in given:
                todo.put(chunk)  # somebody else, or the fallback, reads it
        done.put(_FINISHED)  # exactly one per thread, last


def _finish(proc: subprocess.Popen) -> None:
    try:
        proc.stdin.close()
    except OSError:
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def serve() -> None:
    """A worker's loop (library/probe_worker.py runs it): requests from stdin, answers to stdout, until EOF."""
    import gc

    from .probe import probe_many
    from .training_tags import read_left_out_many

    # This worker process is ours alone: parsing headers allocates many short-lived containers and
    # holds no cycles, so the collector's passes cost more than the parse (docs/performance.md).
    # The host's process is never switched: in-process probing keeps the collector on.
    gc.disable()

    training = DEFER not in sys.argv[1:]
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print must not corrupt the protocol
    while True:
        entries = _read(stdin)
        if entries is None:
            return
        if isinstance(entries, tuple) and entries[0] == TRAINING:
            _write(stdout, read_left_out_many(entries[1]))
            continue
        _write(stdout, [result.pack() for result in probe_many(entries, training=training)])
