"""The Ray actor that runs one system's engine. A module of its own, importing only what an engine needs: every
actor's worker process imports it, and the runner's modules (pandas, the metrics) would cost each one a second."""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

from evalharness.systems.context import RunContext

if TYPE_CHECKING:
    from evalharness.systems.translation import TranslationSystem


class Translator:
    """A Ray actor: one system's engine in a worker process, its model loaded on the first shard and kept."""

    def __init__(self) -> None:
        self.ctx = RunContext(verbose=False)

    def translate(self, system: TranslationSystem, texts: list[str], src: str, tgt: str) -> tuple[list[str], dict]:
        import ray

        started = time.perf_counter()
        out: list[str | None] = [None] * len(texts)
        for j, translation in system.translate_stream(texts, src, tgt, self.ctx):
            out[j] = translation
        missing = sum(t is None for t in out)
        if missing:
            raise RuntimeError(f"{type(system).__name__} returned {len(texts) - missing} translations for {len(texts)}")
        where = {
            "node": ray.get_runtime_context().get_node_id(),
            "pid": os.getpid(),
            "seconds": round(time.perf_counter() - started, 3),
            "runtime": system.runtime(),  # this worker's threads and libraries, not the driver's
        }
        return [t or "" for t in out], where
