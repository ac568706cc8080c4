"""Each shape is declared once and the rest derive from it: the entry record (catalog/entry.py) gives
the store its columns and builders, the API its schema and `fields` selector, the tab its fields;
the scan report and the job request are their dataclasses; the families come with labels."""

from __future__ import annotations

import dataclasses
import inspect
import re
from pathlib import Path

from fastapi import Query

from lora_manager.api import schemas as S
from lora_manager.api.handlers import bind
from lora_manager.api.list_route import fields_pattern
from lora_manager.catalog import entry
from lora_manager.catalog.vocabulary import FAMILY_LABELS, vocabulary
from lora_manager.jobs.queue import JobRequest
from lora_manager.library.basemodel import FAMILIES
from lora_manager.storage.base import L
from lora_manager.storage.entries import COMPUTED, RAW_COLUMNS, USER_LABELS
from lora_manager.storage.hash_models import HASH_COLUMNS
from lora_manager.sync.scanner import ScanReport

ROOT = Path(__file__).resolve().parent.parent


def test_every_field_reads_columns_that_exist_and_raw_text_reaches_only_raw_fields():
    known = {c.name for c in L.c} | set(HASH_COLUMNS) | set(USER_LABELS) | set(COMPUTED) | {"tags"}
    for f in entry.ENTRY:
        assert set(f.columns) <= known, f.name
        assert (f.build is None) == (f.shown == "detail"), f.name
        if not f.raw:  # with raw=True these columns come as JSON text: only a pass-through field may read them
            assert not set(f.columns) & RAW_COLUMNS or f.shown == "detail", f.name


def test_the_field_sets_nest_and_the_selector_takes_exactly_the_record():
    assert set(entry.CARD_FIELDS) <= set(entry.LIST_FIELDS) <= set(entry.ALL_FIELDS)
    assert entry.DETAIL_FIELDS == ("metadata", "duplicates", "civitai")
    pattern = re.compile(fields_pattern())
    assert all(pattern.match(name) for name in entry.ALL_FIELDS)
    assert pattern.match(",".join(entry.LIST_FIELDS)) and not pattern.match("name,metadata")


def test_the_api_schema_is_the_record():
    assert list(S.Lora.model_fields) == list(entry.ALL_FIELDS)
    assert list(S.LoraDetail.model_fields) == [*entry.ALL_FIELDS, *entry.DETAIL_FIELDS]
    for f in entry.ENTRY:
        assert S.LoraDetail.model_fields[f.name].description == f.description, f.name


def test_scan_report_and_job_request_are_their_dataclasses():
    counts = [f.name for f in dataclasses.fields(ScanReport)]
    assert list(S.ScanReport.model_fields) == ["status", "error", *counts, "finished_at", "reason"]
    assert S.ScanReport.model_fields["other"].description.startswith("files that are not LoRAs")
    assert list(S.JobCreate.model_fields) == [f.name for f in dataclasses.fields(JobRequest)]
    assert S.JobCreate.model_fields["steps"].metadata and S.JobCreate(steps=150).steps == 150
    assert JobRequest(**S.JobCreate(prompt="x").model_dump()) == JobRequest(prompt="x")


def test_every_family_has_a_label_and_no_script_keeps_its_own_list():
    assert list(FAMILY_LABELS) == list(FAMILIES)
    assert [f["id"] for f in vocabulary()["families"]] == list(FAMILIES)
    for path in (ROOT / "javascript").glob("*.js"):
        text = path.read_text(encoding="utf-8")
        assert "'chroma'" not in text and "'prompt_name,alias" not in text, path.name


def test_bind_hides_the_services_from_the_request():
    def handler(service, other, key: str = Query("k"), n: int = 1):
        return service, other, key, n

    bound = bind(handler, "svc", "more")
    assert list(inspect.signature(bound).parameters) == ["key", "n"]
    assert bound(key="a", n=2) == ("svc", "more", "a", 2)
