"""A write that loses a deadlock is run again and succeeds (real PostgreSQL; docs/data-safety.md)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from .conftest import scan
from .loras import write_lora


def test_deadlock_victim_is_retried(make_app, library, db_url, caplog):
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time; its busy waits are the busy timeout's")
    for i in range(2):
        write_lora(library / f"l{i}.safetensors", seed=i, metadata={"ss_output_name": f"o{i}"})
    app = make_app(library)
    scan(app)  # hashes done: nothing else holds rows
    first, second = _ids(app)
    other = app.db.engine.connect()
    tx = other.begin()
    other.execute(text("SELECT id FROM loras WHERE id = :i FOR UPDATE"), {"i": second})  # holds the second row
    result: list = []

    def run() -> None:
        try:
            result.append(app.catalog.user_store.edit([first, second], {"favorite": True}))
        except Exception as exc:  # shown by the assertion below
            result.append(repr(exc))

    edit = threading.Thread(target=run)
    caplog.set_level("INFO", logger="lora_manager.storage.failures")
    edit.start()  # takes the first row, then waits for the second
    other.execute(text("SELECT pg_sleep(0.3)"))
    # Now this side asks for the first row: a cycle. The edit has waited longer, so PostgreSQL's check
    # (deadlock_timeout) finds the cycle from its side and aborts it; it is then run again.
    other.execute(text("UPDATE loras SET alias = 'held' WHERE id = :i"), {"i": first})
    tx.commit()
    other.close()
    edit.join(60)
    assert result == [2]
    assert [app.catalog.get(i)["favorite"] for i in (first, second)] == [True, True]
    assert any("met another writer" in r.getMessage() and "DeadlockDetected" in r.getMessage() for r in caplog.records)


def _ids(app) -> list[int]:
    with app.db.engine.connect() as conn:
        return [r[0] for r in conn.execute(text("SELECT id FROM loras ORDER BY id"))]
