"""A file operation while a scan runs never detaches user data (SQLite and PostgreSQL).

The scan writes what it read a while ago; the rows and files it writes are
re-checked at write time (path, size, mtime). Each race is made to happen
at a fixed point of the scan. See docs/data-safety.md.
"""

from __future__ import annotations

import os

from .conftest import scan
from .loras import write_lora


def _entry(app, library):
    path = write_lora(library / "alice.safetensors", metadata={"ss_output_name": "alice"})
    write_lora(library / "bob.safetensors", seed=2)
    scan(app)
    lid = app.catalog.get("alice")["id"]
    app.catalog.edit(lid, {"favorite": True, "notes": "mine", "tags": ["keep"]})
    return lid, path


def _intact(app, library, lid):
    """The entry is where the file is, present, with its user data, and a fresh scan agrees."""
    e = app.catalog.get(lid)
    assert (e["path"], e["state"]) == (str(library / "sub" / "alice.safetensors"), "ok")
    assert (e["favorite"], e["notes"], e["tags"]) == (True, "mine", ["keep"])
    again = scan(app)
    assert (again.total, again.new, again.missing, again.moved) == (2, 0, 0, 0)
    assert app.catalog.get(lid)["path"] == e["path"] and app.catalog.get(lid)["state"] == "ok"


def test_move_while_a_changed_file_is_being_read(make_app, library):
    app = make_app(library)
    lid, path = _entry(app, library)
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # changed: the scan reads it again
    probe = app.scanner._probe

    def probe_then_move(entries, progress, *more):
        for rows in probe(entries, progress, *more):
            app.files.move(lid, folder="sub")  # the user moves it while the scan holds its old facts
            yield rows

    app.scanner._probe = probe_then_move
    report = app.scan(hash_after=False)
    app.scanner._probe = probe
    assert report.changed == 0  # not written: left for the next scan
    _intact(app, library, lid)


def test_move_between_walk_and_index(make_app, library):
    app = make_app(library)
    lid, _ = _entry(app, library)
    file_index = app.scanner.scan_store.file_index

    def move_then_index():
        app.files.move(lid, folder="sub")  # the walk saw the old place; the index has the new one
        return file_index()

    app.scanner.scan_store.file_index = move_then_index
    report = app.scan(hash_after=False)
    del app.scanner.scan_store.file_index
    assert (report.moved, report.missing, report.new) == (0, 0, 0)
    _intact(app, library, lid)
