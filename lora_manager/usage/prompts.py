"""`<lora:...>` tags in prompts, parsed the way SDNext reads them.

Syntax: `<lora:NAME>`, `<lora:NAME:TE>`, `<lora:NAME:TE:UNET>`, `<lora:NAME:TE:UNET:DYN>`,
and named arguments `te=`, `unet=`, `dyn=`, `in=`, `mid=`, `out=` in any position.
A weight may be a step schedule `w@step,w@step`. `<lyco:...>` is the older
spelling of the same tag. Weight 0 everywhere means the host skips the LoRA.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

TAG = re.compile(r"<(lora|lyco):([^<>]+)>", re.I)
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


@dataclass(slots=True)
class LoraRef:
    name: str
    te: float | None = None  # text-encoder multiplier; None when given as a schedule
    unet: float | None = None
    dyn: int | None = None
    schedule: str | None = None  # a raw `w@step,...` weight, when one was given
    blocks: dict[str, str] = field(default_factory=dict)  # in= / mid= / out=
    raw: str = ""

    @property
    def weight(self) -> float | None:
        """The weight a person means: the UNet multiplier, which defaults to the TE one."""
        return self.unet if self.unet is not None else self.te

    @property
    def skipped(self) -> bool:
        return is_skipped(self.te, self.unet)

    def as_dict(self) -> dict:
        return {"name": self.name, "te": self.te, "unet": self.unet, "weight": self.weight, "dyn": self.dyn,
                "schedule": self.schedule, "blocks": self.blocks or None, "raw": self.raw}


def is_skipped(te: float | None, unet: float | None) -> bool:
    """Weight 0 everywhere: the host skips the LoRA on purpose."""
    return te == 0 and unet in (0, None)


def _schedule_value(value: str) -> float | None:
    """A plain number, or None for a schedule (its first weight is recorded separately)."""
    value = value.strip()
    return float(value) if _NUMBER.match(value) else None


def _first_weight(schedule: str) -> float | None:
    head = schedule.split(",", 1)[0].split("@", 1)[0].strip()
    return float(head) if _NUMBER.match(head) else None


def parse_loras(prompt: str | None) -> list[LoraRef]:
    """Every LoRA tag in `prompt`, in order. Never raises on odd text."""
    refs: list[LoraRef] = []
    for m in TAG.finditer(prompt or ""):
        parts = [p.strip() for p in m.group(2).split(":")]
        if not parts or not parts[0]:
            continue
        ref = LoraRef(name=parts[0], raw=m.group(0))
        positional: list[str] = []
        for part in parts[1:]:
            key, eq, value = part.partition("=")
            key = key.strip().lower()
            if eq and key in ("te", "unet", "dyn", "in", "mid", "out"):
                if key in ("in", "mid", "out"):
                    ref.blocks[key] = value.strip()
                else:
                    _assign(ref, key, value)
            elif not eq:
                positional.append(part)
        given = {k for k in ("te", "unet") if getattr(ref, k) is not None or ref.schedule}
        for key, value in zip(("te", "unet", "dyn"), positional, strict=False):
            if getattr(ref, key) is None:
                _assign(ref, key, value)
                given.add(key)
        if "te" not in given:
            ref.te = 1.0  # no weight given: the host applies 1.0
        if "unet" not in given:
            ref.unet = ref.te  # the UNet multiplier follows the TE one unless given
        refs.append(ref)
    return refs


def _assign(ref: LoraRef, key: str, value: str) -> None:
    if key == "dyn":
        try:
            ref.dyn = int(float(value))
        except ValueError:
            ref.dyn = None
        return
    number = _schedule_value(value)
    if number is None and "@" in value:
        ref.schedule = value.strip()
        number = _first_weight(value)
    setattr(ref, key, number)


def strip_loras(prompt: str | None) -> str:
    """The prompt without its LoRA tags, whitespace tidied."""
    text = TAG.sub(" ", prompt or "")
    return re.sub(r"\s*,\s*(,\s*)+", ", ", re.sub(r"[ \t]+", " ", text)).strip(" ,")
