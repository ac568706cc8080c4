"""Property-based checks of every documented route (schemathesis, bounded examples),
and the API table in docs/api.md kept equal to the routes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from lora_manager.api.routes import PREFIX
from lora_manager.standalone.app import create_app
from lora_manager.app import build
from lora_manager.settings import Settings

from .loras import write_lora

README = Path(__file__).resolve().parent.parent / "docs" / "api.md"
_ROOTS: list[str] = []  # the library roots of the apps below, the newest last


@pytest.fixture(scope="module")
def api_app(tmp_path_factory):
    yield from _library_app(tmp_path_factory)


@pytest.fixture
def fresh_app(tmp_path_factory):
    """Its own library: the fuzzing above may have moved or trashed the shared one's LoRAs."""
    yield from _library_app(tmp_path_factory)


def _library_app(tmp_path_factory):
    root = tmp_path_factory.mktemp("lib")
    write_lora(root / "alpha.safetensors", metadata={"modelspec.trigger_phrase": "alpha"})
    write_lora(root / "sub" / "beta.safetensors", family="xl", seed=1)
    (root / "beta.preview.png").write_bytes(b"\x89PNG")
    (root / "broken.safetensors").write_bytes(b"nope")
    data = tmp_path_factory.mktemp("data")
    # Civitai at a closed local port: a fuzzed POST /civitai/fetch or /civitai/downloads never reaches the internet
    core = build(Settings(lora_dirs=[str(root)], data_dir=str(data), db_url=f"sqlite:///{data}/db.sqlite",
                          civitai_url="http://127.0.0.1:9", civitai_previews=False, civitai_sidecars=False))
    core.scan(wait_hashes=True)
    _ROOTS.append(str(root))
    yield create_app(core)
    core.close()


@pytest.fixture(scope="module")
def api_schema(api_app):
    # The recipe uploads take an image's raw bytes: any bytes fit the schema, and what they must carry (generation
    # parameters, a recipe chunk) no schema can say; test_recipes_api.py and test_recipes_parse.py test them.
    uploads = [f"{PREFIX}/recipes/from-image", f"{PREFIX}/recipes/import"]
    return schemathesis.openapi.from_asgi("/openapi.json", api_app).exclude(path=[f"{PREFIX}/events", *uploads])


def _operations(schema):
    for result in schema.get_all_operations():
        yield result.ok()


def _real_keys(case) -> None:
    """Aim at LoRAs that exist, so that a route is exercised past its 404; leave out what no schema
    can say: a cursor only this server hands out, a weight range checked against the stored one,
    an absolute folder that must lie inside this server's roots, an uploaded archive's bytes (any binary
    is schema-valid; the archive's own format is tested in test_transfer_hostile.py)."""
    if "key" in (case.path_parameters or {}):
        case.path_parameters["key"] = "alpha"
    if case.query:
        case.query.pop("cursor", None)
    if isinstance(case.body, dict):
        case.body.pop("weight_min", None)
        if isinstance(case.body.get("folder"), str) and case.body["folder"].startswith("/"):
            case.body["folder"] = "sub"
    if isinstance(case.body, (bytes, str)) and case.operation.path == f"{PREFIX}/import":
        case.body = _EMPTY_ARCHIVE
    if isinstance(case.body, (bytes, str)) and case.operation.path == f"{PREFIX}/loras/{{key}}/preview":
        case.body = _PNG  # any bytes are schema-valid; hostile images are tested in test_actions_api.py
    if isinstance(case.body, dict) and isinstance(case.body.get("root"), str):
        case.body["root"] = _ROOTS[-1]  # a root only this server knows
    if isinstance(case.body, dict) and case.body.get("action") == "move" and isinstance(case.body.get("value"), str) \
            and case.body["value"].startswith("/"):
        case.body["value"] = "sub"
    if isinstance(case.body, (bytes, str)) and case.operation.path == f"{PREFIX}/generation/init-images":
        case.body = _PNG  # any binary is schema-valid; only an image is taken (hostile ones: test_generation)


def _empty_archive() -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("manifest.json",
                    '{"format": "lora-manager-export", "version": 1, "created": "2026-01-01T00:00:00Z", '
                                     '"app_version": "0", "parts": []}')
    return buf.getvalue()


_EMPTY_ARCHIVE = _empty_archive()


def _png() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (2, 2)).save(buf, "PNG")
    return buf.getvalue()


_PNG = _png()


def test_no_route_ever_answers_a_server_error(api_schema):
    """Every operation, 25 generated requests each, valid and invalid, at LoRAs that exist: no 5xx,
    status codes and bodies as documented, what the schema allows is accepted and what it forbids
    is refused, unsupported methods answer 405 with every allowed method."""
    from hypothesis import given
    from schemathesis.checks import (negative_data_rejection, not_a_server_error, positive_data_acceptance,
                                     unsupported_method)
    from schemathesis.specs.openapi.checks import (allow_header_conformance, response_schema_conformance,
                                                   status_code_conformance)

    checks = [not_a_server_error, status_code_conformance, response_schema_conformance, positive_data_acceptance,
              negative_data_rejection, unsupported_method, allow_header_conformance]
    checked = []
    calls = []
    for operation in _operations(api_schema):

        @given(operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None,
                  derandomize=True)
        def run(case):
            calls.append(case)
            _real_keys(case)
            case.call_and_validate(checks=checks)

        run()
        checked.append(operation.label)
    assert len(checked) >= 15, checked
    assert len(calls) >= 5 * len(checked), "schemathesis generated too few requests"


def _readme_routes() -> set[tuple[str, str]]:
    rows = re.findall(r"^\|\s*`?(GET|POST|PATCH|PUT|DELETE)`?\s*\|\s*`([^`]+)`", README.read_text(), re.M)
    return {(m, p) for m, p in rows}


def test_readme_api_table_lists_every_route(api_app):
    spec = api_app.openapi()
    routes = {(m.upper(), path) for path, ops in spec["paths"].items() for m in ops}
    documented = _readme_routes()
    assert routes - documented == set(), "routes missing from the table in docs/api.md"
    assert documented - routes == set(), "docs/api.md documents routes that do not exist"


def test_the_contract_at_its_edges(fresh_app):
    """The mismatches a schemathesis probe found, each pinned: the schema says what the handlers accept."""
    from fastapi.testclient import TestClient

    c = TestClient(fresh_app)
    p = PREFIX
    for bad in ("0.5", "1700000000", "2026-01-01", "yesterday"):  # numbers were read as Unix times
        for route in ("/usage", "/analytics/summary", "/analytics/loras", "/analytics/events.csv"):
            assert c.get(f"{p}{route}", params={"until": bad}).status_code == 422, (route, bad)
    assert c.get(f"{p}/usage", params={"since": "2026-02-30T00:00"}).status_code == 200  # rolls over to 2 March
    assert c.get(f"{p}/analytics/summary", params={"tz": "Mars/Olympus"}).status_code == 422
    assert c.get(f"{p}/loras", params={"fields": "name,nonsense"}).status_code == 422
    assert c.get(f"{p}/loras", params={"limit": 5000}).json()["limit"] == 1000
    assert c.patch(f"{p}/loras/alpha", json={"favorite": True, "tags": ["x"]}).status_code == 200
    reset = c.patch(f"{p}/loras/alpha", json={"favorite": None, "tags": None}).json()
    assert (reset["favorite"], reset["tags"]) == (False, [])
    assert c.patch(f"{p}/loras/alpha", json={"tags": [" "]}).status_code == 422
    assert c.post(f"{p}/loras/bulk", json={"keys": ["alpha"], "action": "tag", "value": None}).status_code == 422
    assert c.post(f"{p}/loras/alpha/move", json={}).status_code == 400
    assert c.post(f"{p}/loras/alpha/move", json={"name": ""}).status_code == 422
    assert c.post(f"{p}/loras/alpha/move", json={"folder": "../out"}).status_code == 422
    assert c.post(f"{p}/jobs", json={"prompt": "  "}).status_code == 422
    allow = c.request("OPTIONS", f"{p}/loras/alpha")
    assert allow.status_code == 405 and set(allow.headers["allow"].split(", ")) == {"GET", "PATCH", "DELETE"}
