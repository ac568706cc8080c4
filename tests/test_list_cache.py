"""A list page asked again is bytes from memory, until anything is written (here or by another process)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import event

from lora_manager.standalone.app import create_app

from .browser import wait_for
from .conftest import scan
from .loras import write_lora

P = "/lora-manager/v1"


def _statements(engine) -> list[str]:
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda conn, cur, stmt, *a: seen.append(stmt))
    return seen


def test_a_page_asked_again_runs_no_query_and_an_edit_shows_at_once(make_app, library):
    for i, name in enumerate(("alpha", "beta", "gamma")):
        write_lora(library / f"{name}.safetensors", seed=i)
    core = make_app(library)
    scan(core)
    seen = _statements(core.db.engine)
    with TestClient(create_app(core)) as c:
        first = c.get(f"{P}/loras", params={"limit": 2, "query": "a"})
        assert first.status_code == 200 and seen
        seen.clear()
        again = c.get(f"{P}/loras", params={"limit": 2, "query": "a"})
        assert again.content == first.content and seen == []
        # another page or another filter is another query
        c.get(f"{P}/loras", params={"limit": 2, "query": "a", "cursor": first.json()["next_cursor"]})
        assert seen
        # an edit through this process is seen by the very next page
        assert c.patch(f"{P}/loras/alpha", json={"favorite": True}).status_code == 200
        after = c.get(f"{P}/loras", params={"limit": 2, "query": "a"}).json()
        assert {e["name"]: e["favorite"] for e in after["items"]}["alpha"] is True
        # bad input is still refused, cached or not
        assert c.get(f"{P}/loras", params={"limit": 0}).status_code == 422
        assert c.get(f"{P}/loras", params={"fields": "nope"}).status_code == 422


def test_what_another_process_writes_shows_within_seconds(make_app, library):
    write_lora(library / "alpha.safetensors")
    core = make_app(library)
    scan(core)
    other = make_app(library)  # a second App over the same database: its writes do not move our version
    with TestClient(create_app(core)) as c:
        assert c.get(f"{P}/loras").json()["items"][0]["favorite"] is False
        other.catalog.edit("alpha", {"favorite": True})
        wait_for(lambda: c.get(f"{P}/loras").json()["items"][0]["favorite"] is True, timeout=15)
