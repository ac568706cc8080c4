"""A download that goes wrong never leaves a partial file in a library root: a dropped connection is
resumed with Range, a wrong hash, a gated model (401), a missing file (404), a web page instead of the
file and a full disk (a real 2 MiB tmpfs) each end it with their own message; pause, resume after a
pause or a restart, and cancel (no temp file left)."""

from __future__ import annotations

import os
import subprocess

import pytest

from lora_manager.app import build
from lora_manager.errors import Conflict
from lora_manager.settings import Settings

from .civitai_dl_helpers import KEY, files_under, publish, wait_state
from .civitai_dl_standin import DownloadStandin


@pytest.fixture
def civ():
    with DownloadStandin() as standin:
        yield standin


@pytest.fixture
def core(tmp_path, civ):
    made = []

    def make(root=None, data=None, **kw):
        root = root or tmp_path / "lib"
        os.makedirs(root, exist_ok=True)
        settings = Settings(lora_dirs=[str(root)], data_dir=str(data or tmp_path / "data"), civitai_url=civ.url,
                            civitai_key=KEY, civitai_rate=1000.0, **kw)
        app = build(settings)
        app.civitai_clients.get().backoff_s = 0.01
        made.append(app)
        return app

    yield make
    for app in made:
        app.close()


def _parts(app) -> list[str]:
    folder = os.path.join(app.settings.data_dir, "downloads")
    return os.listdir(folder) if os.path.isdir(folder) else []


def test_a_dropped_connection_is_resumed_with_range(core, civ, tmp_path):
    blobs = publish(civ, tmp_path)
    civ.cut = [20_000, 30_000]
    app = core()
    job = wait_state(app.civitai_downloads, app.civitai_downloads.submit("11")["id"])
    assert job["state"] == "done", job
    assert (tmp_path / "lib" / "xl" / "A LoRA" / "alice.safetensors").read_bytes() == blobs[11]
    assert [h.get("range") for _, h in civ.delivery] == [None, "bytes=20000-", "bytes=50000-"]
    # each try starts again at Civitai's URL: a signed delivery URL expires
    assert len(civ.paths("/api/download/models/11")) == 3


def test_a_server_that_ignores_the_range_starts_the_file_again(core, civ, tmp_path):
    blobs = publish(civ, tmp_path)
    civ.cut = [20_000]
    civ.ignore_range = True
    app = core()
    job = wait_state(app.civitai_downloads, app.civitai_downloads.submit("11")["id"])
    assert job["state"] == "done" and job["size"] == len(blobs[11])
    assert (tmp_path / "lib" / "xl" / "A LoRA" / "alice.safetensors").read_bytes() == blobs[11]


@pytest.mark.parametrize("fault,code,words", [
    ("wrong", "hash_mismatch", "SHA-256 does not match"),
    (401, "gated", "LORA_MANAGER_CIVITAI_KEY"),
    (403, "gated", "early access"),
    (404, "not_found", "HTTP 404"),
    ("html", "gated", "a page instead of the file"),
])
def test_a_bad_download_never_lands(core, civ, tmp_path, fault, code, words):
    publish(civ, tmp_path)
    if fault == "wrong":
        civ.wrong.add(11)
    elif fault == "html":
        civ.html.add(11)
    else:
        civ.refuse[11] = fault
    app = core()
    job = wait_state(app.civitai_downloads, app.civitai_downloads.submit("11")["id"])
    assert (job["state"], job["error_code"]) == ("failed", code) and words in job["error"]
    assert KEY not in job["error"]
    assert files_under(tmp_path / "lib") == [] and _parts(app) == []
    assert app.catalog.list().total == 0


def test_civitai_down_fails_after_its_tries_and_resume_continues_the_partial_file(core, civ, tmp_path):
    blobs = publish(civ, tmp_path)
    civ.cut = [40_000]
    civ.on_cut = lambda: civ.fail("/api/download/", *([503] * 5))  # Civitai goes down after the first bytes
    app = core()
    job = wait_state(app.civitai_downloads, app.civitai_downloads.submit("11")["id"])
    assert (job["state"], job["error_code"]) == ("failed", "unreachable") and "HTTP 503" in job["error"]
    assert job["done_bytes"] == 40_000 and _parts(app) == [f"{job['id']}.part"]
    job = wait_state(app.civitai_downloads, app.civitai_downloads.resume(job["id"])["id"], ("done", "failed"))
    assert job["state"] == "done" and civ.delivery[-1][1]["range"] == "bytes=40000-"
    assert (tmp_path / "lib" / "xl" / "A LoRA" / "alice.safetensors").read_bytes() == blobs[11]


def test_pause_keeps_the_partial_file_and_resume_continues_it(core, civ, tmp_path):
    blobs = publish(civ, tmp_path)
    civ.hold_at = 50_000
    app = core()
    dl = app.civitai_downloads
    job = dl.submit("11")
    assert civ.held.wait(20)  # the job runs: its first bytes came
    dl.pause(job["id"])
    job = wait_state(dl, job["id"], ("paused",))
    civ.release.set()
    part = os.path.join(app.settings.data_dir, "downloads", f"{job['id']}.part")
    kept = job["done_bytes"]
    assert 0 < kept <= 50_000 and os.path.getsize(part) == kept and job["progress"] > 0
    assert files_under(tmp_path / "lib") == [] and dl.pause(job["id"])["state"] == "paused"
    job = wait_state(dl, dl.resume(job["id"])["id"], ("done", "failed"))
    assert job["state"] == "done" and civ.delivery[-1][1]["range"] == f"bytes={kept}-"
    assert (tmp_path / "lib" / "xl" / "A LoRA" / "alice.safetensors").read_bytes() == blobs[11]
    with pytest.raises(Conflict, match="nothing to pause"):
        dl.pause(job["id"])


def test_resume_after_a_restart(core, civ, tmp_path):
    blobs = publish(civ, tmp_path)
    civ.hold_at = 50_000
    app = core()
    job = app.civitai_downloads.submit("11")
    assert civ.held.wait(20)
    app.close()  # the server stops mid-download: the job pauses, its partial file stays
    civ.release.set()
    app = core()
    job = app.civitai_downloads.get(job["id"])
    kept = job["done_bytes"]
    assert job["state"] == "paused" and job["error_code"] == "stopped" and 0 < kept <= 50_000
    job = wait_state(app.civitai_downloads, app.civitai_downloads.resume(job["id"])["id"], ("done", "failed"))
    assert job["state"] == "done", job
    assert civ.delivery[-1][1]["range"] == f"bytes={kept}-"
    assert (tmp_path / "lib" / "xl" / "A LoRA" / "alice.safetensors").read_bytes() == blobs[11]
    assert _parts(app) == []


def test_a_server_that_died_leaves_its_jobs_paused_for_a_resume(core, civ, tmp_path):
    publish(civ, tmp_path)
    app = core()
    app.civitai_downloads.store.add_download({"id": "dead", "ref": "11", "state": "running", "version_id": 11})
    assert app.civitai_downloads.recover() == 1
    job = app.civitai_downloads.get("dead")
    assert job["state"] == "paused" and "resume" in job["error"]
    assert wait_state(app.civitai_downloads, app.civitai_downloads.resume("dead")["id"], ("done",))["lora_id"]


def test_cancel_leaves_no_temp_file_and_forgets_a_finished_job(core, civ, tmp_path):
    publish(civ, tmp_path)
    civ.hold_at = 50_000
    app = core()
    dl = app.civitai_downloads
    job = dl.submit("11")
    assert civ.held.wait(20)
    assert dl.cancel(job["id"])["state"] == "cancelling"
    job = wait_state(dl, job["id"], ("cancelled",))
    civ.release.set()
    assert _parts(app) == [] and files_under(tmp_path / "lib") == []
    civ.held.clear()
    civ.release.clear()
    civ.hold_at = 50_000
    queued = dl.submit("11")
    assert civ.held.wait(20)
    dl.pause(queued["id"])
    wait_state(dl, queued["id"], ("paused",))
    civ.release.set()
    assert _parts(app) == [f"{queued['id']}.part"]
    assert dl.cancel(queued["id"])["state"] == "cancelled" and _parts(app) == []
    dl.cancel(job["id"])  # a finished job: forgotten
    assert [j["id"] for j in dl.list()] == [queued["id"]]


@pytest.mark.parametrize("workers", [1, 2])
def test_one_or_two_downloads_at_once(core, civ, tmp_path, workers):
    publish(civ, tmp_path)
    publish(civ, tmp_path, model_id=8, versions=((20, "only", "2025-02-01T00:00:00.000Z"),), name="Bob",
            file_name="bob.safetensors", seed=5)
    civ.hold_at = 50_000  # the first download waits mid-body
    app = core(civitai_downloads=workers)
    dl = app.civitai_downloads
    first = dl.submit("11")
    assert civ.held.wait(20)
    second = dl.submit("20")
    if workers == 2:  # the second one runs beside the held one, to its end
        assert wait_state(dl, second["id"], ("done",))["lora_id"]
        assert dl.get(first["id"])["state"] == "running"
    else:  # the second one waits its turn
        assert dl.get(second["id"])["state"] == "queued"
    civ.release.set()
    assert wait_state(dl, first["id"], ("done",))["state"] == "done"
    assert wait_state(dl, second["id"], ("done",))["state"] == "done"


@pytest.fixture
def tmpfs(tmp_path):
    mounted = []
    if os.geteuid() != 0:
        pytest.skip("mounting a small filesystem needs root")

    def mount(folder):
        os.makedirs(folder, exist_ok=True)
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(folder)], capture_output=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount tmpfs here: {done.stderr!r}")
        mounted.append(folder)

    yield mount
    for folder in reversed(mounted):
        subprocess.run(["umount", str(folder)], check=True)


def _big(civ, tmp_path):
    """A 3 MiB file: more than the 2 MiB filesystem holds."""
    import hashlib

    blobs = publish(civ, tmp_path)
    data = blobs[11] + os.urandom(3 << 20)
    civ.serve(11, data)
    civ.versions[11]["files"][0]["hashes"]["SHA256"] = hashlib.sha256(data).hexdigest().upper()
    return data


def test_a_full_disk_in_the_download_folder_ends_it_cleanly(core, civ, tmp_path, tmpfs):
    _big(civ, tmp_path)
    tmpfs(tmp_path / "data" / "downloads")
    app = core()
    job = wait_state(app.civitai_downloads, app.civitai_downloads.submit("11")["id"])
    assert (job["state"], job["error_code"]) == ("failed", "disk_full") and "disk full" in job["error"]
    assert "MiB free" in job["error"] and _parts(app) == [] and files_under(tmp_path / "lib") == []


def test_a_full_library_root_gets_no_partial_file(core, civ, tmp_path, tmpfs):
    _big(civ, tmp_path)
    tmpfs(tmp_path / "lib")  # another filesystem than the data dir: the file is copied, not linked
    app = core()
    job = wait_state(app.civitai_downloads, app.civitai_downloads.submit("11")["id"])
    assert (job["state"], job["error_code"]) == ("failed", "disk_full"), job
    assert files_under(tmp_path / "lib") == [] and _parts(app) == []
    assert app.catalog.list().total == 0
