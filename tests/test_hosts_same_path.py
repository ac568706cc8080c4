"""Two hosts see a file at one path string that is a different file on each (docs/several-hosts.md,
`path#host-id`), on a real PostgreSQL. One machine stands in for two: before each host's scan the test puts
that host's own file (its bytes and mtime) at the path. Host A's root is `home/loras`, host B's is `home`
(B's LoRA folder is the parent), so B does not take A's row for its own file: its file becomes a row of its
own, whose `loras.path` (unique) is `path#host-b`, while both hosts' locations hold the real path."""

from __future__ import annotations

import hashlib
import os
import shutil

from sqlalchemy import select

from lora_manager.storage.base import LH, H, L

from .loras import write_lora
from .test_hosts import FL, _host, pg_url  # noqa: F401  (pytest injects the fixture)

NS = 1_700_000_000_000_000_000


def _sha(path) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def test_one_path_two_different_files_make_two_loras_each_shown_at_its_real_path(tmp_path, pg_url):  # noqa: F811
    home = tmp_path / "home"
    lib = home / "loras"
    lib.mkdir(parents=True)
    path = lib / "a.safetensors"
    own = {"host-a": write_lora(tmp_path / "src" / "a.safetensors", seed=1),
           "host-b": write_lora(tmp_path / "src" / "b.safetensors", seed=2, rank=8)}  # another size and header

    def be(host_id):
        """The file at `path` as this host has it."""
        shutil.copyfile(own[host_id], path)
        when = NS + (1 if host_id == "host-a" else 2) * 10**9
        os.utime(path, ns=(when, when))

    a = _host(tmp_path, pg_url, "host-a", lib)
    b = _host(tmp_path, pg_url, "host-b", home)
    try:
        be("host-a")
        assert a.scan(wait_hashes=True).new == 1
        be("host-b")
        report = b.scan(wait_hashes=True)
        assert (report.new, report.changed, report.moved, report.unchanged) == (1, 0, 0, 0)  # not A's file changed
        with a.db.engine.connect() as conn:
            rows = {r.path: r for r in conn.execute(select(L.c.id, L.c.path, H.c.sha256, L.c.size).select_from(LH))}
            locations = sorted(conn.execute(select(FL.c.host_id, FL.c.lora_id, FL.c.path)).all())
        assert set(rows) == {str(path), f"{path}#host-b"}  # the column is unique: B's row is marked
        id_a, id_b = rows[str(path)].id, rows[f"{path}#host-b"].id
        assert rows[str(path)].sha256 == _sha(own["host-a"]) and rows[f"{path}#host-b"].sha256 == _sha(own["host-b"])
        assert locations == [("host-a", id_a, str(path)), ("host-b", id_b, str(path))]  # each at the real path
        # each host shows its own LoRA at the real path, with its own file's facts
        for app, lid in ((a, id_a), (b, id_b)):
            entry = app.catalog.get(lid)
            host_id = app.settings.host_id
            assert (entry["path"], entry["sha256"]) == (str(path), _sha(own[host_id])), host_id
            assert entry["size"] == os.path.getsize(own[host_id]) and entry["state"] == "ok"
        # on A, B's LoRA (no location of A's) shows the row's path, marked as B's
        assert a.catalog.get(id_b)["path"] == f"{path}#host-b"
        # rescans in turn: nothing changes hands
        for _ in range(2):
            for app in (a, b):
                be(app.settings.host_id)
                r = app.scan(wait_hashes=True)
                assert (r.new, r.changed, r.moved, r.missing, r.unchanged) == (0, 0, 0, 0, 1), app.settings.host_id
        # user data stays with each LoRA
        b.catalog.edit(id_b, {"notes": "B's own"})
        assert a.catalog.get(id_a)["notes"] in (None, "") and a.catalog.get(id_b)["notes"] == "B's own"
        # missing per host: B's file gone, A's LoRA untouched; back again, the same row
        os.remove(path)
        assert b.scan(wait_hashes=True).missing == 1
        assert b.catalog.get(id_b)["state"] == "missing" and a.catalog.get(id_a)["state"] == "ok"
        be("host-b")
        b.scan(wait_hashes=True)
        assert b.catalog.get(id_b)["state"] == "ok" and b.catalog.get(id_b)["notes"] == "B's own"
        with a.db.engine.connect() as conn:
            assert conn.execute(select(L.c.id).order_by(L.c.id)).scalars().all() == sorted([id_a, id_b])
    finally:
        a.close()
        b.close()
