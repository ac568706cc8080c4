"""Property-based checks of every documented route (schemathesis, bounded examples),
and the API table in docs/api.md kept equal to the routes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from lora_manager.api.routes import PREFIX
from lora_manager.api.standalone import create_app
from lora_manager.app import build
from lora_manager.settings import Settings

from .loras import write_lora

README = Path(__file__).resolve().parent.parent / "docs" / "api.md"


@pytest.fixture(scope="module")
def api_app(tmp_path_factory):
    root = tmp_path_factory.mktemp("lib")
    write_lora(root / "alpha.safetensors", metadata={"modelspec.trigger_phrase": "alpha"})
    write_lora(root / "sub" / "beta.safetensors", family="xl", seed=1)
    (root / "beta.preview.png").write_bytes(b"\x89PNG")
    (root / "broken.safetensors").write_bytes(b"nope")
    data = tmp_path_factory.mktemp("data")
    core = build(Settings(lora_dirs=[str(root)], data_dir=str(data), db_url=f"sqlite:///{data}/db.sqlite"))
    core.scan(wait_hashes=True)
    yield create_app(core)
    core.close()


@pytest.fixture(scope="module")
def api_schema(api_app):
    return schemathesis.openapi.from_asgi("/openapi.json", api_app).exclude(path=f"{PREFIX}/events")


def _operations(schema):
    for result in schema.get_all_operations():
        yield result.ok()


def test_no_route_ever_answers_a_server_error(api_schema):
    """Every operation, 25 generated requests each, valid and invalid; no 5xx,
    status codes and bodies as documented."""
    from hypothesis import given
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

    checked = []
    calls = []
    for operation in _operations(api_schema):

        @given(operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None, derandomize=True)
        def run(case):
            calls.append(case)
            case.call_and_validate(checks=[not_a_server_error, status_code_conformance, response_schema_conformance])

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
