"""Opening a database that cannot work: one clear line, exit non-zero, nothing on disk changed.

Run as a user runs it (`python -m lora_manager ...` in a subprocess). See docs/data-safety.md.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import pytest

from .browser import free_port
from .loras import write_lora


def run(*args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LORA_MANAGER_")}
    return subprocess.run([sys.executable, "-m", "lora_manager", *args], capture_output=True, text=True, env=env,
                          timeout=300)


def snapshot(*dirs) -> dict[str, tuple]:
    """Every file and folder under `dirs`, files with their bytes' hash, size and mtime. (A folder's own
    mtime moves when SQLite opens and removes its -wal/-shm files; no file may appear, go or change.)"""
    out: dict[str, tuple] = {}
    for top in dirs:
        top = str(top)
        if not os.path.exists(top):
            out[top] = ("absent",)
            continue
        for folder, subdirs, files in os.walk(top):
            out[folder] = ("dir",)
            for name in files:
                path = os.path.join(folder, name)
                with open(path, "rb") as f:
                    data = f.read()
                out[path] = (hashlib.sha256(data).hexdigest(), len(data), os.stat(path).st_mtime_ns)
    return out


def refused(proc, *words: str) -> str:
    """The command failed with one line of explanation containing `words`, and no traceback."""
    err = proc.stderr.strip()
    assert proc.returncode != 0, proc.stdout
    assert "Traceback" not in proc.stderr and "\n" not in err, proc.stderr
    for word in words:
        assert word in err, err
    return err


@pytest.fixture
def library(tmp_path):
    lib = tmp_path / "lib"
    write_lora(lib / "alice.safetensors", metadata={"modelspec.trigger_phrase": "alice"})
    write_lora(lib / "bob.safetensors", family="xl", seed=2)
    return lib


def test_empty_database_file_is_refused_not_migrated(tmp_path, library):
    data = tmp_path / "data"
    data.mkdir()
    (data / "library.db").write_bytes(b"")
    before = snapshot(data, library)
    err = refused(run("list", "--data-dir", str(data)), "the database is damaged", "empty", str(data / "library.db"))
    assert "backup" in err
    refused(run("scan", "--data-dir", str(data), "--lora-dir", str(library)), "the database is damaged")
    port = free_port()
    serve = run("serve", "--data-dir", str(data), "--lora-dir", str(library), "--port", str(port), "--no-ui")
    assert "listening" not in serve.stdout
    refused(serve, "the database is damaged")
    assert snapshot(data, library) == before


def _scanned(tmp_path, library) -> str:
    data = tmp_path / "data"
    assert run("scan", "--data-dir", str(data), "--lora-dir", str(library), "--no-hash").returncode == 0
    return str(data / "library.db")


def test_garbage_inside_the_database_says_damaged(tmp_path, library):
    db = _scanned(tmp_path, library)
    size = os.path.getsize(db)
    assert size >= 8 * 4096
    with open(db, "r+b") as f:  # the header stays; pages in the middle become noise
        f.seek(2 * 4096)
        f.write(os.urandom(size - 3 * 4096))
    before = snapshot(tmp_path)
    err = refused(run("list", "--data-dir", str(tmp_path / "data")), "the database is damaged", db)
    assert "backup" in err
    port = free_port()
    serve = run("serve", "--data-dir", str(tmp_path / "data"), "--lora-dir", str(library), "--port", str(port),
                "--no-ui")
    assert "listening" not in serve.stdout
    refused(serve, "the database is damaged")
    assert snapshot(tmp_path) == before


def test_sqlite_url_in_a_missing_folder_creates_nothing(tmp_path, library):
    data = tmp_path / "data"  # absent too: nothing at all may appear
    before = snapshot(tmp_path)
    url = f"sqlite:///{tmp_path}/nowhere/deeper/library.db"
    refused(run("list", "--data-dir", str(data), "--db", url), "does not exist", f"{tmp_path}/nowhere/deeper")
    refused(run("scan", "--data-dir", str(data), "--db", url, "--lora-dir", str(library)), "does not exist")
    assert snapshot(tmp_path) == before
    assert not (tmp_path / "nowhere").exists() and not data.exists()


def test_file_that_is_not_a_database(tmp_path, library):
    notes = tmp_path / "notes.txt"
    notes.write_text("my shopping list\n" * 200)
    data = tmp_path / "data"
    data.mkdir()
    before = snapshot(tmp_path)
    refused(run("list", "--data-dir", str(data), "--db", f"sqlite:///{notes}"), "is not a SQLite database", str(notes))
    assert snapshot(tmp_path) == before


@pytest.fixture
def read_only(tmp_path):
    """Make a folder read-only for real: a read-only mount as root (root ignores modes), else its mode."""
    made: list[str] = []

    def _make(folder) -> None:
        folder = str(folder)
        if os.geteuid() != 0:
            os.chmod(folder, 0o555)
            made.append(folder)
            return
        bind = subprocess.run(["mount", "--bind", folder, folder], capture_output=True)
        if bind.returncode != 0:
            pytest.skip(f"cannot bind-mount as root here: {bind.stderr!r}")
        made.append(folder)
        subprocess.run(["mount", "-o", "remount,bind,ro", folder, folder], check=True)

    yield _make
    for folder in made:
        if os.geteuid() == 0:
            subprocess.run(["umount", folder], check=True)
        else:
            os.chmod(folder, 0o755)


def test_read_only_data_directory(tmp_path, library, read_only):
    db = _scanned(tmp_path, library)
    data = os.path.dirname(db)
    empty = tmp_path / "empty-data"
    empty.mkdir()
    read_only(data)
    read_only(empty)
    before = snapshot(tmp_path)
    refused(run("list", "--data-dir", data), "read-only", data)
    refused(run("scan", "--data-dir", str(empty), "--lora-dir", str(library)), "read-only", str(empty))
    assert snapshot(tmp_path) == before
