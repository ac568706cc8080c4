"""`lora-manager recipes list|show|import|export` as a user runs it (a subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from PIL import Image

from . import recipe_images as RI
from .loras import tensor_sha256, write_lora


def run(*args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LORA_MANAGER_")}
    return subprocess.run([sys.executable, "-m", "lora_manager", *args], capture_output=True, text=True, env=env,
                          timeout=300)


def test_import_list_show_export_and_errors(tmp_path):
    lib = tmp_path / "lib"
    cat = write_lora(lib / "cat_style.safetensors", seed=1)
    dirs = ["--lora-dir", str(lib), "--data-dir", str(tmp_path / "data")]
    assert run("scan", "--wait-hashes", *dirs).returncode == 0
    image = tmp_path / "made.png"
    image.write_bytes(RI.png({"parameters": RI.a1111_text(tensor_hash=tensor_sha256(cat)[:12])}))
    comfy = tmp_path / "comfy.png"
    comfy.write_bytes(RI.png({"prompt": json.dumps(RI.comfy_prompt())}))
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    proc = run("recipes", "import", str(image), str(comfy), str(junk), *dirs)
    assert proc.returncode == 1, proc.stderr  # one file failed; the others are in
    assert "2 recipe(s) imported, 1 file(s) failed" in proc.stdout
    assert "junk.png: not an image we can read" in proc.stderr
    assert "dog_style" in proc.stdout and "warning: dog_style is not in the library" in proc.stdout
    listed = json.loads(run("recipes", "list", "--json", *dirs).stdout)
    assert listed["total"] == 2
    roof = next(r for r in listed["items"] if r["prompt"] == "a cat on a roof, sunset")
    cozy = json.loads(run("recipes", "list", "cozy", "--json", *dirs).stdout)["items"]
    assert [r["prompt"] for r in cozy] == ["a cozy cabin"]
    shown = run("recipes", "show", str(roof["id"]), *dirs)
    assert shown.returncode == 0 and "a cat on a roof, sunset <lora:cat_style:0.7>" in shown.stdout
    assert "Steps: 28" in shown.stdout
    doc = run("recipes", "export", str(roof["id"]), *dirs)
    assert json.loads(doc.stdout)["recipes"][0]["loras"][0]["name"] == "cat_style"
    out = tmp_path / "roof.png"
    assert run("recipes", "export", str(roof["id"]), "--format", "png", "-o", str(out), *dirs).returncode == 0
    assert "lora-manager-recipe" in Image.open(out).info
    assert run("recipes", "import", str(out), *dirs).returncode == 0  # a PNG carrying a recipe: imported as is
    every = json.loads(run("recipes", "export", "--all", *dirs).stdout)
    assert len(every["recipes"]) == 3
    assert run("recipes", "export", *dirs).returncode == 2
    missing = run("recipes", "show", "999", *dirs)
    assert missing.returncode != 0 and "no recipe 999" in missing.stderr
