"""Our own process hands freed memory and idle database caches back (standalone/memtrim.py): after a burst of
growth on its timer, and at once when told that a burst of work ended (the server's start-up work)."""

from __future__ import annotations

import time

import pytest

from lora_manager.standalone import memtrim

from .loras import write_lora
from .test_recommend import _eventually

pytestmark = pytest.mark.skipif(memtrim._libc() is None, reason="glibc's malloc_trim only")


def test_a_nudge_lets_go_at_once_and_the_timer_waits_for_growth():
    released = []
    trimmer = memtrim.Trimmer(interval=0.1, slack=1 << 40, release=lambda: released.append(time.monotonic()))
    trimmer.start()
    try:
        time.sleep(0.5)  # five looks at a resident size that did not grow by a terabyte
        assert released == [] and trimmer.trims == 0
        trimmer.nudge()
        assert _eventually(lambda: trimmer.trims == 1) and len(released) == 1
        time.sleep(0.3)
        assert trimmer.trims == 1  # once per nudge
    finally:
        trimmer.stop()


def test_a_stop_ends_the_thread_at_once_and_a_failing_release_is_survived():
    def broken():
        raise RuntimeError("a cache that would not go")

    trimmer = memtrim.Trimmer(interval=3600, release=broken).start()
    trimmer.nudge()
    assert _eventually(lambda: trimmer.trims == 1)  # the release failed, the heap was trimmed all the same
    trimmer.stop()
    trimmer._thread.join(2)
    assert not trimmer._thread.is_alive()


def test_the_server_lets_go_once_its_start_up_work_is_done(make_app, library):
    from fastapi.testclient import TestClient

    from lora_manager.standalone.server import make_server_app

    for i in range(5):
        write_lora(library / f"l{i}.safetensors", seed=i)
    app = make_app(library, embed_model="off")
    done_at: list[bool] = []
    server = make_server_app(app)
    trimmer = server.state.trimmer
    real_nudge = trimmer.nudge

    def nudge():
        done_at.append(not app.scans.running and not app.hasher.running and not app.scans.training.running)
        real_nudge()

    trimmer.nudge = nudge
    with TestClient(server, base_url="http://127.0.0.1") as client:
        assert client.get("/lora-manager/v1/health").status_code == 200
        assert _eventually(lambda: trimmer.trims >= 1, 60)
        assert done_at == [True]  # told once, after the scan, the hashing and the training tags
        assert app.hasher.pending_totals()[0] == 0  # every file hashed by then
        assert client.get("/lora-manager/v1/loras").json()["total"] == 5  # a closed pool opens again


def test_a_burst_of_requests_is_let_go_once_it_is_over():
    released = []
    trimmer = memtrim.Trimmer(interval=3600, slack=1 << 40, quiet=1.0, release=lambda: released.append(1))
    trimmer.start()
    try:
        end = time.monotonic() + 1.5
        while time.monotonic() < end:  # a burst: a request every 50 ms, never 1 s apart
            trimmer.touch()
            trimmer.touch(begun=False)
            time.sleep(0.05)
        assert trimmer.trims == 0  # not while requests come
        assert _eventually(lambda: trimmer.trims == 1, 5) and released == [1]
        time.sleep(1.0)
        assert trimmer.trims == 1  # once per burst: a quiet server is left alone
        trimmer.touch()  # a long request: begun, running for longer than the quiet
        time.sleep(2.0)
        assert trimmer.trims == 1  # not over while it runs
        trimmer.touch(begun=False)
        assert _eventually(lambda: trimmer.trims == 2, 5)
    finally:
        trimmer.stop()


def test_the_server_drops_stale_pages_and_idle_connections_after_a_burst(make_app, library):
    from fastapi.testclient import TestClient

    from lora_manager.standalone.server import make_server_app

    for i in range(3):
        write_lora(library / f"l{i}.safetensors", seed=i)
    app = make_app(library, embed_model="off")
    server = make_server_app(app)
    trimmer = server.state.trimmer
    trimmer.quiet = 2.5  # longer than the pages are fresh (PAGE_TTL)
    with TestClient(server, base_url="http://127.0.0.1") as client:
        assert _eventually(lambda: trimmer.trims >= 1, 60)  # the start-up work's
        app.scans.wait(30)
        trims, touched = trimmer.trims, trimmer.touched
        for q in ("", "?q=l1", "?limit=2"):
            assert client.get("/lora-manager/v1/loras" + q).status_code == 200
        assert trimmer.touched == touched + 6 and trimmer.open == 0  # every request heard, begun and ended
        cache = next(r.endpoint.cache for r in server.routes if getattr(r, "path", "") == "/lora-manager/v1/loras")
        assert len(cache) >= 1  # the pages read (api/list_route.py)
        assert _eventually(lambda: trimmer.trims == trims + 1, 10)
        assert len(cache) == 0  # older than their 2 s: gone with the trim, not left until asked for again
        assert client.get("/lora-manager/v1/loras").json()["total"] == 3  # a closed pool opens again
