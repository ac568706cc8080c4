"""Damage found in use (a database too big for the check at open): routes answer 503 "the database is damaged"
and /system turns unhealthy, never a 500 (docs/data-safety.md)."""

from __future__ import annotations

import os
import sqlite3

from fastapi.testclient import TestClient

from lora_manager.standalone.app import create_app
from lora_manager.app import build
from lora_manager.settings import Settings
from lora_manager.storage import opening

from .loras import write_lora

P = "/lora-manager/v1"


def test_damage_met_by_a_route_is_a_503_saying_so(tmp_path, monkeypatch):
    lib = tmp_path / "lib"
    for i in range(30):
        write_lora(lib / f"l{i}.safetensors", seed=i, metadata={"ss_output_name": f"o{i}" * 50})
    settings = Settings(lora_dirs=[str(lib)], data_dir=str(tmp_path / "data"))
    app = build(settings)
    app.scan(hash_after=False)
    app.close()
    db = settings.db_url.split("///", 1)[1]
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'loras'").fetchone()[0]
        page = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    with open(db, "r+b") as f:  # the table's first page becomes noise
        f.seek((root - 1) * page)
        f.write(os.urandom(page))
    monkeypatch.setattr(opening, "QUICK_CHECK_MAX_BYTES", 0)  # as for a database too big to check at open
    app = build(settings)
    try:
        with TestClient(create_app(app)) as client:
            r = client.get(f"{P}/loras")
            assert r.status_code == 503, r.text
            body = r.json()["error"]
            assert body["code"] == "database_damaged" and body["message"].startswith("the database is damaged")
            assert "backup" in body["message"]
            system = client.get(f"{P}/system")
            assert system.status_code == 200, system.text
            database = system.json()["database"]
            assert database["healthy"] is False and database["problem"]["code"] == "database_damaged"
    finally:
        app.close()
