"""Several hosts, one library on PostgreSQL (docs/several-hosts.md): each host sees the shared files
through its own mount path, records where it sees each LoRA, marks missing only its own, scans a shared
root one host at a time, and hears the others' changes through LISTEN/NOTIFY.

Host stand-ins are cores with their own host id, data dir and roots: in this process where that is
enough (each has its own engine), in processes of their own (tests/hosts_worker.py) for locks and
notices."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time

import pytest
from sqlalchemy import func, select

from lora_manager.app import build
from lora_manager.settings import Settings
from lora_manager.storage.base import L
from lora_manager.storage.host_models import FileLocation

from .conftest import pg_schema
from .loras import write_lora

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FL = FileLocation.__table__


@pytest.fixture
def pg_url():
    with pg_schema() as url:
        yield url


def _host(tmp_path, url, name, *roots, **kw):
    return build(Settings(lora_dirs=[str(r) for r in roots], data_dir=str(tmp_path / f"data-{name}"), db_url=url,
                          host_id=name, scan_workers=1, embed_model="off", **kw))


def _mount(tmp_path, share, name):
    """The share reached through a path of this host's own (a symlink, as a mount point would be)."""
    path = tmp_path / f"mnt-{name}"
    path.symlink_to(share, target_is_directory=True)
    return path


def _rows(app):
    with app.db.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(L)).scalar()


def _worker(*args, env_extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LORA_MANAGER_")}
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.Popen([sys.executable, "-m", "tests.hosts_worker", *map(str, args)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_hosts_share_one_library_through_their_own_paths(tmp_path, pg_url):
    share = tmp_path / "share"
    for i in range(3):  # headers of their own (one size and header for two files: the test below)
        write_lora(share / f"s{i}.safetensors", seed=i, metadata={"ss_output_name": f"s{i}"})
    (share / "broken.safetensors").write_bytes(b"not a safetensors file")  # no header: known by size and name
    only_a = tmp_path / "only-a"
    write_lora(only_a / "mine.safetensors", seed=10)
    copy_b = tmp_path / "local-b"  # B's own copy of a file on the share (another mtime)
    copy_b.mkdir()
    shutil.copyfile(share / "s0.safetensors", copy_b / "s0-copy.safetensors")
    a = _host(tmp_path, pg_url, "host-a", _mount(tmp_path, share, "a"), only_a)
    b = _host(tmp_path, pg_url, "host-b", _mount(tmp_path, share, "b"), copy_b)
    try:
        ra = a.scan(wait_hashes=True)
        rb = b.scan(wait_hashes=True)
        assert (ra.new, rb.new, rb.unchanged, rb.moved, rb.missing) == (5, 1, 4, 0, 0)
        assert _rows(a) == 6  # 3 shared and a broken one, A's own, B's copy (a duplicate of s0 on B, as on one host)
        for _ in range(2):  # rescans in turn: nothing moves, nothing goes missing, no path swaps
            for app in (a, b):
                report = app.scan(wait_hashes=True)
                assert (report.new, report.moved, report.missing, report.changed) == (0, 0, 0, 0), app.settings.host_id
        ea, eb = a.catalog.get("s1"), b.catalog.get("s1")
        assert ea["id"] == eb["id"]  # one LoRA ...
        assert ea["path"] == str(tmp_path / "mnt-a" / "s1.safetensors")  # ... shown where each host sees it
        assert eb["path"] == str(tmp_path / "mnt-b" / "s1.safetensors")
        assert a.catalog.get("mine")["state"] == "ok"  # only A has it: not missing after B's scans
        # user data is shared
        a.catalog.edit("s1", {"notes": "from A", "favorite": True})
        assert (b.catalog.get("s1")["notes"], b.catalog.get("s1")["favorite"]) == ("from A", True)
        # missing is per host: B loses its copy, A still has the original
        os.remove(copy_b / "s0-copy.safetensors")
        assert b.scan(wait_hashes=True).missing == 1
        assert b.catalog.get("s0-copy")["state"] == "missing"
        assert a.catalog.get("s0")["state"] == "ok" and b.catalog.get("s0")["state"] == "ok"
        # a file gone from the share is missing for both, and its row says so
        os.remove(share / "s2.safetensors")
        a.scan(wait_hashes=True)
        assert a.catalog.get("s2")["state"] == "missing" and b.catalog.get("s2")["state"] == "ok"
        # the list's filters say the same as the entries: missing here, present there
        def names(app, **q):
            return {e["name"] for e in app.catalog.list(fields="name", limit=100, **q).items}
        assert "s2" in names(a, missing=True) and "s2" not in names(b, missing=True)
        assert "s2" in names(b, missing=False) and "s2" not in names(a, missing=False)
        assert "s2" in names(a, state="missing") and "s2" in names(b, state="ok")
        b.scan(wait_hashes=True)
        assert b.catalog.get("s2")["state"] == "missing"
        with a.db.engine.connect() as conn:
            assert conn.execute(select(L.c.state).where(L.c.file_name == "s2.safetensors")).scalar() == "missing"
        # a rename on the share: each host sees the move of its own location, the row keeps its id and notes
        os.rename(share / "s1.safetensors", share / "renamed.safetensors")
        assert a.scan(wait_hashes=True).moved == 1 and b.scan(wait_hashes=True).moved == 1
        assert b.catalog.get(ea["id"])["path"] == str(tmp_path / "mnt-b" / "renamed.safetensors")
        assert a.catalog.get(ea["id"])["notes"] == "from A"
    finally:
        a.close()
        b.close()


def test_a_move_only_the_hash_can_tell_keeps_the_lora_on_the_other_host(tmp_path, pg_url):
    """Same size and header, other data (the header alone cannot tell them): B's rename on the share is
    ambiguous for its scan, and its full hash makes the new file the LoRA A still has, moved here."""
    from safetensors.numpy import save_file

    from .loras import tensors

    share, local_b = tmp_path / "share", tmp_path / "local-b"
    share.mkdir()
    local_b.mkdir()
    save_file(tensors(seed=1), str(share / "p.safetensors"))
    save_file(tensors(seed=2), str(local_b / "q.safetensors"))  # the same header as p
    a = _host(tmp_path, pg_url, "host-a", _mount(tmp_path, share, "a"))
    b = _host(tmp_path, pg_url, "host-b", _mount(tmp_path, share, "b"), local_b)
    try:
        a.scan(wait_hashes=True)
        b.scan(wait_hashes=True)
        pid = a.catalog.get("p")["id"]
        a.catalog.edit("p", {"notes": "keep me"})
        os.remove(local_b / "q.safetensors")
        b.scan(wait_hashes=True)
        rows = _rows(a)
        os.rename(share / "p.safetensors", share / "r.safetensors")
        b.scan(wait_hashes=True)  # p gone and q missing: two candidates, so "new" until hashed
        entry = b.catalog.get(pid)
        assert (entry["path"], entry["state"], entry["notes"]) == (str(tmp_path / "mnt-b" / "r.safetensors"), "ok",
                                                                  "keep me")
        assert _rows(a) == rows and b.catalog.get("q")["state"] == "missing"
        assert a.catalog.get(pid)["path"] == str(tmp_path / "mnt-a" / "p.safetensors")  # A has not looked yet
        assert a.scan(wait_hashes=True).moved == 1 and a.catalog.get(pid)["path"].endswith("mnt-a/r.safetensors")
    finally:
        a.close()
        b.close()


def test_the_single_host_view_is_unchanged_with_locations(tmp_path, pg_url):
    """One host on PostgreSQL: every row has this host's location and shows the row's own path."""
    lib = tmp_path / "lib"
    for i in range(3):
        write_lora(lib / f"x{i}.safetensors", seed=i)
    a = _host(tmp_path, pg_url, "solo", lib)
    try:
        a.scan(wait_hashes=True)
        with a.db.engine.connect() as conn:
            rows = conn.execute(select(L.c.id, L.c.path, FL.c.path, FL.c.host_id).select_from(
                L.join(FL, FL.c.lora_id == L.c.id))).all()
        assert len(rows) == 3 and all(r[1] == r[2] and r[3] == "solo" for r in rows)
    finally:
        a.close()


def test_two_hosts_scanning_one_share_at_once_make_one_row_per_file(tmp_path, pg_url):
    share = tmp_path / "share"
    files = 60
    for i in range(files):
        write_lora(share / f"f{i:03d}.safetensors", seed=i)
    mounts = [_mount(tmp_path, share, n) for n in ("a", "b", "c")]
    procs = [_worker("scan", pg_url, tmp_path / f"d{n}", f"host-{n}", m) for n, m in zip("abc", mounts, strict=True)]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err[-3000:]
    reports = [json.loads(out) for out, _ in outs]
    assert sum(r["new"] for r in reports) == files  # each file new to the library once ...
    assert sum(r["unchanged"] for r in reports) == 2 * files  # ... and known to it for the other two hosts
    a = _host(tmp_path, pg_url, "check", tmp_path / "nothing")
    try:
        with a.db.engine.connect() as conn:
            assert _rows(a) == files  # ... and the library has each file once
            per_lora = conn.execute(select(FL.c.lora_id, func.count()).group_by(FL.c.lora_id)).all()
        assert len(per_lora) == files and {n for _, n in per_lora} == {3}
    finally:
        a.close()


def test_a_root_another_host_is_scanning_waits_or_is_skipped(tmp_path, pg_url):
    share = tmp_path / "share"
    for i in range(3):
        write_lora(share / f"w{i}.safetensors", seed=i)
    release = tmp_path / "release"
    # B's first look gives the shared root its key (by its listing); A's mount finds the same key
    holder = _worker("hold", pg_url, tmp_path / "db", "host-b", _mount(tmp_path, share, "b"), release)
    try:
        assert holder.stdout.readline().strip() == "held"
        a = _host(tmp_path, pg_url, "host-a", _mount(tmp_path, share, "a"), scan_wait=0.3)
        try:
            report = a.scan(hash_after=False)
            assert report.skipped_roots == [str(tmp_path / "mnt-a")] and report.new == 0 and _rows(a) == 0
            a.scanner.guard.wait = 60
            done: list = []
            waiting = threading.Thread(target=lambda: done.append(a.scan(hash_after=False)))
            waiting.start()
            time.sleep(0.5)
            assert not done  # still waiting for B
            release.touch()
            waiting.join(60)
            assert done and done[0].skipped_roots == [] and done[0].new == 3
        finally:
            a.close()
    finally:
        release.touch()
        holder.communicate(timeout=60)


def test_a_change_on_one_host_reaches_the_other_hosts_event_stream(tmp_path, pg_url):
    lib = tmp_path / "lib"
    write_lora(lib / "n0.safetensors", seed=1)
    a = _host(tmp_path, pg_url, "host-a", lib)
    try:
        a.scan(wait_hashes=True)
        lid = a.catalog.get("n0")["id"]
        listener = _worker("listen", pg_url, tmp_path / "db", "host-b", tmp_path / "elsewhere")
        try:
            assert listener.stdout.readline().strip() == "listening"
            a.catalog.edit("n0", {"notes": "seen from b"})
            out, err = listener.communicate(timeout=60)
            assert listener.returncode == 0, err[-3000:]
        finally:
            if listener.poll() is None:
                listener.kill()
        event = json.loads(out)
        assert event["host"] == "host-a" and event["ids"] == [lid] and event["files"] is False
    finally:
        a.close()


def test_hosts_lists_every_host_with_its_state(tmp_path, pg_url):
    a = _host(tmp_path, pg_url, "host-a", tmp_path)
    b = _host(tmp_path, pg_url, "host-b", tmp_path / "b")
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            seen = {h["host_id"]: h for h in a.hosts.list()}
            if "host-b" in seen:
                break
            time.sleep(0.1)
        assert set(seen) == {"host-a", "host-b"}
        assert seen["host-a"]["this"] and not seen["host-b"]["this"] and seen["host-b"]["alive"]
        assert seen["host-b"]["roots"] == [str(tmp_path / "b")] and seen["host-b"]["busy"] is False
        assert seen["host-b"]["queue_depth"] == 0 and seen["host-b"]["kind"] == "standalone"
    finally:
        a.close()
        b.close()


def test_a_host_id_is_kept_across_starts(tmp_path):
    from lora_manager.hosts.identity import host_id

    s = Settings(data_dir=str(tmp_path / "d"))
    os.makedirs(s.data_dir)
    first = host_id(s)
    assert host_id(s) == first and first.endswith(open(os.path.join(s.data_dir, "host-id")).read().strip())
    assert host_id(Settings(data_dir=str(tmp_path / "d"), host_id="gpu-box-2")) == "gpu-box-2"
    with pytest.raises(ValueError, match="LORA_MANAGER_HOST_ID"):
        Settings(data_dir=str(tmp_path / "d"), host_id="bad\nid")
    with pytest.raises(ValueError, match="LORA_MANAGER_SHARED_LIBRARY"):
        Settings(data_dir=str(tmp_path / "d"), shared_library="sometimes")


def test_another_hosts_edit_drops_this_hosts_cached_pages_and_moves_its_status(tmp_path, pg_url):
    from lora_manager.api.handlers.system import system_info
    from lora_manager.storage.catalog_store import LoraQuery

    lib = tmp_path / "lib"
    write_lora(lib / "c0.safetensors", seed=3)
    a = _host(tmp_path, pg_url, "host-a", lib)
    b = _host(tmp_path, pg_url, "host-b", tmp_path / "b")
    try:
        a.scan(wait_hashes=True)
        for app in (a, b):
            assert app.hosts.notices.ready.wait(30)
        query = LoraQuery(fields="id,notes")
        assert [i.get("notes") for i in b.catalog.list(query).items] == [None]  # a page B now keeps
        before = system_info(b)["background"]["library_changes"]
        version = b.db.write_version  # what B's cached pages and autocomplete index are kept by
        a.catalog.edit("c0", {"notes": "new on A"})
        deadline = time.monotonic() + 30
        while b.hosts.changes == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert system_info(b)["background"]["library_changes"] == before + 1
        assert b.db.write_version > version
        assert [i.get("notes") for i in b.catalog.list(query).items] == ["new on A"]
        assert a.hosts.changes == 0  # its own notice is not heard back
    finally:
        a.close()
        b.close()


def test_a_fill_on_one_host_reaches_the_others_as_a_fill(tmp_path, pg_url):
    """A background pass's fills are said as fills on the other hosts too (no write-back there either), and a
    person's edit as an edit."""
    a = _host(tmp_path, pg_url, "host-a", tmp_path / "a")
    b = _host(tmp_path, pg_url, "host-b", tmp_path / "b")
    try:
        for app in (a, b):
            assert app.hosts.notices.ready.wait(30)
        heard: list = []
        b.events.on_library_changed(heard.append, inline=True)
        for n, (ids, filled) in enumerate((([7, 8], True), ([9], False)), 1):
            a.events.library_changed(ids, filled=filled)
            deadline = time.monotonic() + 30
            while len(heard) < n and time.monotonic() < deadline:
                time.sleep(0.05)
        assert [(c.ids, c.filled) for c in heard] == [((7, 8), True), ((9,), False)]
    finally:
        a.close()
        b.close()


def test_the_hosts_bench_runs_small(pg_url):
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    try:
        import bench_hosts
    finally:
        sys.path.remove(os.path.join(ROOT, "bench"))
    out = bench_hosts.main(["--files", "30", "--edits", "3"])
    assert out["second_host_rows_added"] == 0 and out["propagation_ms"]["max"] >= out["propagation_ms"]["median"] > 0


def test_usage_recipes_and_a_move_on_one_host_are_the_others_too(tmp_path, pg_url):
    """What one host records (a generation, a recipe) the other reads; a move made by one host's file
    operation follows to the other's path for the same file once it rescans, user data with it."""
    from datetime import datetime, timezone

    from lora_manager.usage.recorder import GenerationEvent

    share = tmp_path / "share"
    write_lora(share / "p.safetensors", seed=1)
    a = _host(tmp_path, pg_url, "host-a", _mount(tmp_path, share, "a"))
    b = _host(tmp_path, pg_url, "host-b", _mount(tmp_path, share, "b"))
    try:
        a.scan(wait_hashes=True)
        b.scan(wait_hashes=True)
        now = datetime.now(timezone.utc)
        a.recorder.record(GenerationEvent.from_prompt("<lora:p:0.8> a fox", started_at=now, finished_at=now,
                                                     applied=[{"name": "p", "te": 0.8, "unet": 0.8}]))
        assert a.recorder.flush(10)
        assert [(m["prompt_name"], m["uses"]) for m in b.analytics.summary()["most_used"]] == [("p", 1)]
        made = a.recipes.create({"title": "fox", "prompt": "a fox", "loras": [{"name": "p", "weight": 0.8}]})
        assert [r["title"] for r in b.recipes.list()["items"]] == ["fox"]
        assert b.recipes.get(made["id"])["prompt"] == "a fox"
        a.catalog.edit("p", {"notes": "mine"})
        a.files.move("p", "sorted", "q")  # on the share, through A's mount
        assert b.scan(wait_hashes=True).moved == 1
        entry = b.catalog.get("q")
        assert entry["path"] == str(tmp_path / "mnt-b" / "sorted" / "q.safetensors") and entry["notes"] == "mine"
        assert a.catalog.get("q")["path"] == str(tmp_path / "mnt-a" / "sorted" / "q.safetensors")
        assert _rows(a) == 1
    finally:
        a.close()
        b.close()
