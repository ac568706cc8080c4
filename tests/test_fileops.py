"""Move, rename, trash and restore with sidecars and previews; never outside the roots."""

from __future__ import annotations

import pytest

from lora_manager.errors import Conflict, InvalidInput

from .conftest import scan
from .loras import write_lora


@pytest.fixture
def lib(app, library):
    write_lora(library / "a.safetensors")
    (library / "a.civitai.info").write_text('{"trainedWords": ["aword"], "baseModel": "SD 1.5"}')
    (library / "a.preview.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (library / "a.txt").write_text("describe a")
    write_lora(library / "b.safetensors", seed=2)
    scan(app)
    app.catalog.edit("a", {"favorite": True, "notes": "n"})
    return app


def test_move_and_rename_carries_companions_and_user_data(lib, library):
    before = lib.catalog.get("a")
    e = lib.files.move("a", "sorted/chars", "alice")
    assert e["id"] == before["id"] and e["favorite"] and e["notes"] == "n"
    assert e["prompt_name"] == "alice" and e["folder"] == "sorted/chars"
    target = library / "sorted" / "chars"
    assert sorted(p.name for p in target.iterdir()) == ["alice.civitai.info", "alice.preview.png", "alice.safetensors",
                                                        "alice.txt"]
    assert not list(library.glob("a.*"))
    assert e["sha256"] == before["sha256"] and e["hash_state"] == "done", "a move keeps the cached hash"
    assert e["triggers"] == ["aword"] and e["description"] == "describe a"
    report = scan(lib)
    assert report.unchanged == 2 and report.moved == 0 and report.missing == 0


@pytest.mark.parametrize("folder,name", [("../outside", None), ("/etc", None), (None, "../x"), (None, "a/b"),
                                         (None, "")])
def test_move_refuses_escapes(lib, library, folder, name):
    if name == "":
        name = " "
    with pytest.raises(InvalidInput):
        lib.files.move("a", folder, name)
    assert (library / "a.safetensors").exists()


def test_move_refuses_to_overwrite(lib, library):
    with pytest.raises(Conflict):
        lib.files.move("a", None, "b")
    assert (library / "a.safetensors").exists() and (library / "a.txt").exists()


def test_trash_and_restore(lib, library):
    e = lib.files.trash("a")
    assert e["state"] == "trashed" and not (library / "a.safetensors").exists() and not (library / "a.txt").exists()
    assert "a" not in [x["name"] for x in lib.catalog.list().items]
    report = scan(lib)
    assert report.missing == 0, "a trashed entry is not missing"
    e = lib.files.restore("a")
    assert e["state"] == "ok" and e["favorite"] and (library / "a.preview.png").exists()
    with pytest.raises(Conflict):
        lib.files.restore("a")
