"""What systems share during one run: the translation cache, the loaded models, progress display, counters.

Models are loaded lazily, on the first cache miss, and once per run: cells that differ only in decoding
settings, or serve several datasets, get the same loaded model from `models`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from evalharness.cache import CACHES, Store
from evalharness.progress import Progress


class ModelPool:
    """Loaded models by a key that names everything the load depends on (engine, model, dtype, device)."""

    def __init__(self) -> None:
        self._models: dict[tuple, Any] = {}
        self.loads = 0

    def get(self, key: tuple, load: Callable[[], Any]) -> Any:
        if key not in self._models:
            self._models[key] = load()
            self.loads += 1
        return self._models[key]


@dataclass
class CellStats:
    """Per cell: where the hypotheses came from."""

    translated: int = 0  # segments that went to the model
    cached: int = 0  # segments found in the translation cache
    empty: int = 0  # empty hypotheses
    seconds: float = 0.0  # time spent in the model
    # How the engine ran where it ran (`System.runtime`), when that was not this process (a Ray actor's).
    runtime: dict | None = None


@dataclass
class RunContext:
    translation_cache: Store | None = None
    models: ModelPool = field(default_factory=ModelPool)
    progress: Progress = field(default_factory=Progress.silent)  # phases and bars (see progress.py)
    model_calls: int = 0  # segments sent to any model in this run
    verbose: bool = True  # log lines on stderr
    # The run's executor, when it translates elsewhere (Ray actors): (system, sources, src, tgt) -> (index,
    # translation) as they complete. None: the engine translates in this process.
    remote: Callable[[Any, list[str], str, str], Iterator[tuple[int, str]]] | None = None

    def engine_stream(self, system, sources: list[str], src_lang: str, tgt_lang: str) -> Iterator[tuple[int, str]]:
        """A translating system's engine output for `sources` (no cache here), wherever the run translates."""
        if self.remote is not None:
            return self.remote(system, sources, src_lang, tgt_lang)
        return system.translate_stream(sources, src_lang, tgt_lang, self)

    @classmethod
    def create(cls, use_cache: bool = True, progress: Progress | None = None) -> RunContext:
        store = CACHES["translations"].open() if use_cache else None
        return cls(translation_cache=store, progress=progress or Progress())

    def log(self, message: str) -> None:
        """One line on stderr about what the run is doing (which backend loaded a model, ...)."""
        if self.verbose:
            print(f"evalharness: {message}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.translation_cache is not None:
            self.translation_cache.close()
