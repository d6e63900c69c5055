"""The shared path of every engine that translates: decoding settings, the translation cache, progress.

An engine only implements `translate_batch` (sources -> translations, no caching) and `identity` (what makes
its outputs what they are: engine, model and its revision or file hash, prompt, decoding settings). Everything
else, including which segments need the model at all, lives here, so every engine caches the same way.
"""

from __future__ import annotations

import json
import time
from abc import abstractmethod
from typing import Literal

from pydantic import Field

from evalharness.cache import digest
from evalharness.configtypes import Strict
from evalharness.datasets.base import Dataset
from evalharness.systems.base import System, SystemConfigBase
from evalharness.systems.context import CellStats, RunContext


class DecodingSettings(Strict):
    """Decoding settings shared by the model engines; each is a config field, so a sweep can vary it."""

    num_beams: int = Field(default=1, ge=1)
    max_new_tokens: int = Field(default=256, ge=1)
    batch_size: int = Field(default=8, ge=1)
    do_sample: bool = False
    temperature: float = Field(default=1.0, gt=0)
    top_p: float = Field(default=1.0, gt=0, le=1)
    seed: int | None = None
    length_penalty: float = 1.0
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    device: str = Field(default="auto", description="auto picks cuda, then mps, then cpu")


# Settings that change speed, not the translations: greedy and beam search give identical outputs whatever the
# batching (in float32; tests check it). Sampled outputs do depend on the batch, so there it is kept. llama.cpp
# splits each product across threads by rows, and its engine makes a segment's output depend on its prompt only,
# so neither the thread count nor the number of contexts changes a result (tests check it). A preset's
# `backend: auto` is replaced by the backend it resolved to (in `identity`).
NOT_IN_FINGERPRINT = {"batch_size", "name", "datasets", "local_files_only", "n_threads", "parallel", "backend"}


class TranslationSystem(System):
    """A system whose hypotheses come from translating the sources."""

    def hypotheses(self, dataset: Dataset, ctx: RunContext | None = None, stats: CellStats | None = None) -> list[str]:
        return self.translate(dataset.sources, dataset.source_lang, dataset.target_lang, ctx, stats)

    @property
    def cacheable(self) -> bool:
        """A sampled decode without a seed is a different draw every time: never cached."""
        return not (getattr(self.cfg, "do_sample", False) and getattr(self.cfg, "seed", None) is None)

    def fingerprint(self) -> str:
        """Everything that determines the outputs, as stable JSON."""
        exclude = NOT_IN_FINGERPRINT - ({"batch_size"} if getattr(self.cfg, "do_sample", False) else set())
        settings = self.cfg.model_dump(mode="json", exclude=exclude)
        return json.dumps({"identity": self.identity(), "settings": settings}, sort_keys=True)

    def identity(self) -> dict:
        """What the config alone does not pin down (a file hash, a resolved revision). Engines add to it."""
        return {}

    def translate(self, sources: list[str], src_lang: str, tgt_lang: str, ctx: RunContext | None = None,
                  stats: CellStats | None = None) -> list[str]:
        """Translations of `sources`, from the cache where possible; the model only sees unique misses."""
        ctx = ctx or RunContext()
        stats = stats if stats is not None else CellStats()
        cache = ctx.translation_cache if self.cacheable else None
        fingerprint = self.fingerprint() if cache is not None else ""
        out: list[str | None] = [None] * len(sources)
        todo: dict[str, list[int]] = {}
        for i, source in enumerate(sources):
            if cache is not None:
                hit = cache.get(digest(fingerprint, src_lang, tgt_lang, source))
                if hit is not None:
                    out[i] = hit
                    stats.cached += 1
                    continue
            todo.setdefault(source, []).append(i)
        if todo:
            unique = list(todo)
            started = time.perf_counter()
            translations = self.translate_batch(unique, src_lang, tgt_lang, ctx)
            if len(translations) != len(unique):
                raise RuntimeError(f"{type(self).__name__} returned {len(translations)} translations for {len(unique)} sources")
            ctx.model_calls += len(unique)
            stats.translated += len(unique)
            stats.seconds += time.perf_counter() - started
            for source, translation in zip(unique, translations):
                for i in todo[source]:
                    out[i] = translation
            if cache is not None:
                cache.put_many([(digest(fingerprint, src_lang, tgt_lang, s), t) for s, t in zip(unique, translations)])
        return [t if t is not None else "" for t in out]

    @abstractmethod
    def translate_batch(self, sources: list[str], src_lang: str, tgt_lang: str, ctx: RunContext) -> list[str]:
        """Translate every source (no cache here); load the model through `ctx.models` on first use."""


class TranslationConfigBase(SystemConfigBase, DecodingSettings):
    """A model engine's config: identity fields plus decoding settings."""
