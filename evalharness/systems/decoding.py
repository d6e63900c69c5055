"""The decoding settings, each said once: what it means, its default and bounds, whether it can change a system's
outputs (and so enters the translation cache's key), and whether only a sampled decode uses it.

Engines declare their decoding fields with `field(name)` (an engine's own default, description or
`affects_output` given as an override: CTranslate2's batch never changes its outputs); `inert_settings` is what
a sweep collapses (`System.inert_settings`, merged in `plan.py`). How each engine hands the settings to its
library (`generation.generation_kwargs`, llama.cpp's `sampling`, the openai request) stays with the engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

from pydantic import Field

from evalharness.systems.base import AFFECTS_OUTPUT, WHEN_SAMPLING


@dataclass(frozen=True)
class Setting:
    """One decoding setting. `constraints` are pydantic Field's (strict, ge, gt, le)."""

    default: Any
    description: str
    constraints: dict[str, Any] = dataclass_field(default_factory=dict)
    affects_output: bool | str = True
    sampling_only: bool = False  # only a sampled decode (do_sample: true) uses it: inert in greedy or beam search


SETTINGS: dict[str, Setting] = {
    "num_beams": Setting(1, "beams of beam search (1: greedy, or sampled)", {"strict": True, "ge": 1}),
    "max_new_tokens": Setting(256, "most tokens generated for one segment", {"strict": True, "ge": 1}),
    "batch_size": Setting(
        8,
        "segments decoded together: speed only for greedy and beam search (in float32; tests check it), while a "
        "sampled draw depends on its batch",
        {"strict": True, "ge": 1},
        affects_output=WHEN_SAMPLING,
    ),
    "do_sample": Setting(False, "sample each token (temperature, top_p, seed) instead of greedy or beam search"),
    "temperature": Setting(
        1.0, "sampling: divides the logits (lower: closer to greedy)", {"gt": 0}, sampling_only=True
    ),
    "top_p": Setting(
        1.0,
        "sampling: draw from the fewest tokens that hold this much probability (1: all)",
        {"gt": 0, "le": 1},
        sampling_only=True,
    ),
    "seed": Setting(
        None,
        "sampling: the random seed (none: a new draw every run, never cached)",
        {"strict": True},
        sampling_only=True,
    ),
    "length_penalty": Setting(1.0, "beam search: the exponent of the length a hypothesis' score is divided by"),
    "dtype": Setting("auto", "weights and arithmetic (auto: float32 on CPU, bfloat16 on GPUs that have it)"),
    "device": Setting("auto", "auto picks cuda, then mps, then cpu"),
}

# Decoding settings that only a sampled decode (do_sample: true) uses.
SAMPLING_SETTINGS = tuple(name for name, setting in SETTINGS.items() if setting.sampling_only)


def field(name: str, **override: Any) -> Any:
    """The pydantic Field of decoding setting `name`; `override` replaces its default, description or
    affects_output for one engine (`batch_size` 16 for Gemma)."""
    setting = SETTINGS[name]
    default = override.pop("default", setting.default)
    description = override.pop("description", setting.description)
    affects = override.pop(AFFECTS_OUTPUT, setting.affects_output)
    if override:
        raise TypeError(f"decoding.field({name!r}): unknown overrides {sorted(override)}")
    return Field(
        default=default,
        description=description,
        json_schema_extra={AFFECTS_OUTPUT: affects},
        **setting.constraints,
    )


def inert_settings(cfg: Any, settings: frozenset[str]) -> dict[str, str]:
    """Of an engine's `settings`, those that cannot change its outputs under `cfg` (setting -> why): greedy and
    beam search do not sample, so temperature, top_p and seed change nothing."""
    if getattr(cfg, "do_sample", True):
        return {}
    return {name: "do_sample is false" for name in SAMPLING_SETTINGS if name in settings}
