"""GET /loras?sort=name over HTTP: the shown name (display name, else title, else file name), natural order, case
and accents ignored; `-name` the exact reverse, in one page and walked by cursor; on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from lora_manager.standalone.app import create_app

from .conftest import scan
from .loras import write_lora

P = "/lora-manager/v1"

# (file, title): the files' own names sort the other way round, so a sort by file name fails the test.
SPECS = [
    ("a_zoe", "Zoë Brontë portrait"),
    ("b_style10", "Style v10"),
    ("c_emile", "Émile"),
    ("d_style2", "Style v2"),
    ("e_art", "art Nouveau Illustration"),
    ("f_renamed", "Aaa a title no card shows"),  # its display name, set below, is what counts
]
ORDER = ["art Nouveau Illustration", "Émile", "Style v2", "Style v3 (renamed)", "Style v10", "Zoë Brontë portrait"]


@pytest.fixture
def client(app, library):
    for i, (name, title) in enumerate(SPECS):
        write_lora(library / f"{name}.safetensors", seed=i, metadata={"modelspec.title": title})
    scan(app)
    with TestClient(create_app(app)) as c:
        r = c.patch(f"{P}/loras/f_renamed", json={"display_name": "Style v3 (renamed)"})
        assert r.status_code == 200 and r.json()["shown_name"] == "Style v3 (renamed)"
        yield c


def _names(client, **params):
    r = client.get(f"{P}/loras", params={"fields": "name,shown_name", **params})
    assert r.status_code == 200
    return [e["shown_name"] for e in r.json()["items"]]


def _walk(client, **params):
    out, cursor = [], None
    while True:
        ask = {"fields": "name,shown_name", "limit": 2, **params, **({"cursor": cursor} if cursor else {})}
        page = client.get(f"{P}/loras", params=ask).json()
        out += [e["shown_name"] for e in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            return out


def test_name_sort_over_http_is_natural_and_ignores_case_and_accents(client):
    assert _names(client, sort="name") == ORDER
    assert _names(client) == ORDER  # name is the default sort
    assert _walk(client, sort="name") == ORDER
    assert _names(client, sort="name", limit=2, offset=1) == ORDER[1:3]


def test_minus_name_is_the_exact_reverse(client):
    assert _names(client, sort="-name") == ORDER[::-1]
    assert _walk(client, sort="-name") == ORDER[::-1]


def test_clearing_the_display_name_sorts_by_the_title_again(client):
    r = client.patch(f"{P}/loras/f_renamed", json={"display_name": ""})
    assert r.status_code == 200 and r.json()["shown_name"] == "Aaa a title no card shows"
    assert _names(client, sort="name")[0] == "Aaa a title no card shows"
    assert _names(client, sort="-name")[-1] == "Aaa a title no card shows"
