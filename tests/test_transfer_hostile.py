"""Hostile archives are refused with one clear message, and nothing changes: no user data, no usage, no
backup taken, no file placed."""

from __future__ import annotations

import io
import os
import stat
import zipfile

import orjson
import pytest

from lora_manager.transfer import archive
from lora_manager.transfer.archive import BadArchive

from .transfer_helpers import fill, open_app, user_state, write_library


@pytest.fixture(scope="module")
def core(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    root = tmp / "lib"
    write_library(root)
    app = open_app(root, tmp / "data", f"sqlite:///{tmp}/library.db")
    fill(app)
    good = tmp / "good.zip"
    app.transfer.export(str(good), ["userdata", "collections", "usage"], include_previews=True)
    app.good = good
    yield app
    app.close()


def members(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def write(path, items: dict[str, bytes], *, symlink: str | None = None, level=zipfile.ZIP_DEFLATED) -> str:
    with zipfile.ZipFile(path, "w", level) as zf:
        for name, data in items.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = level
            if name == symlink:
                info.create_system = 3
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, data)
    return str(path)


def refused(core, path, *words):
    before = user_state(core)
    backups = sorted(os.listdir(core.transfer.backups.folder)) if os.path.isdir(core.transfer.backups.folder) else []
    with pytest.raises(BadArchive) as caught:
        core.transfer.import_archive(str(path))
    message = caught.value.message
    for word in words:
        assert word in message, message
    assert user_state(core) == before
    after = sorted(os.listdir(core.transfer.backups.folder)) if os.path.isdir(core.transfer.backups.folder) else []
    assert after == backups, "no backup is taken for an archive that is refused"
    return message


def doc(part: str, **body) -> bytes:
    return orjson.dumps({"format": f"lora-manager-export/{part}", "version": 1, **body})


@pytest.mark.parametrize("name,why", [
    ("../escape.json", ".."), ("/etc/passwd", "absolute"), ("C:/x.json", "absolute"),
    ("previews/0/..\\..\\x.png", "backslash"),
    ("userdata/../../x.json", ".."), ("notes.txt", "not a member"), ("previews/0/.preview.exe", "not a member"),
])
def test_bad_member_names(core, tmp_path, name, why):
    items = {**members(core.good), name: b"{}"}
    refused(core, write(tmp_path / "a.zip", items), why)


def test_symlink_member(core, tmp_path):
    items = {**members(core.good), "previews/0/.thumb.jpg": b"/etc/shadow"}
    refused(core, write(tmp_path / "a.zip", items, symlink="previews/0/.thumb.jpg"), "symbolic link")


def test_member_and_total_size_limits(core, tmp_path, monkeypatch):
    big = {**members(core.good), "settings.json": doc("settings", settings={"x": "y" * 5000})}
    monkeypatch.setattr(archive, "MAX_DOC_BYTES", 4096)
    refused(core, write(tmp_path / "a.zip", big), "over the limit")
    monkeypatch.undo()
    monkeypatch.setattr(archive, "MAX_TOTAL_BYTES", 1000)
    refused(core, write(tmp_path / "b.zip", members(core.good)), "expand to over")


def test_compression_bomb(core, tmp_path):
    items = {**members(core.good), "recipes.json": b" " * (50 << 20)}  # 50 MB of spaces compress ~1000:1
    refused(core, write(tmp_path / "a.zip", items), "compression bomb")


def test_too_many_members(core, tmp_path, monkeypatch):
    monkeypatch.setattr(archive, "MAX_MEMBERS", 3)
    refused(core, core.good, "members, over the limit")


def test_json_too_deep(core, tmp_path):
    deep = (
        b'{"format": "lora-manager-export/settings", "version": 1, "settings": {"a": ' + b"[" * 40 + b"]" * 40 + b"}}"
    )
    items = {**members(core.good), "settings.json": deep}
    manifest = orjson.loads(items["manifest.json"])
    items["manifest.json"] = orjson.dumps({**manifest, "parts": [*manifest["parts"], "settings"]})
    refused(core, write(tmp_path / "a.zip", items), "deeper than")


@pytest.mark.parametrize("member,value,words", [
    ("userdata.json", doc("userdata", items=[{"lora": 0, "favorite": "yes please"}]), ("shape", "favorite")),
    ("userdata.json", doc("userdata", items=[{"lora": 0, "surprise": 1}]), ("shape", "surprise")),
    ("userdata.json", doc("userdata", items=[{"lora": 0, "notes": "a\x00b"}]), ("shape",)),
    ("userdata.json", doc("userdata", items=[{"lora": 99}]), ("ref 99",)),
    ("userdata.json", doc("userdata", items=[{"lora": 0, "base_override": "sd99"}]), ("sd99",)),
    ("collections.json", orjson.dumps([1, 2, 3]), ("shape",)),
    ("loras.json", b"{not json", ("not valid JSON",)),
    ("loras.json", doc("loras",
                       loras=[{"ref": 0, "path": "/a", "file_name": "a", "prompt_name": "a", "state": "ok"}] * 2),
     ("twice",)),
    ("manifest.json", orjson.dumps({"format": "something-else", "version": 1}), ("not a LoRA Manager export",)),
])
def test_wrong_shapes(core, tmp_path, member, value, words):
    items = {**members(core.good), member: value}
    refused(core, write(tmp_path / "a.zip", items), *words)


def test_unknown_format_version(core, tmp_path):
    items = members(core.good)
    items["manifest.json"] = orjson.dumps({**orjson.loads(items["manifest.json"]), "version": 2})
    refused(core, write(tmp_path / "a.zip", items), "version 2", "unknown")
    items = members(core.good)
    items["userdata.json"] = doc("userdata", items=[]).replace(b'"version":1', b'"version":7')
    refused(core, write(tmp_path / "b.zip", items), "version 7")


def test_a_bad_usage_line_at_the_end_changes_nothing(core, tmp_path):
    """Everything is read before anything is written: the last line's error still leaves the library as it was."""
    items = members(core.good)
    lines = items["usage.jsonl"].splitlines()
    lines[-1] = lines[-1].replace(b'"outcome":"', b'"outcome":"exploded-')
    items["usage.jsonl"] = b"\n".join(lines) + b"\n"
    refused(core, write(tmp_path / "a.zip", items), "usage.jsonl line", "outcome")


def test_not_a_zip_and_no_manifest(core, tmp_path):
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"PK\x03\x04 nonsense")
    refused(core, junk, "not a readable zip")
    items = members(core.good)
    del items["manifest.json"]
    refused(core, write(tmp_path / "a.zip", items), "no manifest.json")


def test_duplicate_member(core, tmp_path):
    path = tmp_path / "dup.zip"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members(core.good).items():
            zf.writestr(name, data)
        with pytest.warns(UserWarning):
            zf.writestr("userdata.json", doc("userdata", items=[]))
    path.write_bytes(buf.getvalue())
    refused(core, path, "appears twice")
