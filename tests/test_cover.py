"""The embedded cover: an entry says it has one exactly when GET /loras/{key}/cover serves it (library/cover.py)."""

from __future__ import annotations

import base64
import json

import pytest
from fastapi.testclient import TestClient

from lora_manager.standalone.app import create_app

from .conftest import scan
from .loras import write_lora

P = "/lora-manager/v1"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(13)
AVIF = b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf" + bytes(16)
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + bytes(24)
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


def _url(mime: str, data: bytes) -> str:
    return f"data:{mime};base64," + base64.b64encode(data).decode()


def _ssmd(*images: bytes) -> str:
    return json.dumps([base64.b64encode(i).decode() for i in images])


# name: (metadata, (content type, bytes) served, or None for no cover and a 404)
JPEG = b"\xff\xd8\xff\xe0" + bytes(16)
CASES = {
    "avif": ({"modelspec.thumbnail": _url("image/avif", AVIF)}, ("image/avif", AVIF)),
    "svg": ({"modelspec.thumbnail": _url("image/svg+xml", SVG)}, None),
    "bmp": ({"modelspec.thumbnail": _url("image/bmp", b"BM" + bytes(40))}, None),
    "jpg_alias": ({"modelspec.thumbnail": _url("image/jpg", JPEG)}, ("image/jpeg", JPEG)),
    "empty": ({"modelspec.thumbnail": "data:image/png;base64,"}, None),
    "bad_base64": ({"modelspec.thumbnail": "data:image/png;base64,abc"}, None),
    "svg_then_ssmd_png": ({"modelspec.thumbnail": _url("image/svg+xml", SVG), "ssmd_cover_images": _ssmd(PNG)},
                          ("image/png", PNG)),
    "ssmd_webp": ({"ssmd_cover_images": _ssmd(WEBP, PNG)}, ("image/webp", WEBP)),
    "ssmd_avif": ({"ssmd_cover_images": _ssmd(AVIF)}, ("image/avif", AVIF)),
    "ssmd_unknown": ({"ssmd_cover_images": _ssmd(b"not an image at all")}, None),
    "ssmd_not_json": ({"ssmd_cover_images": "[nope"}, None),
}


@pytest.fixture
def client(app, library):
    for i, (name, (meta, _)) in enumerate(CASES.items()):
        write_lora(library / f"{name}.safetensors", seed=i, metadata=meta)
    scan(app)
    with TestClient(create_app(app)) as c:
        yield c


def test_the_cover_fact_and_the_cover_route_agree(client):
    for name, (_, served) in CASES.items():
        entry = client.get(f"{P}/loras/{name}").json()
        r = client.get(f"{P}/loras/{name}/cover")
        if served is None:
            assert entry["cover"] is None and r.status_code == 404 and r.json()["error"]["code"] == "not_found", name
        else:
            got = (entry["cover"], r.status_code, r.headers["content-type"], r.content)
            assert got == (served[0], 200, *served), name
    listed = {e["name"]: e["cover"] for e in client.get(f"{P}/loras", params={"fields": "name,cover"}).json()["items"]}
    assert listed == {name: served and served[0] for name, (_, served) in CASES.items()}


def test_covers_stored_before_the_one_reader_are_brought_in_line(app, library, db_url):
    """Migration 0009: a type that is never served is cleared, image/jpg is named image/jpeg."""
    from sqlalchemy import text

    from lora_manager.storage.engine import make_engine, migrate

    for name in ("a", "b", "c"):
        write_lora(library / f"{name}.safetensors", seed=ord(name),
                   metadata={"modelspec.thumbnail": _url("image/png", PNG)})
    scan(app)
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            for name, mime in (("a", "image/svg+xml"), ("b", "image/jpg")):
                conn.execute(text("UPDATE loras SET cover_mime = :m WHERE prompt_name = :n"), {"m": mime, "n": name})
            # back to 0008: the tables of later migrations go too (0010: Civitai's records; 0011: downloads)
            for table in ("civitai_models", "civitai_versions", "civitai_lookups", "civitai_update_models",
                          "civitai_lora_updates", "civitai_downloads", "file_locations", "library_hosts",
                          "library_roots"):  # and 0015's: several hosts
                conn.execute(text(f"DROP TABLE {table}"))
            conn.execute(text("UPDATE alembic_version SET version_num = '0008'"))
        migrate(engine)
        with engine.connect() as conn:
            rows = dict(conn.execute(text("SELECT prompt_name, cover_mime FROM loras")).all())
    finally:
        engine.dispose()
    assert rows == {"a": None, "b": "image/jpeg", "c": "image/png"}
