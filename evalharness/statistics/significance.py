"""Bootstrap confidence intervals and paired significance tests from per-segment statistics, as sacrebleu does.

sacrebleu (2.6.0) resamples the per-segment sufficient statistics of a corpus metric:

- ``Metric.corpus_score(..., n_bootstrap=N)``: ``significance._bootstrap_resample`` draws
  ``default_rng(seed).choice(n, size=(N, n))``, sums the statistics of every resample (float32) and recomputes
  the score; ``Score.estimate_ci`` then sorts the N scores and keeps ``lower = scores[N // 40]``,
  ``upper = scores[N - N // 40 - 1]``, ``ci = 0.5 * (upper - lower)`` and ``mean = statistics.mean(scores)``.
  The printed "mu +- ci" is *not* a 1.96-sigma interval: ``ci`` is half the width of the 2.5..97.5 percentile
  range. We return ``(mean, ci_low, ci_high) = (mean, lower, upper)``: the percentile interval itself, with
  ``half_width == ci`` exactly.
- ``PairedTest(test_type='bs')`` / ``_paired_bs_test``: one index matrix for all systems (every system's test
  re-seeds the same generator), baseline and system scores per resample, ``mean, ci = estimate_ci(...)`` (numpy
  mean this time), p-value ``(#{|d_i| - mean|d| > |delta|} + 1) / (N + 1)``.
- ``PairedTest(test_type='ar')`` / ``_paired_ar_test``: a Boolean swap matrix ``rng.integers(2, size=(N, n))``,
  pseudo-systems ``pos @ A + neg @ B`` and ``neg @ A + pos @ B`` (integer statistics stay integers),
  ``_compute_p_value(|a - b|, |delta|)``; with ``n_ar_confidence > 0`` a bootstrap CI from indices drawn after the
  swap matrix (the baseline's CI from a freshly seeded generator, as sacrebleu does).

We replicate the random draws call for call, so the results are sacrebleu's, bit for bit (the tests check it on
WMT22). What we do differently, without changing a number:

- Statistics come precomputed (``evalharness.metrics.scoring``): no re-tokenizing, references once.
- Resample sums are one matrix product (resample counts x statistics, all systems stacked) instead of gathering
  an (N, n, k) array per system. sacrebleu sums float32 values one segment after the other; when every value
  is a non-negative multiple of 2^-j and every total stays below 2^(24-j), each of its partial sums is exact, so
  the exact float64 product, cast to float32, is the same array. Otherwise we gather and sum as sacrebleu does.
- Scores per resample: chrF/chrF++ (without eps smoothing) and TER are plain float arithmetic, evaluated as
  numpy arrays with the same dtype and the same operation order (IEEE results are identical); BLEU needs
  ``math.log``/``math.exp`` (numpy's may differ in the last bit), so its precisions are vectorised and the rest
  is a small Python loop with the math module. Any row that takes an unusual branch (a zero count, an empty
  reference, add-k smoothing, chrF eps smoothing) goes through sacrebleu's own ``_compute_score_from_stats``.
- Results are plain Python floats (sacrebleu's CLI crashes serialising its float32 chrF scores to JSON).

Deviations: ``seed=0`` is a seed here; sacrebleu's PairedTest passes ``seed or None``, so with
``SACREBLEU_SEED=0`` its per-system resamples are unseeded. Where sacrebleu itself fails
(``statistics.mean`` over a mix of float32 and float scores, possible only when some resample scores exactly
0 in chrF), we return the mean of the float64 values.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, NamedTuple, TypeVar, cast

import numpy as np
from sacrebleu.metrics.base import Metric as SacreMetric
from sacrebleu.metrics.bleu import BLEU
from sacrebleu.metrics.chrf import CHRF
from sacrebleu.metrics.ter import TER
from sacrebleu.significance import estimate_ci

from evalharness.errors import UserError
from evalharness.metrics import sacrebleu_adapter as sb
from evalharness.metrics.base import Metric
from evalharness.metrics.segment import SegmentScorer
from evalharness.workers import process_pool

SEED = 12345  # sacrebleu's default (SACREBLEU_SEED unset)
DEFAULT_SAMPLES = {"bs": 1000, "ar": 10000}  # sacrebleu's PairedTest defaults
# Below this many resample scores computed row by row in Python, a process pool costs more than it saves.
PARALLEL_ROWS = 60_000
# Rows of the resample-count / swap matrix per matrix product (bounds memory: rows x segments x 8 bytes).
CHUNK_ROWS = 1024

# A system's key: its name, or another hashable, sortable key (the runner's cell ids); results are keyed alike.
SystemKey = TypeVar("SystemKey", bound=Hashable)


# ---------------------------------------------------------------------------------------------------- results


class CI(NamedTuple):
    """Bootstrap estimate: mean of the resampled scores and the 2.5/97.5 percentile bounds."""

    mean: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class BootstrapResult:
    """What ``corpus_score(..., n_bootstrap=n_samples)`` computes, from the same draws.

    ``mean`` is sacrebleu's ``Score._mean``, ``half_width`` its ``Score._ci`` (the "+-" it prints), and
    ``ci_low``/``ci_high`` the two sorted resample scores that ``half_width`` is half the distance between.
    """

    score: float
    mean: float
    ci_low: float
    ci_high: float
    half_width: float
    n_samples: int
    seed: int | None
    # The resample scores (float64), in the order of the draws: cells bootstrapped with the same seed and segment
    # count share the draws, so differences of their samples are a paired bootstrap of the difference.
    samples: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def ci(self) -> CI:
        return CI(self.mean, self.ci_low, self.ci_high)


@dataclass(frozen=True)
class PairedResult:
    """One system's row of sacrebleu's PairedTest: ``score``, ``mean`` and ``ci`` (the +- half width, None when
    sacrebleu reports none, as for AR without ``n_ar_confidence``), ``p_value`` (None for the baseline), the
    percentile bounds ``ci_low``/``ci_high`` behind ``ci``, and ``delta`` = score - baseline score.

    ``significant(alpha)``: p < alpha *and* a non-zero difference. sacrebleu's p-value counts resamples whose
    centred difference is strictly above the observed one, so a system identical to the baseline gets the
    smallest p-value, 1 / (n_samples + 1); we keep that p-value but do not call a zero difference significant.
    """

    score: float
    mean: float | None
    ci: float | None
    p_value: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    delta: float | None = None

    def significant(self, alpha: float = 0.05) -> bool:
        return self.p_value is not None and self.p_value < alpha and bool(self.delta)


# ----------------------------------------------------------------------------------------------- the metric


def _scorer(metric, target_lang: str, n_refs: int):
    """The sacrebleu object (evalharness Metric or a sacrebleu metric) and whether higher scores are better."""
    if isinstance(metric, Metric):
        scorer = metric.build(target_lang)
        sb.set_num_refs(scorer, n_refs)
        return scorer, metric.higher_is_better
    if isinstance(metric, SacreMetric):
        return metric, not isinstance(metric, TER)
    raise TypeError(f"expected an evalharness or sacrebleu metric, got {type(metric).__name__}")


def _check_stats(named: Mapping[Any, Sequence]) -> int:
    lengths = {name: len(stats) for name, stats in named.items()}
    if not lengths:
        raise UserError("significance: no systems")
    n = next(iter(lengths.values()))
    if n == 0:
        raise UserError("significance: no segments")
    bad = {name: length for name, length in lengths.items() if length != n}
    if bad:
        raise UserError(f"significance: every system needs {n} segment statistics; got {bad}")
    return n


def _check_samples(n_samples: int, what: str) -> int:
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
        raise UserError(f"{what}: the number of samples must be a positive integer, got {n_samples!r}")
    return int(n_samples)


# ------------------------------------------------------------------------------------- exact resample sums


def _dyadic_bits(values: np.ndarray, max_bits: int) -> int | None:
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


def _bootstrap_sums(idxs: np.ndarray, arrays: list[np.ndarray]) -> list[np.ndarray]:
    """For each float32 (n, k) array: the (N, k) float32 array of ``arrays[i][row].sum(0)`` for every row of
    ``idxs``, equal element for element to what sacrebleu computes (see the module docstring)."""
    n = idxs.shape[1]
    exact: list[tuple[int, int]] = []  # (array index, dyadic bits)
    literal: list[int] = []
    for i, arr in enumerate(arrays):
        bits = _dyadic_bits(arr, 8) if arr.size and arr.min() >= 0 else None
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


def _merge(values: np.ndarray, edge: np.ndarray, scorer, sums: np.ndarray) -> np.ndarray:
    """Rows flagged ``edge`` through sacrebleu itself; the array gets the dtype ``np.array`` would give sacrebleu's
    list of scores (a Python float among float32 scores makes it float64)."""
    rows = np.flatnonzero(edge)
    if rows.size == 0:
        return values
    theirs = [sb.score_from_stats(scorer, sums[r].copy()).score for r in rows]
    dtype = np.array([values.dtype.type(0), *theirs]).dtype
    values = values.astype(dtype)
    values[rows] = theirs
    return values


def _float_type(sums: np.ndarray):
    """The dtype sacrebleu's arithmetic ends up in: float32 statistics stay float32; integer and float64
    statistics (the AR test's pseudo-systems) give float64."""
    return np.float32 if sums.dtype == np.float32 else np.float64


def _chrf_scores(scorer: CHRF, sums: np.ndarray) -> np.ndarray | None:
    """CHRF._compute_f_score, vectorised in the same dtype and operation order."""
    if scorer.eps_smoothing:
        return None
    F = _float_type(sums)
    order = scorer.order
    factor = scorer.beta**2
    s = sums.astype(F) if sums.dtype != F else sums  # integers < 2^53 convert exactly, as numpy's division does
    hyp, ref, match = s[:, 0 : 3 * order : 3], s[:, 1 : 3 * order : 3], s[:, 2 : 3 * order : 3]
    edge = ~((hyp > 0) & (ref > 0)).all(axis=1)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        prec = match / hyp
        rec = match / ref
        # avg_prec = 0.0; avg_prec += prec (float32 + weak Python float stays float32), one order after another
        avg_prec, avg_rec = prec[:, 0].copy(), rec[:, 0].copy()
        for i in range(1, order):
            avg_prec = avg_prec + prec[:, i]
            avg_rec = avg_rec + rec[:, i]
        avg_prec = avg_prec / F(order)
        avg_rec = avg_rec / F(order)
        edge |= (avg_prec + avg_rec) == 0
        score = (F(1 + factor) * avg_prec) * avg_rec
        score = score / ((F(factor) * avg_prec) + avg_rec)
        values = F(100) * score
    return _merge(values, edge, scorer, sums)


def _ter_scores(scorer: TER, sums: np.ndarray) -> np.ndarray:
    """TER._compute_score_from_stats, vectorised."""
    F = _float_type(sums)
    s = sums.astype(F) if sums.dtype != F else sums
    edits, ref_len = s[:, 0], s[:, 1]
    edge = ~(ref_len > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        values = F(100) * (edits / ref_len)
    return _merge(values, edge, scorer, sums)


def _bleu_scores(scorer: BLEU, sums: np.ndarray) -> np.ndarray | None:
    """BLEU.compute_bleu: precisions as arrays (same dtype, same order), logs and exps with the math module."""
    if scorer.smooth_method == "add-k":
        return None
    F = _float_type(sums)
    order = scorer.max_ngram_order
    s = sums.astype(F) if sums.dtype != F else sums
    correct, total = s[:, 2 : 2 + order], s[:, 2 + order : 2 + 2 * order]
    edge = ~((correct > 0).all(axis=1) & (total > 0).all(axis=1) & (s[:, 0] >= 1) & (s[:, 1] >= 0))
    with np.errstate(divide="ignore", invalid="ignore"):
        precisions = (F(100.0) * correct) / total
    plist = precisions.tolist()  # exact conversion to Python floats, as math.log does with numpy scalars
    sys_lens = s[:, 0].tolist()
    ref_lens = s[:, 1].tolist()
    values = np.zeros(len(s), dtype=np.float64)
    exp, log = math.exp, math.log
    for r in np.flatnonzero(~edge).tolist():
        sys_len, ref_len = int(sys_lens[r]), int(ref_lens[r])
        bp = exp(1 - ref_len / sys_len) if sys_len < ref_len else 1.0
        total_log: float = 0
        for p in plist[r]:
            total_log += log(p) if p != 0.0 else -9999999999
        values[r] = bp * exp(total_log / order)
    return _merge(values, edge, scorer, sums)


def resample_scores(scorer, sums: np.ndarray) -> np.ndarray:
    """``np.array([scorer._compute_score_from_stats(row).score for row in sums])``, faster where exact."""
    values = None
    if len(sums):
        if isinstance(scorer, SegmentScorer):
            values = scorer.resample_scores(sums)
        elif type(scorer) is CHRF:
            values = _chrf_scores(scorer, sums)
        elif type(scorer) is TER:
            values = _ter_scores(scorer, sums)
        elif type(scorer) is BLEU:
            values = _bleu_scores(scorer, sums)
    if values is None:
        values = np.array([sb.score_from_stats(scorer, row.copy()).score for row in sums])
    return values


def _python_rows(scorer, rows: int) -> int:
    """How many of ``rows`` resample scores are computed one by one in Python (to decide on a process pool)."""
    vectorised = (
        (type(scorer) is CHRF and not scorer.eps_smoothing) or type(scorer) is TER or isinstance(scorer, SegmentScorer)
    )
    return 0 if vectorised else rows


def _map(fn, tasks: list, workers: int, python_rows: int) -> list:
    """``[fn(*t) for t in tasks]``, in a fork pool when there is enough Python work for it to pay."""
    if workers > 1 and len(tasks) > 1 and python_rows >= PARALLEL_ROWS:
        pool = process_pool(min(workers, len(tasks)))
        if pool is not None:
            with pool:
                return list(pool.map(fn, *zip(*tasks, strict=True)))
    return [fn(*t) for t in tasks]


# ----------------------------------------------------------------------------------------------- bootstrap


def _float(x) -> float | None:
    return None if x is None else float(x)


def _percentiles(scores: np.ndarray) -> tuple:
    """sacrebleu's CI bounds: the sorted scores at n // 40 and n - n // 40 - 1 (as numpy scalars)."""
    ordered = np.sort(scores)
    low = len(ordered) // 40
    return ordered[low], ordered[len(ordered) - low - 1]


def percentile_interval(samples: np.ndarray) -> tuple[float, float]:
    """The 95% percentile interval of resampled values by sacrebleu's rule (sorted values at n // 40 and
    n - n // 40 - 1), as Python floats; used for the CI of a difference to the baseline."""
    low, high = _percentiles(np.asarray(samples, dtype=np.float64))
    return float(low), float(high)


def _corpus_ci(scores: np.ndarray) -> tuple[float, float, float, float]:
    """``Score.estimate_ci``: mean (statistics.mean over sacrebleu's score objects), low, high, half width."""
    objects = scores.tolist() if scores.dtype == np.float64 else list(scores)
    lower, upper = _percentiles(scores)
    if scores.dtype == np.float64:
        lower, upper = float(lower), float(upper)  # sacrebleu sorts Python floats here
    half_width = 0.5 * (upper - lower)
    try:
        mean = statistics.mean(objects)
    except TypeError:  # sacrebleu fails here (mixed float32/float); see the module docstring
        mean = statistics.mean(scores.astype(np.float64).tolist())
    return float(mean), float(lower), float(upper), float(half_width)


def _indices(seed: int | None, n: int, n_samples: int) -> np.ndarray:
    """sacrebleu's index matrix: ``default_rng(seed).choice(n, size=(n_samples, n), replace=True)``."""
    return np.random.default_rng(seed).choice(n, size=(n_samples, n), replace=True)


def bootstrap(
    metric, target_lang: str, n_refs: int, stats: Sequence, n_samples: int = 1000, seed: int | None = SEED
) -> BootstrapResult:
    """Bootstrap estimate of one corpus score from its per-segment statistics (``MetricResult.stats``), equal to
    sacrebleu's ``corpus_score(hyps, refs, n_bootstrap=n_samples)`` with ``SACREBLEU_SEED=seed``
    (``seed=None``: unseeded, like ``SACREBLEU_SEED=none``)."""
    n_samples = _check_samples(n_samples, "bootstrap")
    n = _check_stats({"system": stats})
    scorer, _ = _scorer(metric, target_lang, n_refs)
    score = sb.aggregate(scorer, stats).score
    idxs = _indices(seed, n, n_samples)
    sums = _bootstrap_sums(idxs, [np.array(stats, dtype="float32")])[0]
    scores = resample_scores(scorer, sums)
    mean, low, high, half = _corpus_ci(scores)
    return BootstrapResult(float(score), mean, low, high, half, n_samples, seed, scores.astype(np.float64))


def bootstrap_ci(
    metric, target_lang: str, n_refs: int, stats: Sequence, n_samples: int = 1000, seed: int | None = SEED
) -> CI:
    """``(mean, ci_low, ci_high)`` of :func:`bootstrap`: sacrebleu's bootstrap mean and the percentile interval
    whose half width is the "+-" sacrebleu prints."""
    return bootstrap(metric, target_lang, n_refs, stats, n_samples, seed).ci


# ---------------------------------------------------------------------------------------- paired bootstrap


def _delta(score, baseline_score, p_value) -> float | None:
    return None if p_value is None else float(score - baseline_score)


def _paired_row(score: float, scores: np.ndarray, p_value: float | None, delta: float | None = None) -> PairedResult:
    mean, ci = estimate_ci(scores)
    low, high = _percentiles(scores)
    return PairedResult(float(score), float(mean), float(ci), p_value, float(low), float(high), delta)


def _bs_compare(bl_score: float, bl_scores: np.ndarray, sys_score: float, sys_scores: np.ndarray) -> float:
    """The p-value of ``_paired_bs_test`` from both systems' resample scores."""
    diff = abs(bl_score - sys_score)
    sample_diffs = np.abs(sys_scores - bl_scores)
    return float(sb.p_value(sample_diffs - sample_diffs.mean(), diff))


def _score_task(scorer, sums):
    return resample_scores(scorer, sums)


def _bs_scores(scorer, stats_by_name: Mapping[Any, Sequence], idxs: np.ndarray, workers: int) -> dict[Any, np.ndarray]:
    names = list(stats_by_name)
    arrays = [np.array(stats_by_name[name], dtype="float32") for name in names]
    sums = _bootstrap_sums(idxs, arrays)
    scores = _map(_score_task, [(scorer, s) for s in sums], workers, _python_rows(scorer, len(idxs) * len(names)))
    return dict(zip(names, scores, strict=True))


def paired_bootstrap(
    baseline_stats: Sequence,
    system_stats: Mapping[SystemKey, Sequence],
    metric,
    target_lang: str = "",
    n_refs: int = 1,
    n_samples: int = 1000,
    seed: int | None = SEED,
    baseline_name: SystemKey | None = None,
    workers: int = 1,
) -> dict[SystemKey, PairedResult]:
    """Paired bootstrap resampling of every system against the baseline: sacrebleu's
    ``PairedTest(test_type='bs', n_samples=n_samples)`` with ``SACREBLEU_SEED=seed``, from per-segment statistics.

    Returns ``{name: PairedResult}`` in the order of ``system_stats``; with ``baseline_name`` the baseline comes
    first, with its score, bootstrap mean and CI and no p-value (sacrebleu's first row). ``target_lang`` and
    ``n_refs`` only matter for building the sacrebleu object (scores from statistics do not depend on them).
    """
    n_samples = _check_samples(n_samples, "paired bootstrap")
    named: dict[Any, Sequence] = {"\0baseline": baseline_stats, **system_stats}
    n = _check_stats(named)
    scorer, _ = _scorer(metric, target_lang, n_refs)
    idxs = _indices(seed, n, n_samples)
    scores = _bs_scores(scorer, named, idxs, workers)
    bl_scores = scores["\0baseline"]
    bl_score = sb.aggregate(scorer, baseline_stats).score
    results: dict[SystemKey, PairedResult] = {}
    if baseline_name is not None:
        results[baseline_name] = _paired_row(bl_score, bl_scores, None)
    for name, stats in system_stats.items():
        sys_score = sb.aggregate(scorer, stats).score
        p = _bs_compare(bl_score, bl_scores, sys_score, scores[name])
        results[name] = _paired_row(sys_score, scores[name], p, _delta(sys_score, bl_score, p))
    return results


# ------------------------------------------------------------------------------- approximate randomization


def _as_matrix(stats: Sequence) -> np.ndarray:
    """What numpy makes of a list of statistics in ``pos_sel @ stats`` (int64 for counts, float64 for TER)."""
    return np.asarray(stats)


def _exact_products(pos: np.ndarray, mats: list[np.ndarray]) -> list[np.ndarray] | None:
    """``pos @ m`` for every matrix, exactly, through float64 BLAS in chunks; None if exactness is not certain."""
    bits = []
    for m in mats:
        b: int | None
        if m.dtype.kind in "iub":
            b = 0
        elif m.dtype.kind == "f":
            b = _dyadic_bits(m, 16)
        else:
            return None
        if b is None or (m.size and np.abs(m.astype(np.float64)).sum(axis=0).max() * 2.0**b >= 2.0**52):
            return None
        bits.append(b)
    stacked = np.hstack([m.astype(np.float64) for m in mats])
    out = np.empty((pos.shape[0], stacked.shape[1]), dtype=np.float64)
    for start in range(0, pos.shape[0], CHUNK_ROWS):
        rows = slice(start, start + CHUNK_ROWS)
        out[rows] = pos[rows].astype(np.float64) @ stacked
    parts, col = [], 0
    for m in mats:
        k = m.shape[1]
        part = out[:, col : col + k]
        col += k
        parts.append(part.astype(m.dtype) if m.dtype.kind in "iub" else part)
    return parts


class _Swaps:
    """The AR pseudo-systems of any pair of systems, from one product ``pos @ stats`` per system:
    ``pos @ A + neg @ B == P_A + (colsum B - P_B)`` and ``neg @ A + pos @ B == (colsum A - P_A) + P_B``
    (exact: integer or dyadic values far from the float64 limit). Falls back to sacrebleu's expressions."""

    def __init__(self, pos: np.ndarray, mats: dict[Any, np.ndarray]):
        self.pos = pos
        self.mats = mats
        products = _exact_products(pos, list(mats.values()))
        self.products = None if products is None else dict(zip(mats, products, strict=True))
        self.colsums = {name: m.sum(axis=0) for name, m in mats.items()}

    def pair(self, a: Hashable, b: Hashable) -> tuple[np.ndarray, np.ndarray]:
        A, B = self.mats[a], self.mats[b]
        dtype = np.result_type(self.pos.dtype, A.dtype, B.dtype)
        if self.products is None:
            pos = self.pos
            neg = ~pos
            return pos @ A + neg @ B, neg @ A + pos @ B
        Pa, Pb = self.products[a], self.products[b]
        shuf_a = Pa + (self.colsums[b] - Pb)
        shuf_b = (self.colsums[a] - Pa) + Pb
        return shuf_a.astype(dtype, copy=False), shuf_b.astype(dtype, copy=False)


def _ar_pvalue(scorer, bl_score: float, sys_score: float, shuf_a: np.ndarray, shuf_b: np.ndarray) -> float:
    scores_a = resample_scores(scorer, shuf_a)
    scores_b = resample_scores(scorer, shuf_b)
    return float(sb.p_value(np.abs(scores_a - scores_b), abs(bl_score - sys_score)))


def _ar_task(scorer, bl_score, sys_score, shuf_a, shuf_b):
    return _ar_pvalue(scorer, bl_score, sys_score, shuf_a, shuf_b)


def _ar_draws(seed: int | None, n: int, n_samples: int, n_ar_confidence: int):
    rng = np.random.default_rng(seed)
    pos = rng.integers(2, size=(n_samples, n), dtype=bool)
    bs_idxs = rng.choice(n, size=(n_ar_confidence, n), replace=True) if n_ar_confidence > 0 else None
    return pos, bs_idxs


def paired_randomization(
    baseline_stats: Sequence,
    system_stats: Mapping[SystemKey, Sequence],
    metric,
    target_lang: str = "",
    n_refs: int = 1,
    n_samples: int = 10000,
    n_ar_confidence: int = -1,
    seed: int | None = SEED,
    baseline_name: SystemKey | None = None,
    workers: int = 1,
) -> dict[SystemKey, PairedResult]:
    """Paired approximate randomization of every system against the baseline: sacrebleu's
    ``PairedTest(test_type='ar', n_samples=n_samples, n_ar_confidence=n_ar_confidence)`` with
    ``SACREBLEU_SEED=seed``. ``n_ar_confidence``: -1 no CI (``mean``/``ci`` None), 0 the default 1000, N > 0 a
    bootstrap CI from N resamples drawn after the swap matrix, as sacrebleu draws them."""
    n_samples = _check_samples(n_samples, "approximate randomization")
    if n_ar_confidence == 0:
        n_ar_confidence = DEFAULT_SAMPLES["bs"]
    named: dict[Any, Sequence] = {"\0baseline": baseline_stats, **system_stats}
    n = _check_stats(named)
    scorer, _ = _scorer(metric, target_lang, n_refs)
    pos, bs_idxs = _ar_draws(seed, n, n_samples, n_ar_confidence)
    swaps = _Swaps(pos, {name: _as_matrix(stats) for name, stats in named.items()})
    bl_score = sb.aggregate(scorer, baseline_stats).score
    sys_scores = {name: sb.aggregate(scorer, stats).score for name, stats in system_stats.items()}
    tasks = [(scorer, bl_score, sys_scores[name], *swaps.pair("\0baseline", name)) for name in system_stats]
    p_values = _map(_ar_task, tasks, workers, _python_rows(scorer, 2 * n_samples * len(tasks)))

    results: dict[SystemKey, PairedResult] = {}
    if baseline_name is not None:
        if n_ar_confidence > 0:
            # sacrebleu: the baseline's CI comes from _bootstrap_resample, a freshly seeded generator.
            bl_boot = _bs_scores(scorer, {"b": baseline_stats}, _indices(seed, n, n_ar_confidence), 1)["b"]
            results[baseline_name] = _paired_row(bl_score, bl_boot, None)
        else:
            results[baseline_name] = PairedResult(float(bl_score), None, None, None)
    boot = _bs_scores(scorer, system_stats, bs_idxs, workers) if bs_idxs is not None else {}
    for (name, _stats), p in zip(system_stats.items(), p_values, strict=True):
        delta = _delta(sys_scores[name], bl_score, p)
        if name in boot:
            results[name] = _paired_row(sys_scores[name], boot[name], p, delta)
        else:
            results[name] = PairedResult(float(sys_scores[name]), None, None, p, delta=delta)
    return results


# --------------------------------------------------------------------------------------------------- ranks


@dataclass(frozen=True)
class RankedSystem(Generic[SystemKey]):
    name: SystemKey
    score: float
    cluster: int  # 1 = best cluster; the rank reported in tables
    rank_best: int  # 1 + number of systems significantly better
    rank_worst: int  # number of systems - number of systems significantly worse
    better_than: tuple[SystemKey, ...] = ()  # systems this one is significantly better than
    worse_than: tuple[SystemKey, ...] = ()  # systems significantly better than this one


@dataclass(frozen=True)
class Ranking(Generic[SystemKey]):
    """Systems best first, with their clusters, and the two-sided p-value of every pair (both orders)."""

    systems: list[RankedSystem[SystemKey]]
    p_values: dict[tuple[SystemKey, SystemKey], float] = field(repr=False)
    higher_is_better: bool = True
    alpha: float = 0.05
    test: str = "bs"

    @property
    def clusters(self) -> list[list[SystemKey]]:
        out: list[list[SystemKey]] = []
        for system in self.systems:
            if len(out) < system.cluster:
                out.append([])
            out[-1].append(system.name)
        return out

    def rank(self, name: SystemKey) -> int:
        return next(s.cluster for s in self.systems if s.name == name)


def clusters_from_pvalues(
    scores: Mapping[SystemKey, float],
    p_values: Mapping[tuple[SystemKey, SystemKey], float],
    higher_is_better: bool = True,
    alpha: float = 0.05,
) -> list[RankedSystem[SystemKey]]:
    """Rank systems from their corpus scores and pairwise p-values (``p_values[(a, b)]`` or ``[(b, a)]``).

    "a is significantly better than b" means p < alpha and a's score is better in the metric's direction (higher, or
    lower for TER). Clusters follow the WMT findings ("each system in a cluster significantly outperforms all
    systems in lower-ranked clusters"): systems sorted best first (ties by name), and a cluster boundary between
    positions k and k+1 exactly when every system at or above k is significantly better than every system below it.
    The cluster number (1 = best) is the rank. Systems of one cluster are *not* necessarily tied: a chain of
    inseparable neighbours keeps a system in the cluster of one it is significantly worse than (their rank ranges,
    or their p-value, say so). A greedy rule ("open a new cluster when a system is significantly worse than every
    member of the current one") chains: one middling system keeps the top and the bottom in one cluster even when
    they differ, so we do not use it. Each system also gets its WMT rank range, as the WMT findings papers define
    it: best rank = 1 + number of systems significantly better than it, worst rank = number of systems not
    significantly worse than it (itself included) = number of systems - number of systems it is significantly better
    than. Unlike the clusters, ranges overlap where systems are not separable.
    """
    sign = 1.0 if higher_is_better else -1.0
    names = sorted(scores, key=lambda name: (-sign * scores[name], name))

    def p(a: SystemKey, b: SystemKey) -> float:
        if (a, b) in p_values:
            return p_values[(a, b)]
        if (b, a) in p_values:
            return p_values[(b, a)]
        raise UserError(f"rank: no p-value for the pair {a!r}, {b!r}")

    better = {
        (a, b): a != b and p(a, b) < alpha and sign * (scores[a] - scores[b]) > 0
        for a in names
        for b in names
        if a != b
    }
    cluster_of: dict[SystemKey, int] = {}
    cluster = 1
    for k, name in enumerate(names):
        cluster_of[name] = cluster
        if all(better[(upper, lower)] for upper in names[: k + 1] for lower in names[k + 1 :]):
            cluster += 1  # a boundary after position k (vacuous after the last system)
    ranked = []
    for name in names:
        above = tuple(other for other in names if other != name and better[(other, name)])
        below = tuple(other for other in names if other != name and better[(name, other)])
        ranked.append(
            RankedSystem(
                name, float(scores[name]), cluster_of[name], 1 + len(above), len(names) - len(below), below, above
            )
        )
    return ranked


def pairwise_pvalues(
    system_stats: Mapping[SystemKey, Sequence],
    metric,
    target_lang: str = "",
    n_refs: int = 1,
    test: str = "bs",
    n_samples: int | None = None,
    seed: int | None = SEED,
    workers: int = 1,
) -> tuple[dict[SystemKey, float], dict[tuple[SystemKey, SystemKey], float]]:
    """Corpus scores and the p-value of every pair, each equal to sacrebleu's PairedTest with either system of
    the pair as the baseline (both tests are symmetric in the pair). Bootstrap: every system's resample scores
    once, then all pairs; AR: one product ``pos @ stats`` per system, then the pseudo-systems of every pair."""
    if test not in DEFAULT_SAMPLES:
        raise UserError(f"significance test: expected 'bs' or 'ar', got {test!r}")
    n_samples = _check_samples(n_samples or DEFAULT_SAMPLES[test], f"paired test {test}")
    n = _check_stats(system_stats)
    scorer, _ = _scorer(metric, target_lang, n_refs)
    names = list(system_stats)
    raw = {name: sb.aggregate(scorer, system_stats[name]).score for name in names}
    scores = {name: float(value) for name, value in raw.items()}
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1 :]]
    if test == "bs":
        resampled = _bs_scores(scorer, system_stats, _indices(seed, n, n_samples), workers)
        values = [_bs_compare(raw[a], resampled[a], raw[b], resampled[b]) for a, b in pairs]
    else:
        pos, _ = _ar_draws(seed, n, n_samples, -1)
        swaps = _Swaps(pos, {name: _as_matrix(system_stats[name]) for name in names})
        tasks = [(scorer, raw[a], raw[b], *swaps.pair(a, b)) for a, b in pairs]
        values = _map(_ar_task, tasks, workers, _python_rows(scorer, 2 * n_samples * len(tasks)))
    p_values: dict[tuple[SystemKey, SystemKey], float] = {}
    for (a, b), value in zip(pairs, values, strict=True):
        p_values[(a, b)] = p_values[(b, a)] = value
    return scores, p_values


def rank_clusters(
    system_stats: Mapping[SystemKey, Sequence],
    metric,
    target_lang: str = "",
    n_refs: int = 1,
    higher_is_better: bool | None = None,
    alpha: float = 0.05,
    test: str = "bs",
    n_samples: int | None = None,
    seed: int | None = SEED,
    workers: int = 1,
) -> Ranking[SystemKey]:
    """All-pairs significance and WMT clusters (not ties: see :func:`clusters_from_pvalues` for the rule).
    ``higher_is_better`` defaults to the metric's direction."""
    if len(system_stats) < 2:
        raise UserError("rank: need at least two systems")
    _, direction = _scorer(metric, target_lang, n_refs)
    if higher_is_better is None:
        higher_is_better = direction
    scores, p_values = pairwise_pvalues(system_stats, metric, target_lang, n_refs, test, n_samples, seed, workers)
    systems = clusters_from_pvalues(scores, p_values, higher_is_better, alpha)
    return Ranking(systems, p_values, higher_is_better, alpha, test)


__all__ = [
    "CI",
    "BootstrapResult",
    "PairedResult",
    "RankedSystem",
    "Ranking",
    "SEED",
    "DEFAULT_SAMPLES",
    "bootstrap",
    "bootstrap_ci",
    "percentile_interval",
    "paired_bootstrap",
    "paired_randomization",
    "pairwise_pvalues",
    "clusters_from_pvalues",
    "rank_clusters",
    "resample_scores",
]
