"""detect_network: header first, tensor names and shapes otherwise; garbage never raises."""

from __future__ import annotations

import json

import pytest

from lora_manager.library.network import detect_network

SD15_MODS = (
    "lora_te_text_model_encoder_layers_0_self_attn_q_proj",
    "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k",
    "lora_unet_up_blocks_3_attentions_2_transformer_blocks_0_ff_net_2",
)


def kohya(r: int = 16, conv_kernel: int | None = None, extra: str | None = None) -> dict[str, list[int]]:
    t: dict[str, list[int]] = {}
    for m in SD15_MODS:
        t[f"{m}.lora_down.weight"] = [r, 768]
        t[f"{m}.lora_up.weight"] = [768, r]
        t[f"{m}.alpha"] = []
        if extra:
            t[f"{m}.{extra}"] = [1, 768]
    # proj_in is a 1x1 conv in SD1: 4-D, but not LoCon.
    t["lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight"] = [r, 320, 1, 1]
    t["lora_unet_down_blocks_0_attentions_0_proj_in.lora_up.weight"] = [320, r, 1, 1]
    if conv_kernel:
        t["lora_unet_down_blocks_0_resnets_0_conv1.lora_down.weight"] = [r // 2 or 1, 320, conv_kernel, conv_kernel]
        t["lora_unet_down_blocks_0_resnets_0_conv1.lora_up.weight"] = [320, r // 2 or 1, 1, 1]
    return t


def peft(r: int = 4, prefix: str = "transformer.transformer_blocks.0.attn.") -> dict[str, list[int]]:
    t = {}
    for m in ("to_q", "to_k", "to_v", "to_out.0"):
        t[f"{prefix}{m}.lora_A.weight"] = [r, 3072]
        t[f"{prefix}{m}.lora_B.weight"] = [3072, r]
    return t


def loha(r: int = 8) -> dict[str, list[int]]:
    t = {}
    for m in SD15_MODS:
        t[f"{m}.hada_w1_a"] = [320, r]  # [out, rank]: shape[0] is NOT the rank
        t[f"{m}.hada_w1_b"] = [r, 768]
        t[f"{m}.hada_w2_a"] = [320, r]
        t[f"{m}.hada_w2_b"] = [r, 768]
        t[f"{m}.alpha"] = []
    return t


def lokr(factor_rank: int | None = 4) -> dict[str, list[int]]:
    t = {}
    for m in SD15_MODS:
        t[f"{m}.lokr_w1"] = [4, 8]
        if factor_rank:
            t[f"{m}.lokr_w2_a"] = [80, factor_rank]
            t[f"{m}.lokr_w2_b"] = [factor_rank, 96]
        else:
            t[f"{m}.lokr_w2"] = [80, 96]
        t[f"{m}.alpha"] = []
    return t


def named(suffixes: tuple[str, ...], shape: list[int] | None = None) -> dict[str, list[int]]:
    return {f"{m}.{s}": list(shape or [8, 8]) for m in SD15_MODS for s in suffixes}


def meta(module: str | None = None, args: object = None, dim: object = None, alpha: object = None) -> dict:
    m = {}
    if module is not None:
        m["ss_network_module"] = module
    if args is not None:
        m["ss_network_args"] = args if isinstance(args, str) else json.dumps(args)
    if dim is not None:
        m["ss_network_dim"] = dim
    if alpha is not None:
        m["ss_network_alpha"] = alpha
    return m


# ------------------------------------------------------------ header

@pytest.mark.parametrize("module, args, kind", [
    ("networks.lora", None, "LoRA"),
    ("networks.lora", {"conv_dim": "8", "conv_alpha": "1"}, "LoCon"),
    ("networks.lora", {"conv_dim": "None"}, "LoRA"),
    ("networks.lora", {"conv_dim": "0"}, "LoRA"),
    ("networks.lora_flux", {"train_blocks": "all"}, "LoRA"),
    ("networks.lora_sd3", None, "LoRA"),
    ("networks.lora", {"dora_wd": "True"}, "DoRA"),
    ("lycoris.kohya", {"algo": "lora", "conv_dim": "4"}, "LoCon"),
    ("lycoris.kohya", {"algo": "locon"}, "LoCon"),
    ("lycoris.kohya", {"algo": "LoHa"}, "LoHa"),
    ("lycoris.kohya", {"algo": "lokr", "factor": "8"}, "LoKr"),
    ("lycoris.kohya", {"algo": "dylora"}, "DyLoRA"),
    ("lycoris.kohya", {"algo": "ia3"}, "IA3"),
    ("lycoris.kohya", {"algo": "glora"}, "GLoRA"),
    ("lycoris.kohya", {"algo": "oft"}, "OFT"),
    ("lycoris.kohya", {"algo": "diag-oft"}, "OFT"),
    ("lycoris.kohya", {"algo": "boft"}, "BOFT"),
    ("lycoris.kohya", {"algo": "full"}, "Full"),
    ("lycoris.kohya", {"algo": "locon", "dora_wd": "true"}, "DoRA"),
    ("lycoris.kohya", {"algo": "lokr", "dora_wd": True}, "LoKr"),  # still structurally LoKr
    ("lycoris.kohya", {"conv_dim": "4"}, "LoCon"),  # LyCORIS defaults algo to "lora"
    ("lycoris.kohya", None, "LoCon"),
    ("networks.dylora", {"unit": "4"}, "DyLoRA"),
    ("networks.oft", None, "OFT"),
    (" Networks.LoRA ", None, "LoRA"),
])
def test_type_from_header(module, args, kind):
    assert detect_network(meta(module, args), {})[0] == kind


@pytest.mark.parametrize("module, args, tensors, kind", [
    ("lycoris.kohya", {"algo": "some-new-algo"}, loha(), "LoHa"),  # unknown algo: names decide
    ("lycoris.kohya", "{not json", kohya(), "LoCon"),  # bad args: LyCORIS default
    ("networks.unknown_thing", None, lokr(), "LoKr"),
    ("", None, kohya(), "LoRA"),
    ("networks.lora", None, kohya(extra="dora_scale"), "DoRA"),  # a fork that saved dora_scale
])
def test_header_falls_back_to_tensors(module, args, tensors, kind):
    assert detect_network(meta(module, args), tensors)[0] == kind


def test_header_type_beats_tensor_names():
    assert detect_network(meta("lycoris.kohya", {"algo": "loha"}), kohya())[0] == "LoHa"


@pytest.mark.parametrize("dim, rank", [
    ("16", 16), ("16.0", 16), (" 32 ", 32), (16, 16), ("0", None), ("-4", None), ("None", None),
    ("abc", None), ("16.5", None), ("nan", None), ("inf", None), ("", None), (True, None), ("9" * 40, None),
])
def test_rank_from_header(dim, rank):
    # No tensors to fall back on, so only the header can answer.
    assert detect_network(meta("networks.lora", dim=dim), {})[1] == rank


@pytest.mark.parametrize("alpha, value", [
    ("8", 8.0), ("0.5", 0.5), ("1e-3", 0.001), ("16.0", 16.0), (4, 4.0),
    ("Dynamic", None), ("nan", None), ("-inf", None), ("", None), ("None", None), ("[1]", None),
    ("1" * 400, None), (None, None), (True, None),
])
def test_alpha_from_header(alpha, value):
    assert detect_network(meta("networks.lora", alpha=alpha), kohya())[2] == value


def test_full_kohya_header():
    m = meta("networks.lora", {"conv_dim": "8", "conv_alpha": "4"}, "32", "16")
    assert detect_network(m, kohya(r=4, conv_kernel=3)) == ("LoCon", 32, 16.0)


def test_bad_header_rank_falls_back_to_shapes():
    assert detect_network(meta("networks.lora", dim="junk"), kohya(r=12)) == ("LoRA", 12, None)


# ------------------------------------------------------------ tensors only

@pytest.mark.parametrize("tensors, kind, rank", [
    pytest.param(kohya(16), "LoRA", 16, id="kohya-lora"),
    pytest.param(kohya(16, conv_kernel=3), "LoCon", 16, id="kohya-locon-3x3"),
    pytest.param(kohya(16, conv_kernel=1), "LoRA", 16, id="kohya-1x1-conv-is-lora"),
    pytest.param(peft(4), "LoRA", 4, id="peft"),
    pytest.param(peft(4, "transformer.single_transformer_blocks.3.attn."), "LoRA", 4, id="peft-flux"),
    pytest.param({**peft(4), "transformer.transformer_blocks.0.attn.to_q.lora_magnitude_vector": [3072]},
                 "DoRA", 4, id="peft-dora"),
    pytest.param(kohya(8, extra="dora_scale"), "DoRA", 8, id="lycoris-dora"),
    pytest.param({
        "unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.processor.to_q_lora.down.weight": [4, 320],
        "unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.processor.to_q_lora.up.weight": [320, 4],
    }, "LoRA", 4, id="old-diffusers-attn-procs"),
    pytest.param(loha(8), "LoHa", 8, id="loha"),
    pytest.param({**loha(8), **named(("dora_scale",))}, "LoHa", 8, id="loha-with-dora"),
    pytest.param(lokr(4), "LoKr", 4, id="lokr-factorised"),
    pytest.param(lokr(None), "LoKr", None, id="lokr-full-w2"),
    pytest.param({"a.lokr_w1_a": [4, 2], "a.lokr_w1_b": [2, 4], "a.lokr_w2": [8, 8]}, "LoKr", 2, id="lokr-w1-ab"),
    pytest.param(named(("oft_blocks",), [4, 80, 80]), "OFT", None, id="oft"),
    pytest.param(named(("oft_diag",), [4, 80, 80]), "OFT", None, id="oft-diag"),
    pytest.param(named(("a1.weight", "a2.weight", "b1.weight", "b2.weight")), "GLoRA", None, id="glora"),
    pytest.param(named(("weight", "on_input"), [320]), "IA3", None, id="ia3"),
    pytest.param(named(("diff", "diff_b")), "Full", None, id="full"),
    pytest.param({**kohya(8), "lora_unet_x.lora_mid.weight": [8, 8, 3, 3]}, "LoCon", 8, id="tucker-locon"),
    pytest.param({}, None, None, id="empty"),
    pytest.param({"model.diffusion_model.input_blocks.0.0.weight": [320, 4, 3, 3]}, None, None, id="checkpoint"),
])
def test_tensors_only(tensors, kind, rank):
    assert detect_network({}, tensors) == (kind, rank, None)


def test_rank_is_the_most_common_and_ties_go_larger():
    t = kohya(8)  # 4 down weights of rank 8
    t.update({f"lora_unet_extra_{i}.lora_down.weight": [32, 320] for i in range(6)})
    assert detect_network({}, t)[1] == 32
    tie = {"a.lora_down.weight": [4, 8], "b.lora_down.weight": [16, 8]}
    assert detect_network({}, tie)[1] == detect_network({}, dict(reversed(tie.items())))[1] == 16


def test_alpha_never_from_tensors():
    assert detect_network({}, kohya())[2] is None


# ------------------------------------------------------------ garbage

@pytest.mark.parametrize("metadata, tensors", [
    (None, None),
    ("meta", ["tensors"]),
    ({"ss_network_module": 5, "ss_network_args": 7, "ss_network_dim": [1], "ss_network_alpha": {}}, {1: [2]}),
    ({"ss_network_module": "lycoris.kohya", "ss_network_args": "[1, 2]"}, {"x.lora_down.weight": None}),
    ({"ss_network_module": "lycoris.kohya", "ss_network_args": '{"algo": 5}'}, {"x.lora_down.weight": []}),
    ({"ss_network_module": "lycoris.kohya", "ss_network_args": "[" * 100_000}, {"x.lora_down.weight": ["a", "b"]}),
    ({"ss_network_module": "networks.lora", "ss_network_args": '{"conv_dim": [3]}'},
     {"x.lora_down.weight": [8, 8, "3", None]}),
    ({"ss_network_module": "networks.lora", "ss_network_args": '"just a string"'}, {"x.lora_down.weight": [0, 8]}),
    ({"ss_network_module": "networks.lora", "ss_network_args": "null"}, {"x.lora_down.weight": [-1, 8]}),
    ({"ss_network_module": "x" * 1_000_000}, {"x.lora_down.weight": [True, 8]}),
])
def test_garbage_never_raises(metadata, tensors):
    kind, rank, alpha = detect_network(metadata, tensors)  # type: ignore[arg-type]
    assert kind is None or isinstance(kind, str)
    assert rank is None or (isinstance(rank, int) and rank > 0)
    assert alpha is None or isinstance(alpha, float)


def test_deeply_nested_args_json():
    deep = '{"algo": ' + "[" * 5000 + "]" * 5000 + "}"
    assert detect_network(meta("lycoris.kohya", deep), loha())[0] == "LoHa"  # unreadable: names decide
    assert detect_network(meta("lycoris.kohya", deep), {})[0] == "LoCon"  # nothing else: LyCORIS default


def test_type_and_base_share_one_read_of_the_names_and_a_stated_header_needs_none(monkeypatch):
    """The names are summarised once per file for both detections (library/tensor_names.py), and
    not at all when the header states type, rank and base."""
    from lora_manager.library import tensor_names
    from lora_manager.library.metadata import normalise
    from lora_manager.library.records import Header

    calls = []
    real = tensor_names.summarise
    monkeypatch.setattr(tensor_names, "summarise", lambda t: calls.append(1) or real(t))
    facts = normalise(Header(0, {}, kohya(8), "d"), [], [], "x.safetensors")
    assert (facts.network_type, facts.rank, facts.base.family, len(calls)) == ("LoRA", 8, "sd1", 1)
    stated = {"ss_network_module": "networks.lora", "ss_network_dim": "8", "ss_base_model_version": "sd_v1"}
    facts = normalise(Header(0, stated, kohya(8), "d"), [], [], "x.safetensors")
    assert (facts.network_type, facts.rank, facts.base.family, len(calls)) == ("LoRA", 8, "sd1", 1)
