"""The Civitai client against the stand-in: answers, ETags, retries, Retry-After, timeouts, the key's privacy."""

from __future__ import annotations

import logging
import threading

import pytest

from lora_manager.civitai.client import CivitaiClient, CivitaiUnavailable, Stopped, retry_after

from .civitai_standin import CivitaiStandin, make_file, make_model, make_version

SHA = "ab" * 32
KEY = "sk-secret-key-123"


@pytest.fixture
def civ():
    with CivitaiStandin() as standin:
        version = make_version(11, 7, [make_file("alice.safetensors", SHA)],
                               images=[make_image_url(standin)])
        standin.add(make_model(7, [version]), version)
        yield standin


def make_image_url(standin):
    from .civitai_standin import make_image

    return make_image(standin.image("a.png"))


def client(civ, **kw) -> CivitaiClient:
    kw = {"rate": 1000.0, "timeout": 5.0, "backoff_s": 0.01, **kw}
    return CivitaiClient(civ.url, **kw)


def test_reads_by_hash_by_id_and_model_and_a_404_is_an_answer(civ):
    c = client(civ)
    found = c.version_by_hash(SHA)
    assert found.status == "ok" and found.data["id"] == 11 and found.data["files"][0]["hashes"]["SHA256"] == SHA.upper()
    assert c.version_by_hash(SHA[:10]).data["id"] == 11  # AutoV2
    assert c.version(11).data["modelId"] == 7 and c.model(7).data["creator"]["username"] == "someone"
    assert c.version_by_hash("cd" * 32).status == "not_found" and c.model(999).status == "not_found"
    assert c.requests == 6 and c.retries == 0
    c.close()


def test_an_etag_makes_the_second_read_a_304(civ):
    c = client(civ)
    first = c.version(11)
    assert first.etag
    again = c.version(11, etag=first.etag)
    assert again.status == "not_modified" and again.data is None
    civ.versions[11] = {**civ.versions[11], "name": "v1.1"}
    changed = c.version(11, etag=first.etag)
    assert changed.status == "ok" and changed.data["name"] == "v1.1" and changed.etag != first.etag


def test_429_with_retry_after_500s_and_timeouts_are_retried(civ):
    c = client(civ, timeout=1.5)  # wide margins: a loaded machine answers in well under 1.5 s, the fault in 4
    civ.slow_s = 4.0
    civ.fail("by-hash", 429, retry_after=0.05)
    civ.fail("by-hash", 500, "timeout")
    assert c.version_by_hash(SHA).status == "ok"
    assert c.retries == 3 and c.requests == 4
    assert len(civ.paths("by-hash")) == 4


def test_every_try_failing_is_an_error_without_the_key(civ, caplog):
    caplog.set_level(logging.DEBUG)
    c = client(civ, key=KEY, attempts=3)
    civ.fail("models/7", 500, 500, 503)
    with pytest.raises(CivitaiUnavailable) as err:
        c.model(7)
    assert "after 3 tries" in err.value.message and "HTTP 503" in err.value.message
    assert KEY not in err.value.message and KEY not in repr(err.value.details) and KEY not in repr(c)
    assert KEY not in caplog.text


def test_unreachable_civitai_is_an_error_that_names_it():
    with CivitaiStandin() as standin:
        url = standin.url
    c = CivitaiClient(url, rate=1000.0, timeout=1.0, attempts=2, backoff_s=0.01)
    with pytest.raises(CivitaiUnavailable) as err:
        c.version(1)
    assert url in err.value.message and "cannot connect" in err.value.message


def test_the_key_goes_to_the_api_only_and_a_refusal_names_the_setting(civ):
    c = client(civ, key=KEY)
    c.version_by_hash(SHA)
    chunks: list[bytes] = []
    assert c.download(civ.url + "/images/a.png", chunks.append, 1 << 20) == "image/png" and chunks
    sent = {path: headers.get("authorization") for _, path, headers in civ.requests}
    assert sent[f"/api/v1/model-versions/by-hash/{SHA.upper()}"] == f"Bearer {KEY}"
    assert sent["/images/a.png"] is None
    civ.fail("models", 401)
    with pytest.raises(CivitaiUnavailable) as err:
        c.model(7)
    assert "LORA_MANAGER_CIVITAI_KEY" in err.value.message and KEY not in err.value.message


def test_a_download_over_its_limit_stops(civ):
    civ.image("big.png", b"x" * 5000)
    with pytest.raises(CivitaiUnavailable, match="over"):
        client(civ).download(civ.url + "/images/big.png", lambda b: None, 1000)


def test_a_stop_ends_a_wait_for_a_turn_or_a_retry(civ):
    stop = threading.Event()
    c = client(civ, rate=0.01, stop=stop)
    c.version(11)  # takes the first slot; the next is 100 s away
    stop.set()
    with pytest.raises(Stopped):
        c.version(11)
    c2 = client(civ, stop=stop, backoff_s=50)
    stop.clear()
    civ.fail("models", 500)
    threading.Timer(0.2, stop.set).start()
    with pytest.raises(Stopped):
        c2.model(7)


def test_retry_after_reads_seconds_and_dates():
    assert retry_after("3") == 3.0 and retry_after("junk") is None and retry_after(None) is None
    assert retry_after("100000") == 120.0  # capped
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
