"""System registry: engine name -> System class. Add an engine by adding a module and a line here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Union

from pydantic import Field

from evalharness.systems.base import System, SystemConfigBase
from evalharness.systems.command import CommandSystem
from evalharness.systems.ctranslate2 import CTranslate2System
from evalharness.systems.gemma import GemmaSystem
from evalharness.systems.hf_causal import HFCausalSystem
from evalharness.systems.hf_seq2seq import HFSeq2SeqSystem
from evalharness.systems.identity import IdentitySystem
from evalharness.systems.llama_cpp import LlamaCppSystem
from evalharness.systems.openai_api import OpenAISystem
from evalharness.systems.outputs import OutputsSystem

ENGINES: dict[str, type[System]] = {
    "outputs": OutputsSystem,
    "identity": IdentitySystem,
    "hf-seq2seq": HFSeq2SeqSystem,
    "ctranslate2": CTranslate2System,
    "hf-causal": HFCausalSystem,
    "llama-cpp": LlamaCppSystem,
    "gemma-270m": GemmaSystem,
    "command": CommandSystem,
    "openai": OpenAISystem,
}

if TYPE_CHECKING:  # a type checker cannot follow the union built below: any engine's config
    SystemConfig = SystemConfigBase
else:
    # A Union of a tuple built at runtime: no `X | Y` spelling of it (ruff's UP007 fix would drop the Union).
    SystemConfig = Annotated[
        Union[tuple(engine.config_model for engine in ENGINES.values())], Field(discriminator="engine")  # noqa: UP007
    ]


def engine_of(cfg) -> type[System]:
    return ENGINES[cfg.engine]


__all__ = ["ENGINES", "System", "SystemConfig", "engine_of"]
