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
- Resample sums are one exact matrix product (``evalharness.statistics.resampling``) instead of gathering an
  (N, n, k) array per system.
- Scores per resample come from the metric's ``CorpusScorer`` (``evalharness.metrics.protocol``); this module
  never asks which metric it has. sacrebleu's metrics have exact vectorised fast paths beside them
  (``metrics/chrf.py``, ``ter.py``, ``bleu.py``): chrF/chrF++ (without eps smoothing) and TER are plain float
  arithmetic, evaluated as numpy arrays with the same dtype and the same operation order (IEEE results are
  identical); BLEU needs ``math.log``/``math.exp`` (numpy's may differ in the last bit), so its precisions are
  vectorised and the rest is a small Python loop with the math module. Any row that takes an unusual branch (a
  zero count, an empty reference, add-k smoothing, chrF eps smoothing) goes through sacrebleu's own
  ``_compute_score_from_stats``.
- Results are plain Python floats (sacrebleu's CLI crashes serialising its float32 chrF scores to JSON).

Deviations: ``seed=0`` is a seed here; sacrebleu's PairedTest passes ``seed or None``, so with
``SACREBLEU_SEED=0`` its per-system resamples are unseeded. Where sacrebleu itself fails
(``statistics.mean`` over a mix of float32 and float scores, possible only when some resample scores exactly
0 in chrF), we return the mean of the float64 values.
"""

from __future__ import annotations

import statistics
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, NamedTuple, TypeVar

import numpy as np
from sacrebleu.significance import estimate_ci

from evalharness.errors import UserError
from evalharness.metrics import sacrebleu_adapter as sb
from evalharness.metrics import scorer_for
from evalharness.statistics.resampling import (
    CHUNK_ROWS,
    SEED,
    bootstrap_sums,
    check_samples,
    dyadic_bits,
    indices,
    map_tasks,
    percentiles,
    python_rows,
    resampled_scores,
)

DEFAULT_SAMPLES = {"bs": 1000, "ar": 10000}  # sacrebleu's PairedTest defaults

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


# ------------------------------------------------------------------------------------------------- input


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


# ----------------------------------------------------------------------------------- scores per resample


def resample_scores(metric, sums: np.ndarray) -> np.ndarray:
    """``np.array([scorer._compute_score_from_stats(row).score for row in sums])``, faster where exact: the
    metric's (evalharness, sacrebleu or `CorpusScorer`) `resample_scores`."""
    return scorer_for(metric).resample_scores(sums)


# ----------------------------------------------------------------------------------------------- bootstrap


def percentile_interval(samples: np.ndarray) -> tuple[float, float]:
    """The 95% percentile interval of resampled values by sacrebleu's rule (sorted values at n // 40 and
    n - n // 40 - 1), as Python floats; used for the CI of a difference to the baseline."""
    low, high = percentiles(np.asarray(samples, dtype=np.float64))
    return float(low), float(high)


def _corpus_ci(scores: np.ndarray) -> tuple[float, float, float, float]:
    """``Score.estimate_ci``: mean (statistics.mean over sacrebleu's score objects), low, high, half width."""
    objects = scores.tolist() if scores.dtype == np.float64 else list(scores)
    lower, upper = percentiles(scores)
    if scores.dtype == np.float64:
        lower, upper = float(lower), float(upper)  # sacrebleu sorts Python floats here
    half_width = 0.5 * (upper - lower)
    try:
        mean = statistics.mean(objects)
    except TypeError:  # sacrebleu fails here (mixed float32/float); see the module docstring
        mean = statistics.mean(scores.astype(np.float64).tolist())
    return float(mean), float(lower), float(upper), float(half_width)


def bootstrap(
    metric, target_lang: str, n_refs: int, stats: Sequence, n_samples: int = 1000, seed: int | None = SEED
) -> BootstrapResult:
    """Bootstrap estimate of one corpus score from its per-segment statistics (``MetricResult.stats``), equal to
    sacrebleu's ``corpus_score(hyps, refs, n_bootstrap=n_samples)`` with ``SACREBLEU_SEED=seed``
    (``seed=None``: unseeded, like ``SACREBLEU_SEED=none``)."""
    n_samples = check_samples(n_samples, "bootstrap")
    n = _check_stats({"system": stats})
    scorer = scorer_for(metric, target_lang, n_refs)
    score = scorer.corpus_score(stats)
    idxs = indices(seed, n, n_samples)
    sums = bootstrap_sums(idxs, [np.array(stats, dtype="float32")])[0]
    scores = scorer.resample_scores(sums)
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
    low, high = percentiles(scores)
    return PairedResult(float(score), float(mean), float(ci), p_value, float(low), float(high), delta)


def _bs_compare(bl_score: float, bl_scores: np.ndarray, sys_score: float, sys_scores: np.ndarray) -> float:
    """The p-value of ``_paired_bs_test`` from both systems' resample scores."""
    diff = abs(bl_score - sys_score)
    sample_diffs = np.abs(sys_scores - bl_scores)
    return float(sb.p_value(sample_diffs - sample_diffs.mean(), diff))


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
    n_samples = check_samples(n_samples, "paired bootstrap")
    named: dict[Any, Sequence] = {"\0baseline": baseline_stats, **system_stats}
    n = _check_stats(named)
    scorer = scorer_for(metric, target_lang, n_refs)
    idxs = indices(seed, n, n_samples)
    scores = resampled_scores(scorer, named, idxs, workers)
    bl_scores = scores["\0baseline"]
    bl_score = scorer.corpus_score(baseline_stats)
    results: dict[SystemKey, PairedResult] = {}
    if baseline_name is not None:
        results[baseline_name] = _paired_row(bl_score, bl_scores, None)
    for name, stats in system_stats.items():
        sys_score = scorer.corpus_score(stats)
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
            b = dyadic_bits(m, 16)
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
    scores_a = scorer.resample_scores(shuf_a)
    scores_b = scorer.resample_scores(shuf_b)
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
    n_samples = check_samples(n_samples, "approximate randomization")
    if n_ar_confidence == 0:
        n_ar_confidence = DEFAULT_SAMPLES["bs"]
    named: dict[Any, Sequence] = {"\0baseline": baseline_stats, **system_stats}
    n = _check_stats(named)
    scorer = scorer_for(metric, target_lang, n_refs)
    pos, bs_idxs = _ar_draws(seed, n, n_samples, n_ar_confidence)
    swaps = _Swaps(pos, {name: _as_matrix(stats) for name, stats in named.items()})
    bl_score = scorer.corpus_score(baseline_stats)
    sys_scores = {name: scorer.corpus_score(stats) for name, stats in system_stats.items()}
    tasks = [(scorer, bl_score, sys_scores[name], *swaps.pair("\0baseline", name)) for name in system_stats]
    p_values = map_tasks(_ar_task, tasks, workers, python_rows(scorer, 2 * n_samples * len(tasks)))

    results: dict[SystemKey, PairedResult] = {}
    if baseline_name is not None:
        if n_ar_confidence > 0:
            # sacrebleu: the baseline's CI comes from _bootstrap_resample, a freshly seeded generator.
            bl_boot = resampled_scores(scorer, {"b": baseline_stats}, indices(seed, n, n_ar_confidence), 1)["b"]
            results[baseline_name] = _paired_row(bl_score, bl_boot, None)
        else:
            results[baseline_name] = PairedResult(float(bl_score), None, None, None)
    boot = resampled_scores(scorer, system_stats, bs_idxs, workers) if bs_idxs is not None else {}
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
    n_samples = check_samples(n_samples or DEFAULT_SAMPLES[test], f"paired test {test}")
    n = _check_stats(system_stats)
    scorer = scorer_for(metric, target_lang, n_refs)
    names = list(system_stats)
    raw = {name: scorer.corpus_score(system_stats[name]) for name in names}
    scores = {name: float(value) for name, value in raw.items()}
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1 :]]
    if test == "bs":
        resampled = resampled_scores(scorer, system_stats, indices(seed, n, n_samples), workers)
        values = [_bs_compare(raw[a], resampled[a], raw[b], resampled[b]) for a, b in pairs]
    else:
        pos, _ = _ar_draws(seed, n, n_samples, -1)
        swaps = _Swaps(pos, {name: _as_matrix(system_stats[name]) for name in names})
        tasks = [(scorer, raw[a], raw[b], *swaps.pair(a, b)) for a, b in pairs]
        values = map_tasks(_ar_task, tasks, workers, python_rows(scorer, 2 * n_samples * len(tasks)))
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
    direction = scorer_for(metric, target_lang, n_refs).higher_is_better
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
