"""The first hour of a new user: clear errors, a tidy command line, and only LoRAs in the LoRA list.

Every command runs as a user runs it: `python -m lora_manager ...` in a subprocess.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest
from safetensors.numpy import save_file

from .loras import write_lora


def run(*args, check=True, timeout=300, **kw):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LORA_MANAGER_")}
    env["LORA_MANAGER_EMBED_MODEL"] = "off"
    proc = subprocess.run([sys.executable, "-m", "lora_manager", *args], capture_output=True, text=True, env=env,
                          timeout=timeout, **kw)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}: {proc.stderr}")
    return proc


def _save(path, tensors: dict[str, tuple[int, ...]]) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    save_file({k: np.zeros(shape, dtype=np.float16) for k, shape in tensors.items()}, str(path))


# Layouts as the tools people use write them (names and shapes; the values do not matter).
NOT_LORAS = {
    "ti_sd1.safetensors": ({"emb_params": (4, 768)}, "Embedding", "sd1"),
    "ti_sd2.safetensors": ({"emb_params": (2, 1024)}, "Embedding", "sd2"),
    "ti_xl.safetensors": ({"clip_l": (3, 768), "clip_g": (3, 1280)}, "Embedding", "xl"),
    "ti_pt_layout.safetensors": ({"string_to_param.*": (2, 768)}, "Embedding", "sd1"),
    "vae.safetensors": ({f"{part}.{i}.weight": (4, 4) for part in ("encoder.down", "decoder.up") for i in range(4)}
                        | {"quant_conv.weight": (8, 8, 1, 1), "post_quant_conv.weight": (4, 4, 1, 1),
                           "encoder.conv_in.weight": (128, 3, 3, 3), "decoder.conv_out.weight": (3, 128, 3, 3)},
                        "VAE", None),
    "checkpoint.safetensors": ({f"model.diffusion_model.input_blocks.{i}.0.weight": (4, 4) for i in range(20)}
                               | {"first_stage_model.quant_conv.weight": (8, 8, 1, 1),
                                  "cond_stage_model.transformer.text_model.embeddings.token_embedding.weight": (8, 8)},
                               "Checkpoint", None),
    "esrgan.safetensors": ({"conv_first.weight": (64, 3, 3, 3), "RRDB_trunk.0.RDB1.conv1.weight": (32, 64, 3, 3),
                            "upconv1.weight": (64, 64, 3, 3)}, "Upscaler", None),
    "esrgan_new_names.safetensors": ({"conv_first.weight": (64, 3, 3, 3), "body.0.rdb1.conv1.weight": (32, 64, 3, 3),
                                      "conv_body.weight": (64, 64, 3, 3)}, "Upscaler", None),
}


@pytest.fixture
def mixed(tmp_path):
    lib = tmp_path / "lib"
    write_lora(lib / "real_lora.safetensors")
    write_lora(lib / "xl_lora.safetensors", family="xl", seed=1)
    # A LoRA-family file whose names a naive rule could take for a checkpoint: still a LoRA.
    _save(lib / "lycoris_full.safetensors", {f"lora_unet_input_blocks_{i}_0.diff": (4, 4) for i in range(20)})
    for name, (tensors, _, _) in NOT_LORAS.items():
        _save(lib / "others" / name, tensors)
    return ["--lora-dir", str(lib), "--data-dir", str(tmp_path / "data")]


def test_files_that_are_not_loras_are_kept_out_of_the_list_and_marked(mixed):
    report = json.loads(run("scan", *mixed, "--json").stdout)
    assert report["other"] == len(NOT_LORAS) and report["total"] == len(NOT_LORAS) + 3
    listed = json.loads(run("list", *mixed, "--json", "--limit", "100").stdout)
    assert sorted(e["name"] for e in listed["items"]) == ["lycoris_full", "real_lora", "xl_lora"]
    assert json.loads(run("list", *mixed, "--json", "--query", "ti").stdout)["total"] == 0
    for name, (_, kind, family) in NOT_LORAS.items():
        e = json.loads(run("show", name.removesuffix(".safetensors"), *mixed, "--json").stdout)
        assert (e["state"], e["network_type"], e["base_model"]) == ("other", kind, family), name
        assert "not a LoRA" in e["error"] and e["hash_state"] is None


def test_the_api_lists_other_files_only_when_asked(mixed, tmp_path):
    from fastapi.testclient import TestClient

    from lora_manager.standalone.app import create_app
    from lora_manager.app import build
    from lora_manager.settings import Settings

    run("scan", *mixed)
    core = build(Settings(lora_dirs=[mixed[1]], data_dir=mixed[3], embed_model="off"))
    try:
        client = TestClient(create_app(core))
        default = client.get("/lora-manager/v1/loras", params={"limit": 100}).json()
        assert default["total"] == 3
        others = client.get("/lora-manager/v1/loras", params={"state": "other", "limit": 100}).json()
        assert {e["network_type"] for e in others["items"]} == {"Embedding", "VAE", "Checkpoint", "Upscaler"}
        ac = client.get("/lora-manager/v1/autocomplete").json()
        assert not any(n.startswith(("ti_", "vae", "esrgan", "checkpoint")) for n in ac["columns"]["prompt_name"])
    finally:
        core.close()


def test_sort_with_a_leading_dash_as_the_readme_writes_it(tmp_path):
    lib = tmp_path / "lib"
    write_lora(lib / "small.safetensors", rank=2)
    write_lora(lib / "large.safetensors", rank=32, seed=3)
    dirs = ["--lora-dir", str(lib), "--data-dir", str(tmp_path / "data")]
    run("scan", *dirs)
    down = json.loads(run("list", *dirs, "--sort", "-size", "--json").stdout)
    assert [e["name"] for e in down["items"]] == ["large", "small"]
    listed = json.loads(run("list", *dirs, "--sort", "size", "--json").stdout)["items"]
    assert [e["name"] for e in listed] == ["small", "large"]


def test_show_prints_json_values_and_empty_results_say_so(tmp_path):
    lib = tmp_path / "lib"
    write_lora(lib / "alice.safetensors", metadata={"modelspec.trigger_phrase": "alice, blue dress"})
    dirs = ["--lora-dir", str(lib), "--data-dir", str(tmp_path / "data")]
    run("scan", *dirs)
    shown = run("show", "alice", *dirs).stdout
    assert 'triggers: ["alice", "blue dress"]' in shown and "favorite: false" in shown
    assert "['" not in shown and "False" not in shown and "None" not in shown
    assert run("list", *dirs, "--query", "zzzz").stdout.strip() == "no LoRAs match"
    assert run("tags", *dirs).stdout.startswith("no tags yet")
    empty = ["--lora-dir", str(tmp_path / "empty"), "--data-dir", str(tmp_path / "data2")]
    (tmp_path / "empty").mkdir()
    run("scan", *empty)
    assert "the library is empty" in run("list", *empty).stdout


def test_a_closed_pipe_ends_quietly(tmp_path):
    lib = tmp_path / "lib"
    write_lora(lib / "alice.safetensors")
    dirs = ["--lora-dir", str(lib), "--data-dir", str(tmp_path / "data")]
    run("scan", *dirs)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LORA_MANAGER_")}
    proc = subprocess.Popen([sys.executable, "-m", "lora_manager", "show", "alice", *dirs], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    proc.stdout.close()  # the reader is gone before the command writes, as with `| head` on a long answer
    err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert "Traceback" not in err and "BrokenPipe" not in err, err


def test_scan_summary_is_on_its_own_line_after_the_bars(tmp_path):
    """Progress bars draw only on a terminal: run under a pseudo-terminal and read what a person sees."""
    import pty

    lib = tmp_path / "lib"
    for i in range(30):
        write_lora(lib / f"l{i}.safetensors", seed=i)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LORA_MANAGER_")}
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "lora_manager", "scan", "--lora-dir", str(lib), "--data-dir",
                             str(tmp_path / "data")], stdout=slave, stderr=slave, env=env)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    proc.wait(timeout=120)
    os.close(master)
    # What the screen shows: the text after the last carriage return of each line.
    lines = [seg.rstrip("\r").split("\r")[-1].strip() for seg in out.decode(errors="replace").split("\n")]
    summary = [line for line in lines if "total:" in line]
    assert summary and summary[-1].startswith("total: 30"), lines


def test_lora_dir_that_is_not_a_folder_exits_2_and_is_not_remembered(tmp_path):
    data = tmp_path / "data"
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    for bad, says in ((tmp_path / "nope", "no such folder"), (a_file, "is a file, not a folder")):
        proc = run("scan", "--lora-dir", str(bad), "--data-dir", str(data), check=False)
        assert proc.returncode == 2 and says in proc.stderr and str(bad) in proc.stderr
        assert not (data / "roots.json").exists()
    # A remembered root that went offline stays a root: reported, its entries kept.
    lib = tmp_path / "lib"
    write_lora(lib / "alice.safetensors")
    run("scan", "--lora-dir", str(lib), "--data-dir", str(data))
    os.rename(lib, tmp_path / "unplugged")
    again = json.loads(run("scan", "--data-dir", str(data), "--json").stdout)
    assert again["unavailable_roots"] == [str(lib)]
    assert json.loads((data / "roots.json").read_text()) == [str(lib)]


def test_a_port_in_use_ends_serve_at_once_naming_the_port(tmp_path):
    lib = tmp_path / "lib"
    write_lora(lib / "alice.safetensors")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = run("serve", "--lora-dir", str(lib), "--data-dir", str(tmp_path / "data"), "--port", str(port),
                   "--no-ui", check=False, timeout=120)
    assert proc.returncode != 0 and f"port {port}" in proc.stderr and "already in use" in proc.stderr
    assert "listening" not in proc.stdout + proc.stderr
    # Nothing was started: no database was made for a server that never ran.
    assert not (tmp_path / "data" / "library.db").exists()


def test_the_listening_socket_is_tcp_so_answers_go_out_at_once():
    """asyncio turns Nagle off (TCP_NODELAY) only on sockets whose protocol says TCP; a socket made with
    protocol 0 made every answer written in two parts wait ~40 ms for the client's delayed ack."""
    from lora_manager.standalone.server import bind

    sock = bind("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
    finally:
        sock.close()
