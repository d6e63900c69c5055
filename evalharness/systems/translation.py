"""The shared path of every engine that translates: decoding settings, the translation cache, progress.

An engine only implements `translate_stream` (sources -> translations as they complete, no caching) or
`translate_batch` (all at once), and `identity` (what makes its outputs what they are: engine, model and its
revision or file hash, prompt, decoding settings). Everything else, including which segments need the model at
all, the cache writes as translations complete and the progress bar, lives here, so every engine caches the same
way.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Literal

from pydantic import Field

from evalharness.cache import digest
from evalharness.configtypes import Strict
from evalharness.datasets.base import Dataset
from evalharness.errors import UserError
from evalharness.prompts import most_examples
from evalharness.systems.base import System, SystemConfigBase
from evalharness.systems.context import CellStats, RunContext


class DecodingSettings(Strict):
    """Decoding settings shared by the model engines; each is a config field, so a sweep can vary it."""

    num_beams: int = Field(strict=True, default=1, ge=1)
    max_new_tokens: int = Field(strict=True, default=256, ge=1)
    batch_size: int = Field(strict=True, default=8, ge=1)
    do_sample: bool = False
    temperature: float = Field(default=1.0, gt=0)
    top_p: float = Field(default=1.0, gt=0, le=1)
    seed: int | None = Field(default=None, strict=True)
    length_penalty: float = 1.0
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    device: str = Field(default="auto", description="auto picks cuda, then mps, then cpu")


# Settings that change speed, not the translations: greedy and beam search give identical outputs whatever the
# batching (in float32; tests check it). Sampled outputs do depend on the batch, so there it is kept. llama.cpp
# splits each product across threads by rows, and its engine makes a segment's output depend on its prompt only,
# so neither the thread count nor the number of contexts changes a result (tests check it). A preset's
# `backend: auto` is replaced by the backend it resolved to (in `identity`).
# Completed translations are written to the cache at least this often (one SQLite transaction each).
FLUSH_SEGMENTS = 32
FLUSH_SECONDS = 2.0

NOT_IN_FINGERPRINT = {
    *("batch_size", "name", "datasets", "local_files_only", "n_threads", "parallel", "backend"),
    "batch_sequences",  # llama.cpp's batched decoding: 1 vs more is in the engine's identity, the count changes nothing
    *("batch_type", "intra_threads"),  # ctranslate2's batching and threads: greedy and beam outputs stay the same
    *("resources", "replicas"),  # where the ray executor runs a system, not what it outputs
    "floor",  # how the report shows a system, not what it outputs
}


# Decoding settings that only a sampled decode (do_sample: true) uses.
SAMPLING_SETTINGS = ("temperature", "top_p", "seed")


def translation_pairs(dataset: Dataset) -> list[tuple[str, str]]:
    """The (source, target) language pairs a system translates on a dataset (a round trip: there and back)."""
    if dataset.pivot_lang is None:
        return [(dataset.source_lang, dataset.target_lang)]
    return [(dataset.source_lang, dataset.pivot_lang), (dataset.pivot_lang, dataset.source_lang)]


def check_languages(system_name: str, dataset: Dataset, *codes: Callable[[str], str]) -> None:
    """Each language the system translates from or into has a code in each of `codes` (langcodes functions)."""
    for pair in translation_pairs(dataset):
        for lang in pair:
            for code in codes:
                try:
                    code(lang)
                except UserError as err:
                    raise UserError(f"system {system_name}: dataset {dataset.name}: {err}") from err


def stable_settings(settings: dict) -> dict:
    """Settings as they enter a fingerprint: one added after translations were cached is left out while unset
    (its default is the old behaviour), so an upgrade does not throw a user's translation cache away; and left
    out too where its value prompts as the default does (`n_shots: 3` with the three built-in examples), so
    writing the default out finds the translations cached without it."""
    prompt = settings.get("prompt")
    if isinstance(prompt, dict) and "n_shots" in prompt:
        n_shots = prompt["n_shots"]
        if n_shots is None or n_shots >= most_examples(prompt.get("examples")):
            settings = {**settings, "prompt": {k: v for k, v in prompt.items() if k != "n_shots"}}
    return settings


def cache_key(fingerprint: str, src_lang: str, tgt_lang: str, source: str) -> str:
    """A translation's key in the cache: everything that determines it."""
    return digest(fingerprint, src_lang, tgt_lang, source)


class TranslationSystem(System):
    """A system whose hypotheses come from translating the sources."""

    # Completed translations are written to the cache every this many segments (or FLUSH_SECONDS).
    flush_segments: int = FLUSH_SEGMENTS

    def hypotheses(self, dataset: Dataset, ctx: RunContext | None = None, stats: CellStats | None = None) -> list[str]:
        return self.translate(dataset.sources, dataset.source_lang, dataset.target_lang, ctx, stats)

    @classmethod
    def inert_settings(cls, cfg: SystemConfigBase) -> dict[str, str]:
        """Greedy and beam search do not sample: temperature, top_p and seed change nothing."""
        if getattr(cfg, "do_sample", True):
            return {}
        return {k: "do_sample is false" for k in SAMPLING_SETTINGS if k in cls.settings()}

    @property
    def cacheable(self) -> bool:
        """A sampled decode without a seed is a different draw every time: never cached."""
        return not (getattr(self.cfg, "do_sample", False) and getattr(self.cfg, "seed", None) is None)

    def fingerprint(self) -> str:
        """Everything that determines the outputs, as stable JSON."""
        exclude = NOT_IN_FINGERPRINT - ({"batch_size"} if getattr(self.cfg, "do_sample", False) else set())
        settings = self.cfg.model_dump(mode="json", exclude=exclude)
        return json.dumps({"identity": self.identity(), "settings": stable_settings(settings)}, sort_keys=True)

    def identity(self) -> dict:
        """What the config alone does not pin down (a file hash, a resolved revision). Engines add to it."""
        return {}

    def translate(
        self,
        sources: list[str],
        src_lang: str,
        tgt_lang: str,
        ctx: RunContext | None = None,
        stats: CellStats | None = None,
    ) -> list[str]:
        """Translations of `sources`, from the cache where possible; the model only sees unique misses.

        Translations reach the cache as they complete (one transaction per few seconds of work), and whatever
        completed is stored even when the engine fails or the run is interrupted: a rerun translates only the rest.
        """
        ctx = ctx or RunContext()
        stats = stats if stats is not None else CellStats()
        cache = ctx.translation_cache if self.cacheable else None
        fingerprint = self.fingerprint() if cache is not None else ""
        out: list[str | None] = [None] * len(sources)
        todo: dict[str, list[int]] = {}
        for i, source in enumerate(sources):
            if cache is not None:
                hit = cache.get(cache_key(fingerprint, src_lang, tgt_lang, source))
                if hit is not None:
                    out[i] = hit
                    stats.cached += 1
                    continue
            todo.setdefault(source, []).append(i)
        if not todo:
            return [t if t is not None else "" for t in out]
        unique = list(todo)
        done: set[int] = set()
        pending: list[tuple[str, str]] = []
        last_flush = started = time.perf_counter()

        def flush() -> None:
            nonlocal last_flush
            if cache is not None and pending:
                cache.put_many(pending)
            pending.clear()
            last_flush = time.perf_counter()

        stream = ctx.engine_stream(self, unique, src_lang, tgt_lang)  # this process, or the run's executor
        try:
            with ctx.progress.bar(len(unique), f"{self.name} {src_lang}-{tgt_lang}", unit="seg") as bar:
                for j, translation in stream:
                    if not 0 <= j < len(unique) or j in done:
                        raise RuntimeError(f"{type(self).__name__} returned segment {j} twice or out of range")
                    done.add(j)
                    for i in todo[unique[j]]:
                        out[i] = translation
                    pending.append((cache_key(fingerprint, src_lang, tgt_lang, unique[j]), translation))
                    bar.update(1)
                    if len(pending) >= self.flush_segments or time.perf_counter() - last_flush >= FLUSH_SECONDS:
                        flush()
        finally:
            close = getattr(stream, "close", None)
            if close is not None:  # stop the engine's workers before keeping what they finished
                close()
            flush()
            ctx.model_calls += len(done)
            stats.translated += len(done)
            stats.seconds += time.perf_counter() - started
        if len(done) != len(unique):
            raise RuntimeError(f"{type(self).__name__} returned {len(done)} translations for {len(unique)} sources")
        return [t if t is not None else "" for t in out]

    def cache_misses(self, sources: list[str], src_lang: str, tgt_lang: str, ctx: RunContext) -> list[str]:
        """The distinct sources that `translate` would send to the engine, in first-seen order: what a
        distributed executor ships to its workers before the cells run."""
        cache = ctx.translation_cache if self.cacheable else None
        if cache is None:
            return list(dict.fromkeys(sources))
        fingerprint = self.fingerprint()
        return [s for s in dict.fromkeys(sources) if cache.get(cache_key(fingerprint, src_lang, tgt_lang, s)) is None]

    def cache_entries(self, src_lang: str, tgt_lang: str, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """(cache key, translation) for (source, translation) pairs this system produced."""
        fingerprint = self.fingerprint()
        return [(cache_key(fingerprint, src_lang, tgt_lang, source), out) for source, out in pairs]

    def translate_stream(
        self, sources: list[str], src_lang: str, tgt_lang: str, ctx: RunContext
    ) -> Iterator[tuple[int, str]]:
        """(index into `sources`, translation) as each completes, in any order. Engines that finish segments one
        batch at a time override this; the default is one `translate_batch` call."""
        yield from enumerate(self.translate_batch(sources, src_lang, tgt_lang, ctx))

    def translate_batch(self, sources: list[str], src_lang: str, tgt_lang: str, ctx: RunContext) -> list[str]:
        """Translate every source (no cache here); load the model through `ctx.models` on first use. Engines
        implement this or `translate_stream`."""
        out: list[str] = [""] * len(sources)
        for i, translation in self.translate_stream(sources, src_lang, tgt_lang, ctx):
            out[i] = translation
        return out


class TranslationConfigBase(SystemConfigBase, DecodingSettings):
    """A model engine's config: identity fields plus decoding settings."""
