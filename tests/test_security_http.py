"""The standalone server against other sites: Host names it trusts, cross-site writes
refused, security headers on the pages, and no keyless listening beyond this machine.
A real server process, as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest

from .browser import ROOT, Server
from .loras import write_lora

P = "/lora-manager/v1"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("sec")
    write_lora(root / "lib" / "one.safetensors")
    server = Server(str(root / "lib"), str(root / "data"), "--allowed-host", "lm.example.lan", "--no-ui",
                    env={"LORA_MANAGER_WATCH_INTERVAL": "0", "LORA_MANAGER_CORS_ORIGINS": "http://friend.example",
                         "LORA_MANAGER_ALLOWED_HOSTS": "box.lan"})
    server.settled(1)
    yield server, root / "lib"
    print(server.stop())


def _get(server, path, **kw):
    return httpx.get(server.base + path, timeout=30, **kw)


def test_only_trusted_host_names_are_answered(served):
    server, _ = served
    port = server.port
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", "localhost", f"lm.example.lan:{port}",
                 f"box.lan:{port}", f"LOCALHOST:{port}"):
        assert _get(server, P + "/loras", headers={"Host": host}).status_code == 200, host
    for host in (f"evil.example:{port}", "attacker.127.0.0.1.nip.io", f"127.0.0.1.evil.example:{port}", "", "[::2]"):
        r = _get(server, P + "/loras", headers={"Host": host})
        assert r.status_code == 400, host
        assert r.json()["error"]["code"] == "bad_host"
        assert "--allowed-host" in r.json()["error"]["message"]
    assert _get(server, "/docs", headers={"Host": "evil.example"}).status_code == 400


def test_cross_site_writes_are_refused(served):
    server, lib = served
    url = server.base + P
    cross = [{"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}, {"Origin": "null"},
             {"Origin": "http://localhost:1"},
             {"Sec-Fetch-Site": "same-site", "Origin": f"http://localhost:{server.port + 1}"}]
    for headers in cross:
        for method, path in (("POST", "/scans"), ("POST", "/loras/one/restore"), ("POST", "/jobs/1/cancel"),
                             ("DELETE", "/loras/one"), ("PATCH", "/loras/one"), ("POST", "/loras/bulk")):
            r = httpx.request(method, url + path, headers=headers, timeout=30, json={})
            assert r.status_code == 403, (method, path, headers, r.text)
            assert r.json()["error"]["code"] == "cross_site"
    assert (lib / "one.safetensors").exists()
    assert httpx.get(url + "/loras/one", headers=cross[0], timeout=30).status_code == 200  # reads are CORS's business
    same = [{}, {"Origin": server.base}, {"Sec-Fetch-Site": "same-origin", "Origin": server.base},
            {"Sec-Fetch-Site": "none"}, {"Origin": "http://friend.example", "Sec-Fetch-Site": "cross-site"}]
    for headers in same:
        r = httpx.patch(url + "/loras/one", headers=headers, json={"notes": "ok"}, timeout=30)
        assert r.status_code == 200, (headers, r.text)
        r = httpx.post(url + "/scans", headers=headers, timeout=30)
        assert r.status_code in (202, 409), (headers, r.text)


def test_pages_carry_the_security_headers(tmp_path):
    pytest.importorskip("gradio")
    write_lora(tmp_path / "lib" / "one.safetensors")
    server = Server(str(tmp_path / "lib"), str(tmp_path / "data"), env={"LORA_MANAGER_WATCH_INTERVAL": "0"})
    try:
        for path in ("/lora-manager/ui/", "/docs", P + "/loras"):
            r = _get(server, path)
            assert r.status_code == 200, path
            assert r.headers["x-content-type-options"] == "nosniff"
            assert r.headers["x-frame-options"] == "SAMEORIGIN"
            csp = r.headers["content-security-policy"]
            assert "frame-ancestors 'self'" in csp, path
            script = next((d for d in csp.split(";") if d.strip().startswith(("script-src", "default-src 'none'"))), "")
            assert script and "'unsafe-inline'" not in script and "http" not in script, (path, csp)
        page = _get(server, "/lora-manager/ui/")
        assert "cdnjs" not in page.text and "fonts.googleapis" not in page.text
    finally:
        print(server.stop())


def _serve(tmp_path, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LORA_MANAGER_")}
    return subprocess.run([sys.executable, "-m", "lora_manager", "serve", "--lora-dir", str(tmp_path), "--data-dir",
                           str(tmp_path / "data"), "--no-ui", "--port", "1", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_listening_beyond_this_machine_without_a_key_needs_a_flag(tmp_path):
    for host in ("192.0.2.10", "0.0.0.0", "::"):  # the first fails at once without the check (not ours to bind)
        done = _serve(tmp_path, "--host", host)
        assert done.returncode == 2, done
        assert "--api-key" in done.stderr and "--allow-no-key" in done.stderr
        assert "listening" not in done.stdout
