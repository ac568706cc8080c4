"""The index follows the disk and never loses user data (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import shutil

import pytest

from lora_manager.storage.catalog_store import LoraQuery

from .conftest import scan
from .loras import file_sha256, tensor_sha256, write_lora


def _summary(report):
    return {k: getattr(report, k) for k in ("total", "new", "unchanged", "changed", "moved", "returned", "missing",
                                            "duplicate", "broken")}


def test_cold_scan_then_unchanged_rescan(app, library):
    for i in range(5):
        write_lora(library / f"sub{i % 2}" / f"lora{i}.safetensors", seed=i)
    first = scan(app)
    assert _summary(first) == dict(total=5, new=5, unchanged=0, changed=0, moved=0, returned=0, missing=0, duplicate=0,
                                   broken=0)
    assert app.hasher.done_files == 5
    second = scan(app)
    assert _summary(second) == dict(total=5, new=0, unchanged=5, changed=0, moved=0, returned=0, missing=0, duplicate=0,
                                    broken=0)
    assert app.hasher.done_files == 5, "an unchanged file is never hashed twice"


def test_unchanged_is_decided_from_stat_alone(app, library):
    path = write_lora(library / "a.safetensors")
    scan(app)
    st = os.stat(path)
    with open(path, "r+b") as f:  # same size, same mtime, garbage inside
        f.write(b"\xff" * 16)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    report = scan(app)
    assert report.unchanged == 1
    assert app.catalog.get("a")["state"] == "ok"


def test_hashes_match_reference_and_host_forms(app, library):
    path = write_lora(library / "h.safetensors")
    scan(app)
    e = app.catalog.get("h")
    assert e["sha256"] == file_sha256(path)
    assert e["tensor_sha256"] == tensor_sha256(path)
    assert e["autov2"] == e["sha256"][:10] and e["autov3"] == e["tensor_sha256"][:12]
    assert e["sdnext_hash"] == e["tensor_sha256"][:8]
    assert e["hash_state"] == "done"
    for key in (e["sha256"], e["autov2"], e["autov3"], e["sdnext_hash"], e["tensor_sha256"], str(e["id"]), "h",
                "h.safetensors"):
        assert app.catalog.get(key)["id"] == e["id"], key


def test_sshs_model_hash_is_checked(app, library):
    good = write_lora(library / "good.safetensors")
    # A trainer writes the tensor hash into the header; compute it and write it back.
    write_lora(library / "good.safetensors", metadata={"sshs_model_hash": tensor_sha256(good)})
    write_lora(library / "liar.safetensors", seed=3, metadata={"sshs_model_hash": "ab" * 32})
    scan(app)
    assert app.catalog.get("good")["header_hash_ok"] is True
    assert app.catalog.get("liar")["header_hash_ok"] is False


def test_header_hash_stands_in_until_hashed(app, library):
    probe = write_lora(library / "s.safetensors")
    write_lora(library / "s.safetensors", metadata={"sshs_model_hash": tensor_sha256(probe)})
    app.scan(hash_after=False)
    e = app.catalog.get("s")
    assert e["hash_state"] == "pending" and e["sha256"] is None
    assert e["tensor_sha256"] == tensor_sha256(probe) and e["tensor_hash_source"] == "header"
    assert app.catalog.get(e["autov3"])["id"] == e["id"]
    scan(app)
    e = app.catalog.get("s")
    assert e["tensor_hash_source"] == "computed" and e["header_hash_ok"] is True


def test_changed_file_keeps_user_data(app, library):
    write_lora(library / "c.safetensors", metadata={"modelspec.trigger_phrase": "old"})
    scan(app)
    app.catalog.edit("c", {"favorite": True, "notes": "mine", "tags": ["keep"], "base_model": "xl"})
    write_lora(library / "c.safetensors", seed=9, metadata={"modelspec.trigger_phrase": "new words"})
    os.utime(library / "c.safetensors", ns=(1, 10**18))
    report = scan(app)
    assert report.changed == 1
    e = app.catalog.get("c")
    assert e["triggers"] == ["new words"]
    assert (e["favorite"], e["notes"], e["tags"], e["base_model"]) == (True, "mine", ["keep"], "xl")
    assert e["base_model_detected"] == "sd1" and e["base_model_source"] == "user"
    assert e["sha256"] == file_sha256(library / "c.safetensors")


def test_moved_and_renamed_file_keeps_id_user_data_and_sidecars(app, library):
    write_lora(library / "old.safetensors", seed=1)
    (library / "old.txt").write_text("a description")
    scan(app)
    lid = app.catalog.edit("old", {"favorite": True, "tags": ["x"]})["id"]
    (library / "deep" / "er").mkdir(parents=True)
    os.rename(library / "old.safetensors", library / "deep" / "er" / "new.safetensors")
    os.rename(library / "old.txt", library / "deep" / "er" / "new.txt")
    report = scan(app)
    assert (report.moved, report.new, report.missing) == (1, 0, 0)
    e = app.catalog.get("new")
    assert e["id"] == lid and e["favorite"] and e["tags"] == ["x"]
    assert e["folder"] == "deep/er" and e["moved_from"].endswith("old.safetensors")
    assert e["description"] == "a description"


def test_missing_file_keeps_user_data_and_returns(app, library):
    path = write_lora(library / "m.safetensors")
    scan(app)
    app.catalog.edit("m", {"rating": 4, "tags": ["gone-but-kept"]})
    hidden = library.parent / "m.safetensors.away"
    shutil.move(path, hidden)
    report = scan(app)
    assert report.missing == 1
    e = app.catalog.get("m")
    assert e["state"] == "missing" and e["rating"] == 4 and e["missing_since"]
    assert app.catalog.list(missing=True).total == 1
    shutil.move(hidden, path)
    report = scan(app)
    assert report.returned == 1
    e = app.catalog.get("m")
    assert e["state"] == "ok" and e["rating"] == 4 and e["tags"] == ["gone-but-kept"]


def test_offline_root_is_flagged_not_lost(make_app, tmp_path):
    drive = tmp_path / "drive"
    write_lora(drive / "d.safetensors")
    local = tmp_path / "local"
    local.mkdir()
    app = make_app(drive, local)
    scan(app)
    app.catalog.edit("d", {"notes": "on the usb drive"})
    os.rename(drive, tmp_path / "unplugged")
    # While the drive is away, a copy elsewhere must not take the entry over.
    shutil.copy2(tmp_path / "unplugged" / "d.safetensors", local / "d.safetensors")
    report = scan(app)
    assert report.unavailable_roots == [str(drive)]
    assert report.missing == 1 and report.moved == 0 and report.new == 1
    os.rename(tmp_path / "unplugged", drive)
    report = scan(app)
    assert report.returned == 1
    page = app.catalog.list(query="d")
    originals = [e for e in page.items if e["root"] == str(drive)]
    assert originals[0]["notes"] == "on the usb drive" and originals[0]["state"] == "ok"


def test_duplicates_by_full_hash(app, library):
    a = write_lora(library / "a.safetensors", seed=1)
    shutil.copy(a, library / "copy_of_a.safetensors")
    write_lora(library / "b.safetensors", seed=2)
    report = scan(app)
    assert report.duplicate == 2
    e = app.catalog.get("a")
    assert [d["path"] for d in e["duplicates"]] == [str(library / "copy_of_a.safetensors")]
    assert {x["name"] for x in app.catalog.list(duplicate=True).items} == {"a", "copy_of_a"}


def test_ambiguous_move_is_resolved_by_hash(app, library):
    a = write_lora(library / "twin1.safetensors", seed=1)
    shutil.copy2(a, library / "twin2.safetensors")
    scan(app)
    app.catalog.edit("twin1", {"notes": "first"})
    (library / "moved").mkdir()
    os.rename(library / "twin1.safetensors", library / "moved" / "renamed1.safetensors")
    os.rename(library / "twin2.safetensors", library / "moved" / "renamed2.safetensors")
    report = scan(app)  # two candidates with the same header: none claimed, the full hash decides
    assert (report.new, report.missing, report.moved) == (2, 2, 0)
    page = app.catalog.list(limit=10)
    assert page.total == 2 and app.catalog.list(missing=True).total == 0
    assert sorted(e["name"] for e in page.items) == ["renamed1", "renamed2"]
    assert [e["notes"] for e in page.items if e["notes"]] == ["first"]


def test_false_move_is_undone_when_the_hash_disagrees(app, library):
    # Same tensor names and shapes, no metadata: identical headers, other data.
    from safetensors.numpy import save_file

    from .loras import tensors

    save_file(tensors(seed=1), str(library / "a.safetensors"))
    scan(app)
    app.catalog.edit("a", {"notes": "the real a"})
    os.remove(library / "a.safetensors")
    save_file(tensors(seed=2), str(library / "b.safetensors"))
    os.utime(library / "b.safetensors", ns=(1, 10**18))
    report = scan(app)
    assert report.moved == 1  # same size and header: taken as a move for now
    e_a = app.catalog.get("a")
    assert e_a["state"] == "missing" and e_a["notes"] == "the real a"
    e_b = app.catalog.get("b")
    assert e_b["id"] != e_a["id"] and e_b["notes"] is None and e_b["sha256"] == file_sha256(library / "b.safetensors")


@pytest.mark.parametrize(
    "name,content,error",
    [
        ("trunc.safetensors", b"\x10\x00\x00\x00\x00\x00\x00\x00{\"a\":", "past the end"),
        ("short.safetensors", b"\x01\x02", "too short"),
        ("empty.safetensors", b"", "empty file"),
        ("absurd.safetensors", (2**60).to_bytes(8, "little") + b"{}" * 10, "absurd"),
        ("badjson.safetensors", (6).to_bytes(8, "little") + b"{nope}", "not valid JSON"),
        ("notjson.safetensors", (4).to_bytes(8, "little") + b"\x00\x01\x02\x03data", "not a JSON object"),
        ("wrongtype.safetensors", (9).to_bytes(8, "little") + b'{"a": 1} ', "not an object"),
        ("pickle.pt", b"PK\x03\x04 not really", "unpickling"),
        ("old.ckpt", b"\x80\x02}q\x00.", "unpickling"),
    ],
)
def test_broken_files_are_recorded_and_the_scan_goes_on(app, library, name, content, error):
    (library / name).write_bytes(content)
    write_lora(library / "fine.safetensors")
    report = scan(app)
    assert report.total == 2 and report.new == 2
    e = app.catalog.get(name)
    assert e["state"] in ("broken", "unsupported") and error in e["error"]
    assert app.catalog.get("fine")["state"] == "ok"
    assert (library / name).read_bytes() == content, "nothing writes over a file it cannot read"


def test_user_base_override_survives_rescans(app, library):
    write_lora(library / "p.safetensors", family="xl", metadata={"ss_base_model_version": "sdxl_base_v1-0"})
    scan(app)
    app.catalog.edit("p", {"base_model": "sd1"})
    write_lora(library / "p.safetensors", family="xl", seed=5, metadata={"ss_base_model_version": "sdxl_base_v1-0"})
    os.utime(library / "p.safetensors", ns=(1, 10**18))
    scan(app)
    e = app.catalog.get("p")
    assert (e["base_model"], e["base_model_detected"]) == ("sd1", "xl")
    assert app.catalog.list(LoraQuery(base="sd1")).total == 1 and app.catalog.list(LoraQuery(base="xl")).total == 0
