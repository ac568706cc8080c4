"""ComfyUI's PNG chunks: `prompt` (the API graph: {node id: {class_type, inputs}}, an input that comes
from another node is [node id, output]) and `workflow` (the UI graph: nodes with `widgets_values`, links).

The sampler node (KSampler, KSamplerAdvanced, SamplerCustom...) is the anchor: its positive and negative
inputs are followed back to the text nodes, its model input back through the LoRA loaders (the stack,
in order from the checkpoint) to the checkpoint loader. Graphs whose nodes we do not know give what
could be found and a note; never an error.
"""

from __future__ import annotations

import os
from typing import Any


from ...library.sidecar_values import loads_or_none
from . import NoParameters, Parsed

SAMPLERS = ("KSampler", "KSamplerAdvanced", "SamplerCustom", "SamplerCustomAdvanced")
LORA_LOADERS = ("LoraLoader", "LoraLoaderModelOnly", "LoraModelLoader")
CHECKPOINTS = ("CheckpointLoaderSimple", "CheckpointLoader", "UNETLoader", "unCLIPCheckpointLoader")
TEXT_NODES = ("CLIPTextEncode", "CLIPTextEncodeSDXL", "CLIPTextEncodeFlux")
LATENTS = ("EmptyLatentImage", "EmptySD3LatentImage", "EmptyHunyuanLatentVideo")
MAX_NODES = 5000
MAX_HOPS = 64




def parse(prompt_text: str | None, workflow_text: str | None) -> Parsed:
    graph = loads_or_none(prompt_text)
    if not isinstance(graph, dict) or not graph:
        graph = from_workflow(loads_or_none(workflow_text))
    if not isinstance(graph, dict) or not graph or len(graph) > MAX_NODES:
        raise NoParameters("the image's ComfyUI chunks are not a graph we can read (bad JSON, or no nodes)")
    nodes = {str(k): v for k, v in graph.items() if isinstance(v, dict) and isinstance(v.get("inputs"), dict)}
    return Graph(nodes).parse()


class Graph:
    def __init__(self, nodes: dict[str, dict[str, Any]]):
        self.nodes = nodes
        self.notes: list[str] = []

    def kind(self, nid: str) -> str:
        return str(self.nodes.get(nid, {}).get("class_type") or "")

    def inputs(self, nid: str) -> dict[str, Any]:
        return self.nodes.get(nid, {}).get("inputs") or {}

    def source(self, value: Any) -> str | None:
        """The node id a linked input comes from."""
        if isinstance(value, list) and len(value) == 2 and str(value[0]) in self.nodes:
            return str(value[0])
        return None

    def text(self, value: Any, hops: int = 0) -> str:
        """A text input, followed through links to the text node (or a primitive) that holds it."""
        if isinstance(value, str):
            return value
        nid = self.source(value)
        if nid is None or hops > MAX_HOPS:
            return ""
        inputs = self.inputs(nid)
        for key in ("text", "text_g", "clip_l", "t5xxl", "string", "value", "conditioning", "positive"):
            if key in inputs:
                found = self.text(inputs[key], hops + 1)
                if found:
                    return found
        return ""

    def parse(self) -> Parsed:
        fields: dict[str, Any] = {"loras": []}
        sampler = next((n for n in sorted(self.nodes, key=_order) if self.kind(n) in SAMPLERS), None)
        if sampler is None:
            self.notes.append("no sampler node (KSampler...) in the graph: settings not read")
        else:
            ins = self.inputs(sampler)
            fields["prompt"] = self.text(ins.get("positive"))[:10_000]
            fields["negative_prompt"] = self.text(ins.get("negative"))[:10_000]
            for key, name, kind in (("seed", "seed", int), ("noise_seed", "seed", int), ("steps", "steps", int),
                                    ("cfg", "cfg_scale", float), ("sampler_name", "sampler", str),
                                    ("scheduler", "scheduler", str)):
                if name not in fields and isinstance(ins.get(key), (int, float, str)):
                    try:
                        fields[name] = kind(ins[key]) if kind is not str else str(ins[key])[:64]
                    except (TypeError, ValueError):
                        pass
            if isinstance(ins.get("denoise"), (int, float)) and ins["denoise"] != 1:
                fields["params"] = {"Denoising strength": ins["denoise"]}
            self._model_chain(ins.get("model"), fields)
            self._latent(ins.get("latent_image"), fields)
        if not fields["loras"]:  # LoRA loaders off the sampler's model path still belong to the recipe
            for nid in sorted(self.nodes, key=_order):
                if self.kind(nid) in LORA_LOADERS:
                    fields["loras"].append(self._lora(nid))
        fields["loras"] = [lo for lo in fields["loras"] if lo][:64]
        return Parsed("comfyui", fields, self.notes)

    def _model_chain(self, value: Any, fields: dict[str, Any]) -> None:
        chain: list[dict[str, Any]] = []
        nid = self.source(value)
        for _ in range(MAX_HOPS):
            if nid is None:
                break
            kind = self.kind(nid)
            if kind in LORA_LOADERS:
                chain.append(self._lora(nid))
            elif kind in CHECKPOINTS:
                name = self.inputs(nid).get("ckpt_name") or self.inputs(nid).get("unet_name")
                if isinstance(name, str):
                    fields["checkpoint"] = os.path.splitext(name.replace("\\", "/").rsplit("/", 1)[-1])[0][:300]
                break
            nid = self.source(self.inputs(nid).get("model"))
        fields["loras"] = list(reversed(chain))  # from the checkpoint outwards, as applied

    def _lora(self, nid: str) -> dict[str, Any]:
        ins = self.inputs(nid)
        name = ins.get("lora_name")
        if not isinstance(name, str) or not name.strip():
            return {}
        base = os.path.splitext(name.replace("\\", "/").rsplit("/", 1)[-1])[0]
        base = "".join(c for c in base if c not in "<>:\n\r\x00").replace(".", "_")[:300]
        item: dict[str, Any] = {"name": base or "lora"}
        model, clip = ins.get("strength_model"), ins.get("strength_clip")
        item["weight"] = float(model) if isinstance(model, (int, float)) and -20 <= model <= 20 else 1.0
        if isinstance(clip, (int, float)) and clip != item["weight"] and -20 <= clip <= 20:
            item["te"] = float(clip)
        return item

    def _latent(self, value: Any, fields: dict[str, Any]) -> None:
        nid = self.source(value)
        if nid is not None and self.kind(nid) in LATENTS:
            ins = self.inputs(nid)
            for key in ("width", "height"):
                if isinstance(ins.get(key), int) and 8 <= ins[key] <= 16384:
                    fields[key] = ins[key]


def _order(nid: str) -> tuple[int, str]:
    return (int(nid), nid) if nid.isdigit() else (1 << 30, nid)


# widgets_values order of the UI graph's nodes we read, by type
WIDGETS = {
    "KSampler": ["seed", "control_after_generate", "steps", "cfg", "sampler_name", "scheduler", "denoise"],
    "KSamplerAdvanced": ["add_noise", "noise_seed", "control_after_generate", "steps", "cfg", "sampler_name",
                         "scheduler", "start_at_step", "end_at_step", "return_with_leftover_noise"],
    "LoraLoader": ["lora_name", "strength_model", "strength_clip"],
    "LoraLoaderModelOnly": ["lora_name", "strength_model"],
    "CheckpointLoaderSimple": ["ckpt_name"],
    "UNETLoader": ["unet_name", "weight_dtype"],
    "CLIPTextEncode": ["text"],
    "EmptyLatentImage": ["width", "height", "batch_size"],
    "EmptySD3LatentImage": ["width", "height", "batch_size"],
}


def from_workflow(workflow: Any) -> dict[str, Any] | None:
    """The UI graph as an API graph: widget values by name, links as [node, output]."""
    if not isinstance(workflow, dict) or not isinstance(workflow.get("nodes"), list):
        return None
    links: dict[Any, tuple[str, int]] = {}
    for link in workflow.get("links") or []:
        if isinstance(link, list) and len(link) >= 3:
            links[link[0]] = (str(link[1]), link[2] if isinstance(link[2], int) else 0)
    graph: dict[str, Any] = {}
    for node in workflow["nodes"][:MAX_NODES]:
        if not isinstance(node, dict) or "id" not in node:
            continue
        kind = str(node.get("type") or "")
        inputs: dict[str, Any] = {}
        values = node.get("widgets_values")
        if isinstance(values, list):
            for name, value in zip(WIDGETS.get(kind, []), values, strict=False):
                inputs[name] = value
        for slot in node.get("inputs") or []:
            if isinstance(slot, dict) and slot.get("link") in links:
                origin, out = links[slot["link"]]
                inputs[str(slot.get("name"))] = [origin, out]
        graph[str(node["id"])] = {"class_type": kind, "inputs": inputs}
    return graph
