"""Turn the host's generation objects into GenerationEvents (SDNext, A1111 where it can).

Hook order (docs/host.md): `before_process(p)` sees the prompt with its
`<lora:...>` tags; `postprocess(p, processed)` runs only for finished jobs;
`on_after_process(p)` (SDNext) runs in a `finally`, so interrupted and failed
jobs are caught there. Every function here swallows its own errors: a
recorder bug must never reach the host's generation.
"""

from __future__ import annotations

import logging
from typing import Any

from ..library.clock import utcnow
from ..usage.recorder import GenerationEvent

log = logging.getLogger("lora_manager")
_ATTR = "_lora_manager_event"  # the event in progress, kept on the processing object


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, (list, tuple)) and value else value


_ERRORS = "_lora_manager_lora_errors"  # LoRAs the host failed to apply, kept on the processing object


def watch_apply_errors() -> None:
    """SDNext counts LoRAs whose weights did not fit the model in `extra_network_lora.errors`
    and keeps them in `loaded_networks`; it clears the count in `deactivate(p)`, before any
    script's postprocess runs. Copy the count onto `p` just before it is cleared (once per
    host instance; a host without it is left alone)."""
    try:
        from modules.lora import lora_common
    except ImportError:
        return
    network = getattr(lora_common, "extra_network_lora", None)
    if network is None or getattr(network, "_lora_manager_watched", False) or not hasattr(network, "errors"):
        return
    original = network.deactivate
    seen: dict = {}  # the last failure seen, by what was loaded when it was seen

    def deactivate(p, *args, **kwargs):
        try:
            # The host counts a failure only when it (re)loads: the next generation with the same
            # LoRAs, weights and checkpoint reuses what is loaded, failure included, with no count.
            key = _loaded_key(lora_common)
            if network.errors:
                seen.clear()
                seen[key] = dict(network.errors)
            failed = network.errors or seen.get(key)
            if failed:
                setattr(p, _ERRORS, {**getattr(p, _ERRORS, {}), **failed})
        except Exception:  # never in the host's way
            log.debug("LoRA Manager: could not read the host's LoRA errors", exc_info=True)
        return original(p, *args, **kwargs)

    network.deactivate = deactivate
    network._lora_manager_watched = True


def _loaded_key(lora_common) -> tuple:
    """What the host has loaded: the checkpoint and each network with its multipliers."""
    try:
        from modules import shared

        checkpoint = getattr(getattr(shared, "opts", None), "sd_model_checkpoint", None)
    except ImportError:
        checkpoint = None
    nets = tuple((str(getattr(n, "name", "")), repr(getattr(n, "te_multiplier", None)),
                  repr(getattr(n, "unet_multiplier", None)))
                 for n in list(getattr(lora_common, "loaded_networks", []) or []))
    return (checkpoint, nets)


def before(p) -> None:
    try:
        watch_apply_errors()
    except Exception:
        log.debug("LoRA Manager: could not watch the host's LoRA errors", exc_info=True)
    event = start_event(p)
    if event is not None:
        try:
            setattr(p, _ATTR, event)
        except Exception:
            log.exception("LoRA Manager: could not start recording a generation")


def attach(p, event: GenerationEvent | None) -> None:
    """Give `p` an event started earlier (our own jobs attach it after the host's callbacks ran)."""
    if event is not None:
        setattr(p, _ATTR, event)


def start_event(p, source: str | None = None) -> GenerationEvent | None:
    try:
        from modules import shared

        prompt = _first(getattr(p, "prompt", "")) or ""
        return GenerationEvent.from_prompt(
            str(prompt),
            started_at=utcnow(),
            negative_prompt=str(_first(getattr(p, "negative_prompt", "")) or "") or None,
            seed=_int(_first(getattr(p, "seed", None))),
            steps=_int(getattr(p, "steps", None)),
            width=_int(getattr(p, "width", None)),
            height=_int(getattr(p, "height", None)),
            sampler=getattr(p, "sampler_name", None),
            checkpoint=getattr(getattr(shared, "opts", None), "sd_model_checkpoint", None),
            checkpoint_family=_family(shared),
            # SDNext marks API generations on its state (state.begin(..., api=True)), not on p
            source=source
            or (
                "api"
                if getattr(p, "is_api", False) or getattr(getattr(shared, "state", None), "api", False) is True
                else "ui"
            ),
        )
    except Exception:
        log.exception("LoRA Manager: could not start recording a generation")
        return None


def _family(shared) -> str | None:
    """Our family name (sd1, xl, ...) for the loaded model; the host's own word where we have none."""
    from .model_family import loaded_family

    kind = getattr(shared, "sd_model_type", None)
    return loaded_family() or (str(kind) if kind not in (None, "none") else None)


def _multiplier(value: Any) -> float | None:
    """SDNext keeps `unet_multiplier` as [in, mid, out] (modules/lora/extra_networks_lora.py);
    one number for our column: the value when all agree, else their mean."""
    if isinstance(value, (list, tuple)):
        values = [v for v in (_float(x) for x in value) if v is not None]
        if not values:
            return None
        return values[0] if all(v == values[0] for v in values) else sum(values) / len(values)
    return _float(value)


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _applied(failed: dict | None = None) -> list[dict[str, Any]]:
    """What the host really applied: its loaded networks less those it counted as failed."""
    try:
        from modules.lora import lora_common  # SDNext
    except ImportError:
        try:
            import networks as lora_common  # A1111's built-in Lora extension
        except ImportError:
            return []
    out = []
    failed = failed or {}
    for net in list(getattr(lora_common, "loaded_networks", []) or []):
        if str(getattr(net, "name", "")) in failed:
            continue
        out.append({"name": str(getattr(net, "name", "")), "te": _multiplier(getattr(net, "te_multiplier", None)),
                    "unet": _multiplier(getattr(net, "unet_multiplier", None))})
    return out


def finish(p, recorder, *, done: bool) -> None:
    """Close the event once: `done` from postprocess, else from on_after_process."""
    try:
        event = getattr(p, _ATTR, None)
        if event is None:
            return
        setattr(p, _ATTR, None)
        from modules import shared

        state = getattr(shared, "state", None)
        if done:
            event.outcome = "done"
        elif getattr(state, "interrupted", False) or getattr(state, "skipped", False):
            event.outcome = "interrupted"
        else:
            event.outcome = "failed"
        event.finished_at = utcnow()
        event.applied = _applied(getattr(p, _ERRORS, None))
        recorder.record(event)
    except Exception:
        log.exception("LoRA Manager: could not record a generation")
