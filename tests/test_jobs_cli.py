"""`lora-manager jobs ...` against a real server: the stand-in SDNext (its pipelines, queue lock and control entry
point, tests/standin.py) with the extension loaded and an API key set, its FastAPI app on uvicorn on 127.0.0.1.
The commands reach it only through --url and --api-key, as a user's would."""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager

import orjson
import pytest

from lora_manager.cli import main

from .browser import free_port
from .generation_helpers import P, png, start_host, wait_for

KEY = "cli-secret"


@contextmanager
def _served(tmp, argv: tuple[str, ...]):
    import httpx
    import uvicorn

    monkeypatch = pytest.MonkeyPatch()
    host, core = start_host(tmp, monkeypatch, argv=argv)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(host.app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(base + P + "/health", timeout=2).status_code in (200, 401)
        except httpx.TransportError:
            return False

    wait_for(up)
    try:
        yield host, core, base, tmp
    finally:
        server.should_exit = True
        thread.join(30)
        core.close()
        monkeypatch.undo()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with _served(tmp_path_factory.mktemp("jobs-cli"), ("--lora-manager-api-key", KEY)) as s:
        yield s


def jobs(served, capsys, *argv: str, key: str | None = KEY) -> tuple[int, str, str]:
    _host, _core, base, _tmp = served
    flags = ["--url", base] + (["--api-key", key] if key else [])
    code = main(["jobs", *argv, *flags])
    out = capsys.readouterr()
    return code, out.out, out.err


def as_json(out: str):
    return orjson.loads(out)


SMALL = ("--steps", "3", "--width", "64", "--height", "64")


def test_txt2img_with_a_stack_then_list_and_show_with_its_images(served, capsys, tmp_path):
    host, _core, _base, _tmp = served
    code, out, err = jobs(served, capsys, "submit", "--prompt", "a cat", "--lora", "hosted:0.7", "--lora", "second",
                          *SMALL, "--seed", "5", "--wait", "--json")
    assert code == 0, err
    done = as_json(out)["jobs"][0]
    assert done["status"] == "done" and done["seed"] == 5
    sent = host.processed[-1]
    assert [n[0] for n in sent.network_data] == ["hosted", "second"] and sent.network_data[0][1] == 0.7
    code, out, _ = jobs(served, capsys, "list")
    assert code == 0 and done["id"] in out and "a cat" in out and "<hosted:0.7>" in out
    code, out, _ = jobs(served, capsys, "show", done["id"], "--save", str(tmp_path / "got"))
    assert code == 0 and "status: done" in out and "images: 1" in out
    saved = tmp_path / "got" / f"{done['id']}-0.png"
    assert saved.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and str(saved) in out


def test_img2img_and_control_upload_their_files(served, capsys, tmp_path):
    host, _core, _base, _tmp = served
    init = tmp_path / "init.png"
    init.write_bytes(png((255, 0, 0)))
    code, out, err = jobs(served, capsys, "submit", "--kind", "img2img", "--prompt", "red", "--init-image", str(init),
                          "--denoise", "0.35", "--resize-mode", "2", *SMALL, "--wait", "--json")
    assert code == 0, err
    job = as_json(out)["jobs"][0]
    p = host.processed[-1]
    assert type(p).__name__ == "Img2Img" and (p.denoising_strength, p.resize_mode) == (0.35, 2)
    assert p.init_images[0].getpixel((1, 1)) == (255, 0, 0)
    code, out, err = jobs(served, capsys, "submit", "--kind", "img2img", "--prompt", "again", "--init-image",
                          f"job:{job['id']}/0", *SMALL, "--wait")  # a previous result, by reference
    assert code == 0 and "done" in out, err
    control = tmp_path / "edges.webp"
    control.write_bytes(png((0, 0, 255), fmt="WEBP"))
    code, out, err = jobs(served, capsys, "submit", "--kind", "control", "--prompt", "blue", "--control-image",
                          str(control), "--control-model", "Canny", "--lora", "hosted", *SMALL, "--wait", "--json")
    assert code == 0, err
    assert as_json(out)["jobs"][0]["kind"] == "control" and as_json(out)["jobs"][0]["control_model"] == "Canny"
    code, _out, err = jobs(served, capsys, "submit", "--kind", "control", "--prompt", "x", "--control-image",
                           str(control), "--control-model", "NoSuchModel", *SMALL, "--wait")
    assert code == 1  # the host's refusal, as a failed job or an error, never a success
    code, _out, err = jobs(served, capsys, "submit", "--kind", "img2img", "--prompt", "x", "--init-image",
                           str(tmp_path / "nothing.png"))
    assert code == 1 and "not an image file" in err


def test_a_recipe_a_sweep_and_previews(served, capsys):
    host, core, _base, _tmp = served
    recipe = core.recipes.create({"title": "cli", "prompt": "a fox", "loras": [{"name": "hosted", "weight": 0.6}],
                                  "steps": 3, "width": 64, "height": 64, "seed": 9})
    code, out, err = jobs(served, capsys, "submit", "--recipe", str(recipe["id"]), "--wait", "--json")
    assert code == 0, err
    assert as_json(out)["jobs"][0]["status"] == "done" and host.processed[-1].network_data[0][:2] == ("hosted", 0.6)
    code, out, err = jobs(served, capsys, "submit", "--prompt", "sweep", "--sweep", "hosted:0.2,0.8", "--seeds", "1,2",
                          *SMALL, "--wait", "--json")
    assert code == 0, err
    swept = as_json(out)
    assert len(swept["jobs"]) == 4 and all(j["status"] == "done" for j in swept["jobs"])
    assert swept["submitted"]["columns"] == ["hosted: 0.2", "hosted: 0.8"]
    assert swept["submitted"]["rows"] == ["seed 1", "seed 2"]
    assert sorted(p.network_data[0][1] for p in host.processed[-4:]) == [0.2, 0.2, 0.8, 0.8]
    preview = host.lora_dir / "second.preview.png"
    assert not preview.exists()
    code, out, err = jobs(served, capsys, "submit", "--previews", "second", *SMALL, "--wait")
    assert code == 0, err
    assert "preview of" in out
    wait_for(preview.exists)  # written once the job's result is in
    code, out, _ = jobs(served, capsys, "submit", "--previews", "second", *SMALL)
    assert code == 0 and "skipped" in out  # it has one now, and --replace was not given


def test_cancel_a_running_job(served, capsys):
    host, core, _base, _tmp = served
    host.step_seconds = 0.05
    try:
        code, out, err = jobs(served, capsys, "submit", "--prompt", "long", "--steps", "150", "--width", "64",
                              "--height", "64", "--json")
        assert code == 0, err
        job_id = as_json(out)["id"]
        wait_for(lambda: core.jobs.get(job_id).status == "running" and core.jobs.get(job_id).step > 0)
        code, out, err = jobs(served, capsys, "cancel", job_id)
        assert code == 0, err
        code, out, _ = jobs(served, capsys, "show", job_id, "--wait")
        assert code == 1 and "status: cancelled" in out  # --wait exits 1 for a job that did not finish well
    finally:
        host.step_seconds = 0.005


def test_errors_are_one_line_and_exit_1(served, capsys):
    code, _out, err = jobs(served, capsys, "list", key=None)
    assert code == 1 and "API key" in err and err.count("\n") == 1
    code, _out, err = jobs(served, capsys, "show", "0" * 12)
    assert code == 1 and "no job" in err
    code, out, _ = jobs(served, capsys, "submit", "--prompt", "x", "--width", "65", "--json")
    assert code == 1 and "width" in as_json(out)["error"]["message"]
    code, _out, err = jobs(served, capsys, "submit", "--recipe", "1", "--previews")
    assert code == 1 and "give one of" in err
    code, _out, err = jobs(served, capsys, "submit", "--prompt", "x", "--sweep", "hosted")
    assert code == 1 and "KEY:W1,W2" in err
    code = main(["jobs", "list", "--url", f"http://127.0.0.1:{free_port()}", "--api-key", KEY])
    assert code == 1 and "cannot reach" in capsys.readouterr().err


def test_the_hosts_own_sign_in(tmp_path, capsys):
    """SDNext run with --auth guards its API routes (ours among them) with HTTP Basic: --auth signs in."""
    with _served(tmp_path, ("--auth", "ann:pa:ss")) as (_host, _core, base, _tmp):
        code = main(["jobs", "list", "--url", base])
        err = capsys.readouterr().err
        assert code == 1 and "--auth USER:PASSWORD" in err
        assert main(["jobs", "list", "--url", base, "--auth", "ann:wrong"]) == 1
        capsys.readouterr()
        code = main(["jobs", "submit", "--prompt", "signed in", *SMALL, "--url", base, "--auth", "ann:pa:ss",
                     "--wait", "--json"])
        out = capsys.readouterr()
        assert code == 0, out.err
        assert as_json(out.out)["jobs"][0]["status"] == "done"
        assert main(["jobs", "list", "--url", base, "--auth", "nocolon"]) == 1
        assert "USER:PASSWORD" in capsys.readouterr().err


def test_python_dash_m_runs_the_package():
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-m", "lora_manager", "jobs", "--help"], capture_output=True, text=True,
                         cwd=root, env={**os.environ, "PYTHONPATH": root}, timeout=60)
    assert out.returncode == 0 and "submit" in out.stdout
