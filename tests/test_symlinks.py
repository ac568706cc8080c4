"""Links in a library: followed while they stay inside the roots (or lead into a
target the user named), never out of them; the trash refuses files that live
outside the roots, as a move does."""

from __future__ import annotations

import os

import pytest

from lora_manager.errors import InvalidInput
from lora_manager.settings import Settings

from .conftest import scan
from .loras import write_lora


@pytest.fixture
def outside(tmp_path):
    out = tmp_path / "elsewhere"
    write_lora(out / "secret.safetensors", seed=7)
    write_lora(out / "deeper" / "secret2.safetensors", seed=8)
    return out


def test_a_folder_link_out_of_the_roots_is_not_followed(make_app, library, outside):
    write_lora(library / "mine.safetensors")
    os.symlink(outside, library / "x")
    core = make_app(library)
    report = scan(core)
    assert report.total == 1
    assert any(e["path"] == str(library / "x") and "outside" in e["error"] for e in report.errors), report.errors


def test_a_file_link_out_of_the_roots_is_not_indexed(make_app, library, outside):
    write_lora(library / "mine.safetensors")
    os.symlink(outside / "secret.safetensors", library / "linked.safetensors")
    core = make_app(library)
    assert scan(core).total == 1


def test_links_inside_the_roots_are_followed(make_app, tmp_path, library):
    other = tmp_path / "second-root"
    write_lora(other / "sub" / "two.safetensors", seed=2)
    write_lora(library / "real" / "one.safetensors", seed=1)
    os.symlink(other / "sub", library / "into-the-other-root")
    os.symlink("real", library / "alias")  # the same folder twice: walked once
    write_lora(other / "three.safetensors", seed=3)
    os.symlink(other / "three.safetensors", library / "three-link.safetensors")
    core = make_app(library, other)
    report = scan(core)
    assert report.errors == [], report.errors
    assert report.total == 3 + 1  # one, two (by either path), three, and three's link to it


def test_a_named_outside_target_may_be_linked(make_app, library, outside):
    write_lora(library / "mine.safetensors")
    os.symlink(outside, library / "x")
    core = make_app(library, link_targets=[str(outside)])
    report = scan(core)
    assert report.total == 3 and report.errors == []
    # a file reached through the allowed link can be moved inside and trashed like any other
    moved = core.files.move("secret", "x/deeper")
    assert moved["path"] == str(library / "x" / "deeper" / "secret.safetensors")
    core.files.trash("secret2")


def test_link_targets_from_the_environment():
    s = Settings.from_env({"LORA_MANAGER_LINK_TARGETS": os.pathsep.join(["/mnt/a", "", "~/b"])})
    assert s.link_targets == ["/mnt/a", os.path.expanduser("~/b")]


def test_trash_refuses_a_file_whose_real_path_is_outside_the_roots(make_app, library, outside):
    write_lora(library / "swapped.safetensors", seed=3)
    core = make_app(library)
    assert scan(core).total == 1
    # after the scan, the file becomes a link to a file outside the roots
    os.remove(library / "swapped.safetensors")
    os.symlink(outside / "secret.safetensors", library / "swapped.safetensors")
    with pytest.raises(InvalidInput) as err:
        core.files.trash("swapped")
    assert "outside" in err.value.message
    assert os.path.islink(library / "swapped.safetensors") and (outside / "secret.safetensors").is_file()
    assert not os.path.exists(core.settings.trash_dir) or not any(os.scandir(core.settings.trash_dir))
    with pytest.raises(InvalidInput):
        core.files.move("swapped", "elsewhere")
