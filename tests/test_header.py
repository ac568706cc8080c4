"""Header reading: only 8 + N bytes, clear errors for every kind of broken file."""

from __future__ import annotations

import pytest

from lora_manager.errors import BrokenFile
from lora_manager.library.header import MAX_HEADER_BYTES, read_header

from .loras import write_lora


def test_reads_metadata_and_shapes_from_a_real_file(tmp_path):
    path = write_lora(tmp_path / "a.safetensors", family="xl", metadata={"ss_output_name": "alias", "x": "y"})
    h = read_header(path)
    assert h.metadata["ss_output_name"] == "alias"
    assert h.tensors["lora_te2_text_model_encoder_layers_0_mlp_fc1.lora_down.weight"] == [4, 1280]
    assert len(h.digest) == 64


def test_never_reads_tensor_data(tmp_path, monkeypatch):
    path = write_lora(tmp_path / "a.safetensors")
    reads = []
    real_open = open

    class Spy:
        def __init__(self, f):
            self.f = f

        def read(self, n=-1):
            reads.append(n)
            return self.f.read(n)

        def __getattr__(self, k):
            return getattr(self.f, k)

        def __enter__(self):
            return self

        def __exit__(self, *a):
            self.f.close()

    monkeypatch.setattr("builtins.open", lambda *a, **k: Spy(real_open(*a, **k)))
    h = read_header(path)
    assert reads == [8, h.length] and -1 not in reads


def _h(body: bytes) -> bytes:
    return len(body).to_bytes(8, "little") + body


@pytest.mark.parametrize(
    "raw,msg",
    [
        ((MAX_HEADER_BYTES + 1).to_bytes(8, "little") + b"{}", "absurd"),
        ((0).to_bytes(8, "little"), "length is 0"),
        ((100).to_bytes(8, "little") + b"{}", "past the end"),
        ((2).to_bytes(8, "little") + b"[]", "not a JSON object"),
        (_h(b'{"m": "x"}'), "not an object"),
        (_h(b'{"__metadata__": [1, 2]}'), "__metadata__"),
        (_h(b'{"t": {"shape": [1], "data_offsets": [0, 99]}}'), "past the end"),
        (_h(b'{"t": {"shape": [1]}}'), "malformed"),
        (_h(b'{"\xff": 1}'), "not valid JSON"),
        (_h(b'{"a": 1'), "not valid JSON"),
    ],
)
def test_broken_headers_raise_a_clear_error(tmp_path, raw, msg):
    path = tmp_path / "b.safetensors"
    path.write_bytes(raw)
    with pytest.raises(BrokenFile, match=msg):
        read_header(str(path))


def test_non_string_metadata_values_are_coerced(tmp_path):
    header = b'{"__metadata__": {"n": 5, "d": {"a": 1}, "s": "x", "z": null}}'
    path = tmp_path / "c.safetensors"
    path.write_bytes(len(header).to_bytes(8, "little") + header)
    assert read_header(str(path)).metadata == {"n": "5", "d": '{"a":1}', "s": "x"}
