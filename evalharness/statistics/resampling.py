"""Resampling per-segment statistics as sacrebleu does: its seed and index matrix, exact resample sums, its
percentile rule, and the scores of every resample through the metric's `CorpusScorer`.

Shared by the significance tests (statistics/significance.py) and the agreement with human scores
(statistics/agreement.py), so that every bootstrap of a run draws the same resamples.

Resample sums are one matrix product (resample counts x statistics, all systems stacked) instead of gathering an
(N, n, k) array per system. sacrebleu sums float32 values one segment after the other; when every value is a
non-negative multiple of 2^-j and every total stays below 2^(24-j), each of its partial sums is exact, so the exact
float64 product, cast to float32, is the same array. Otherwise we gather and sum as sacrebleu does.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, TypeVar, cast

import numpy as np

from evalharness.errors import UserError
from evalharness.metrics.protocol import CorpusScorer
from evalharness.workers import process_pool

SEED = 12345  # sacrebleu's default (SACREBLEU_SEED unset)
# Below this many resample scores computed row by row in Python, a process pool costs more than it saves.
PARALLEL_ROWS = 60_000
# Rows of the resample-count / swap matrix per matrix product (bounds memory: rows x segments x 8 bytes).
CHUNK_ROWS = 1024

Name = TypeVar("Name", bound=Hashable)
T = TypeVar("T")


def check_samples(n_samples: int, what: str) -> int:
    """The number of resamples, refused in one line unless it is a positive integer."""
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
        raise UserError(f"{what}: the number of samples must be a positive integer, got {n_samples!r}")
    return int(n_samples)


def indices(seed: int | None, n: int, n_samples: int) -> np.ndarray:
    """sacrebleu's index matrix: ``default_rng(seed).choice(n, size=(n_samples, n), replace=True)``."""
    return np.random.default_rng(seed).choice(n, size=(n_samples, n), replace=True)


def percentiles(scores: np.ndarray) -> tuple[Any, Any]:
    """sacrebleu's CI bounds: the sorted scores at n // 40 and n - n // 40 - 1 (as numpy scalars)."""
    ordered = np.sort(scores)
    low = len(ordered) // 40
    return ordered[low], ordered[len(ordered) - low - 1]


# ------------------------------------------------------------------------------------- exact resample sums


def dyadic_bits(values: np.ndarray, max_bits: int) -> int | None:
    """Smallest j <= max_bits with every value * 2^j an integer, or None."""
    if values.size == 0:
        return 0
    if not np.all(np.isfinite(values)):
        return None
    for j in range(max_bits + 1):
        scaled = values * float(2**j)  # exact: a power of two
        if np.all(scaled == np.floor(scaled)):
            return j
    return None


def _counts(idxs: np.ndarray, n: int, rows: slice) -> np.ndarray:
    """How often each segment occurs in each resample of ``idxs[rows]``: (rows, n) float64."""
    block = idxs[rows]
    r = block.shape[0]
    flat = (block + (np.arange(r, dtype=np.int64) * n)[:, None]).ravel()
    return np.bincount(flat, minlength=r * n).reshape(r, n).astype(np.float64)


def bootstrap_sums(idxs: np.ndarray, arrays: list[np.ndarray]) -> list[np.ndarray]:
    """For each float32 (n, k) array: the (N, k) float32 array of ``arrays[i][row].sum(0)`` for every row of
    ``idxs``, equal element for element to what sacrebleu computes (see the module docstring)."""
    n = idxs.shape[1]
    exact: list[tuple[int, int]] = []  # (array index, dyadic bits)
    literal: list[int] = []
    for i, arr in enumerate(arrays):
        bits = dyadic_bits(arr, 8) if arr.size and arr.min() >= 0 else None
        if bits is not None:
            exact.append((i, bits))
        else:
            literal.append(i)
    out: list[np.ndarray | None] = [None] * len(arrays)
    if exact:
        stacked = np.hstack([arrays[i].astype(np.float64) for i, _ in exact])
        sums = np.empty((idxs.shape[0], stacked.shape[1]), dtype=np.float64)
        for start in range(0, idxs.shape[0], CHUNK_ROWS):
            rows = slice(start, start + CHUNK_ROWS)
            sums[rows] = _counts(idxs, n, rows) @ stacked
        col = 0
        for i, bits in exact:
            k = arrays[i].shape[1]
            part = sums[:, col : col + k]
            col += k
            # Non-negative values: every partial sum is at most the total, so all are exact below the bound.
            if part.size and part.max() * 2.0**bits >= 2.0**24:
                literal.append(i)
                continue
            out[i] = part.astype(np.float32)
    for i in literal:
        arr = arrays[i]
        out[i] = np.stack([arr[row].sum(0) for row in idxs]) if len(idxs) else np.zeros((0, arr.shape[1]), np.float32)
    return cast(list[np.ndarray], out)  # every index was in `exact` or `literal`


# ----------------------------------------------------------------------------------- scores per resample


def python_rows(scorer: CorpusScorer, rows: int) -> int:
    """How many of ``rows`` resample scores are computed one by one in Python (to decide on a process pool)."""
    return 0 if scorer.vectorised else rows


def map_tasks(fn: Callable[..., T], tasks: list[tuple], workers: int, python_rows: int) -> list[T]:
    """``[fn(*t) for t in tasks]``, in a fork pool when there is enough Python work for it to pay."""
    if workers > 1 and len(tasks) > 1 and python_rows >= PARALLEL_ROWS:
        pool = process_pool(min(workers, len(tasks)))
        if pool is not None:
            with pool:
                return list(pool.map(fn, *zip(*tasks, strict=True)))
    return [fn(*t) for t in tasks]


def _score_task(scorer: CorpusScorer, sums: np.ndarray) -> np.ndarray:
    return scorer.resample_scores(sums)


def resampled_scores(
    scorer: CorpusScorer, stats_by_name: Mapping[Name, Sequence], idxs: np.ndarray, workers: int = 1
) -> dict[Name, np.ndarray]:
    """Every system's score on every resample of ``idxs`` (rows of segment indices), as sacrebleu's
    ``_bootstrap_resample`` computes them: float32 sums of the statistics, scored by the metric."""
    names = list(stats_by_name)
    arrays = [np.array(stats_by_name[name], dtype="float32") for name in names]
    sums = bootstrap_sums(idxs, arrays)
    tasks = [(scorer, s) for s in sums]
    scores = map_tasks(_score_task, tasks, workers, python_rows(scorer, len(idxs) * len(names)))
    return dict(zip(names, scores, strict=True))


__all__ = [
    "CHUNK_ROWS",
    "PARALLEL_ROWS",
    "SEED",
    "bootstrap_sums",
    "check_samples",
    "dyadic_bits",
    "indices",
    "map_tasks",
    "percentiles",
    "python_rows",
    "resampled_scores",
]
