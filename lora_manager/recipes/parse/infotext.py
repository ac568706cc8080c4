"""SDNext and A1111 infotext: the prompt, `Negative prompt: ...`, then one line of `Key: value` pairs.

A1111 writes `Lora hashes: "name: 12-hex, ..."` (tensor hash, AutoV3); SDNext writes `LoRA networks: a, b`
and, with its option on, `LoRA hashes: h1, h2` (8-hex tensor hashes) in the same order. The stack itself
is the prompt's `<lora:...>` tags; they leave the prompt and become the recipe's LoRAs.
"""

from __future__ import annotations

import re
from typing import Any

from ...usage.prompts import TAG, parse_loras
from . import Parsed

KEY = re.compile(r"^\s*([A-Za-z][\w \-/().]{0,60}?):\s*(.*)$", re.S)
SIZE = re.compile(r"^(\d{1,5})\s*x\s*(\d{1,5})$")
HEX = re.compile(r"^[0-9a-fA-F]{8,64}$")
NUMBERS = {"Steps": ("steps", int), "CFG scale": ("cfg_scale", float), "Seed": ("seed", int)}
TEXTS = {"Sampler": "sampler", "Schedule type": "scheduler", "Scheduler": "scheduler", "Model": "checkpoint"}
OWN = {"Size", "Model hash", "Lora hashes", "LoRA hashes", "LoRA networks", "Hashes", "Civitai resources",
       "Civitai metadata", *NUMBERS, *TEXTS}


def split(text: str) -> tuple[str, str, dict[str, str]]:
    """(prompt, negative prompt, the parameters line's pairs) of an infotext."""
    lines = text.replace("\r\n", "\n").strip().split("\n")
    params: dict[str, str] = {}
    if lines:
        pairs = _pairs(lines[-1])
        if len(pairs) >= 3:
            params = pairs
            lines = lines[:-1]
    prompt_lines, negative_lines, in_negative = [], [], False
    for line in lines:
        if line.startswith("Negative prompt:"):
            in_negative = True
            line = line[len("Negative prompt:"):]
        (negative_lines if in_negative else prompt_lines).append(line)
    return "\n".join(prompt_lines).strip(), "\n".join(negative_lines).strip(), params


def _segments(line: str) -> list[str]:
    """The line cut at commas outside quotes and brackets (JSON values stay whole)."""
    out, start, depth, quoted, escaped = [], 0, 0, False, False
    for i, ch in enumerate(line):
        if escaped:
            escaped = False
        elif ch == "\\" and quoted:
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif not quoted and ch in "[{":
            depth += 1
        elif not quoted and ch in "]}":
            depth = max(0, depth - 1)
        elif not quoted and depth == 0 and ch == ",":
            out.append(line[start:i])
            start = i + 1
    out.append(line[start:])
    return out


def _pairs(line: str) -> dict[str, str]:
    """`Key: value` pairs; a piece without a key continues the value before it (`LoRA networks: a, b`)."""
    out: dict[str, str] = {}
    last = None
    for seg in _segments(line):
        m = KEY.match(seg)
        if m:
            last = m.group(1).strip()
            out.setdefault(last, m.group(2).strip())
        elif last is not None and seg.strip():
            out[last] = f"{out[last]}, {seg.strip()}"
    for key, value in out.items():
        if len(value) >= 2 and value[0] == value[-1] == '"':
            out[key] = re.sub(r"\\(.)", r"\1", value[1:-1])
    return out


def strip_tags(prompt: str) -> str:
    """The prompt without its `<lora:...>` tags, commas and spaces tidied."""
    text = TAG.sub("", prompt)
    text = re.sub(r"[ \t]*,([ \t]*,)+", ",", text)
    text = re.sub(r"[ \t]{2,}", " ", text)
    return "\n".join(line.strip(" ,\t") for line in text.split("\n")).strip()


def stack(prompt: str) -> list[dict[str, Any]]:
    """The prompt's `<lora:...>` tags as the recipe's LoRAs."""
    out = []
    for ref in parse_loras(prompt)[:64]:
        weight = ref.weight if ref.weight is not None else 1.0
        item: dict[str, Any] = {"name": ref.name[:300], "weight": weight}
        if ref.te is not None and ref.te != weight:
            item["te"] = ref.te
        if ref.blocks:
            item["blocks"] = ":".join(f"{k}={v}" for k, v in ref.blocks.items())
        out.append(item)
    return out


def lora_hashes(params: dict[str, str]) -> dict[str, str]:
    """Name -> tensor-hash prefix, from A1111's `Lora hashes` or SDNext's `LoRA networks` + `LoRA hashes`."""
    out: dict[str, str] = {}
    raw = params.get("Lora hashes") or params.get("LoRA hashes") or ""
    names = [n.strip() for n in (params.get("LoRA networks") or "").split(",") if n.strip()]
    for i, item in enumerate(p.strip() for p in raw.split(",") if p.strip()):
        name, sep, value = item.rpartition(":")
        value = value.strip()
        if not sep:
            name = names[i] if i < len(names) else ""
        if name.strip() and HEX.match(value):
            out[name.strip()] = value.lower()
    return out


def parse(text: str) -> Parsed:
    from . import civitai

    prompt, negative, params = split(text)
    fields: dict[str, Any] = {"prompt": strip_tags(prompt), "negative_prompt": strip_tags(negative),
                              "loras": stack(prompt)}
    notes: list[str] = []
    for key, (name, kind) in NUMBERS.items():
        if key in params:
            try:
                fields[name] = kind(float(params[key])) if kind is int else kind(params[key])
            except (ValueError, OverflowError):
                notes.append(f"'{key}: {params[key][:40]}' is not a number")
    for key, name in TEXTS.items():
        if params.get(key) and name not in fields:
            fields[name] = params[key][:64 if name != "checkpoint" else 300]
    m = SIZE.match(params.get("Size", ""))
    if m:
        fields["width"], fields["height"] = int(m.group(1)), int(m.group(2))
    if HEX.match(params.get("Model hash", "")):
        fields["checkpoint_hash"] = params["Model hash"].lower()
    hashes = lora_hashes(params)
    for lora in fields["loras"]:
        if lora["name"] in hashes:
            lora["tensor_sha256"] = hashes[lora["name"]]
    fields["params"] = dict(list({k[:100]: v[:2000] for k, v in params.items() if k not in OWN}.items())[:60])
    dialect = "sdnext" if ("LoRA networks" in params or params.get("App", "").startswith("SD.Next")) else "a1111"
    if "Civitai resources" in params or "Hashes" in params:
        dialect = "civitai"
        civitai.add(fields, params, notes)
    return Parsed(dialect, fields, notes)
