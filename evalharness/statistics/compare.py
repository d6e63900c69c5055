"""Comparing the systems of one dataset and metric: bootstrap confidence intervals, paired significance against
a baseline, and WMT clusters and rank ranges of all pairs, all from the per-segment statistics the
scoring already computed (evalharness.statistics.significance reproduces sacrebleu's tests exactly on them)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import Field

from evalharness.configtypes import Strict
from evalharness.metrics.base import Metric
from evalharness.statistics.significance import (
    SEED,
    SystemKey,
    bootstrap,
    paired_bootstrap,
    paired_randomization,
    percentile_interval,
    rank_clusters,
)


class StatisticsConfig(Strict):
    """How scores are compared. The seed and sample counts are recorded in the results (config.yaml)."""

    # Caps: an index matrix of resamples x segments is held in memory (10^5 x 2000 segments is 1.6 GB).
    bootstrap: int = Field(
        strict=True, default=1000, ge=0, le=100_000, description="resamples for confidence intervals; 0: none"
    )
    seed: int = Field(
        strict=True,
        default=SEED,
        ge=0,
        le=2**32 - 1,
        description="seed of every resampling (sacrebleu's default: 12345; numpy takes 0 to 2^32-1)",
    )
    baseline: str | None = Field(
        default=None,
        description="system that every other system is tested against; one sweep point of it as "
        "system@label or system@key=value,key=value",
    )
    test: Literal["bs", "ar"] = Field(
        default="bs", description="paired bootstrap (bs) or approximate randomization (ar)"
    )
    n_samples: int | None = Field(
        strict=True, default=None, ge=1, le=100_000, description="resamples of the paired test (bs 1000, ar 10000)"
    )
    alpha: float = Field(default=0.05, gt=0, lt=1)
    all_pairs: bool = Field(default=False, description="test all pairs and cluster systems into ranks")


@dataclass
class CellComparison:
    """One cell's statistics for one metric (the columns of scores.csv after `score`, in this order).

    `significant`: significantly *better* than the baseline (p < alpha, better in the metric's direction);
    `significantly_worse`: significantly worse. `delta`: score - baseline score, with the 95% percentile interval
    of the difference over the CI bootstrap's resamples (the same draws for every cell, so the pairs are paired);
    `human_agreement`: the estimated share (percent) of system pairs with that delta on which humans agree with the
    metric (Kocmi et al. 2024, `statistics.humanterms`), empty for a metric without a published curve.
    `rank`: the cluster rank; `rank_low`/`rank_high`: the WMT rank range (see `significance.clusters_from_pvalues`).
    `pairs`: the paired test against every other cell tested (pairwise.csv, not a column).
    """

    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = None
    significant: bool | None = None
    baseline: str | None = None
    rank: int | None = None
    significantly_worse: bool | None = None
    delta: float | None = None
    delta_ci_low: float | None = None
    delta_ci_high: float | None = None
    human_agreement: float | None = None  # `delta` in human terms (statistics.humanterms), where the metric has a curve
    rank_low: int | None = None
    rank_high: int | None = None
    pairs: dict = field(default_factory=dict, repr=False)  # other cell -> PairTest


# Not a column of scores.csv: the pairs go to pairwise.csv.
PAIR_FIELD = "pairs"


@dataclass(frozen=True)
class PairTest:
    """The paired test of a cell against another: p-value, and whether this cell is significantly better (True),
    significantly worse (False) or neither (None) at the run's alpha, in the metric's direction."""

    p_value: float
    better: bool | None
    test: str
    n_samples: int


def is_baseline(baseline: str, name: str, settings: Mapping[str, Any]) -> bool:
    """Whether a cell (system `name`, swept `settings` as results show them: a labelled value as its label) is
    the `statistics.baseline`: `system` (any of its sweep points; the run takes the first), or
    `system@part,part` where each part is a point's label or `key=value` (the value read as YAML: 0.3, 1, true)."""
    if baseline == name:
        return True
    system, at, point = baseline.partition("@")
    if not at or system != name:
        return False
    for part in point.split(","):
        key, eq, text = part.strip().partition("=")
        if not eq:
            if not any(isinstance(v, str) and v == key for v in settings.values()):
                return False
            continue
        if key.strip() not in settings:
            return False
        value = settings[key.strip()]
        try:
            wanted = yaml.safe_load(text)
        except yaml.YAMLError:
            wanted = text
        if not (value == wanted or str(value).lower() == text.strip().lower()):
            return False
    return True


def baseline_cell(
    baseline: str | None, names: Mapping[SystemKey, str], settings: Mapping[SystemKey, Mapping[str, Any]] | None
) -> SystemKey | None:
    """The first cell that `baseline` names (see `is_baseline`), or None."""
    if baseline is None:
        return None
    return next((c for c, n in names.items() if is_baseline(baseline, n, (settings or {}).get(c, {}))), None)


def _verdict(ranked: Mapping, cell, other) -> bool | None:
    if other in ranked[cell].better_than:
        return True
    if other in ranked[cell].worse_than:
        return False
    return None


def _no_progress(units: int) -> None:
    pass


def compare_work(
    cfg: StatisticsConfig,
    names: Mapping[SystemKey, str],
    settings: Mapping[SystemKey, Mapping[str, Any]] | None = None,
) -> int:
    """Units of work of `compare` for one metric (a bootstrap per cell, a test per cell against the baseline, one
    per pair for the ranks), so that a progress bar can show an ETA."""
    n = len(names)
    base = baseline_cell(cfg.baseline, names, settings) is not None and n > 1
    return (n if cfg.bootstrap else 0) + (n - 1 if base else 0) + (n * (n - 1) // 2 if cfg.all_pairs and n > 1 else 0)


def compare(
    metric: Metric,
    target_lang: str,
    n_refs: int,
    stats: dict[SystemKey, list],
    names: dict[SystemKey, str],
    cfg: StatisticsConfig,
    workers: int = 1,
    advance: Callable[[int], None] = _no_progress,
    settings: Mapping[SystemKey, Mapping[str, Any]] | None = None,
) -> dict[SystemKey, CellComparison]:
    """`stats` and `names`: per cell id, its per-segment statistics and its system name; with `settings` (its
    swept settings) they find the baseline (`baseline_cell`). `advance(units)` is told of the work done, in the
    units of `compare_work`."""
    out = {cell: CellComparison() for cell in stats}
    base = baseline_cell(cfg.baseline, names, settings)
    resampled: dict[SystemKey, np.ndarray] = {}
    if cfg.bootstrap:
        for cell, seg_stats in stats.items():
            result = bootstrap(metric, target_lang, n_refs, seg_stats, cfg.bootstrap, cfg.seed)
            out[cell].ci_low, out[cell].ci_high = result.ci_low, result.ci_high
            if result.samples is not None:
                resampled[cell] = result.samples
            advance(1)
    if base is not None and base in resampled:
        for cell, samples in resampled.items():
            if cell != base:
                out[cell].delta_ci_low, out[cell].delta_ci_high = percentile_interval(samples - resampled[base])
    n_samples = cfg.n_samples or (1000 if cfg.test == "bs" else 10000)
    sign = 1.0 if metric.higher_is_better else -1.0
    if base is not None and len(stats) > 1:
        others = {cell: s for cell, s in stats.items() if cell != base}
        test = paired_bootstrap if cfg.test == "bs" else paired_randomization
        results = test(
            stats[base], others, metric, target_lang, n_refs, n_samples=n_samples, seed=cfg.seed, workers=workers
        )
        for cell, paired in results.items():
            out[cell].p_value = paired.p_value
            out[cell].delta = paired.delta
            differs = paired.significant(cfg.alpha)
            better = paired.delta is not None and sign * paired.delta > 0
            out[cell].significant = differs and better
            out[cell].significantly_worse = differs and not better
            assert paired.p_value is not None  # every system but the baseline has one
            verdict = better if differs else None
            out[cell].pairs = {base: PairTest(paired.p_value, verdict, cfg.test, n_samples)}
            out[base].pairs[cell] = PairTest(
                paired.p_value, None if verdict is None else not verdict, cfg.test, n_samples
            )
        for cell in stats:
            out[cell].baseline = cfg.baseline
        advance(len(others))
    if cfg.all_pairs and len(stats) > 1:
        ranking = rank_clusters(
            stats,
            metric,
            target_lang,
            n_refs,
            alpha=cfg.alpha,
            test=cfg.test,
            n_samples=n_samples,
            seed=cfg.seed,
            workers=workers,
        )
        ranked = {system.name: system for system in ranking.systems}
        for cell in stats:
            out[cell].rank = ranked[cell].cluster
            out[cell].rank_low, out[cell].rank_high = ranked[cell].rank_best, ranked[cell].rank_worst
            out[cell].pairs = {
                other: PairTest(ranking.p_values[(cell, other)], _verdict(ranked, cell, other), cfg.test, n_samples)
                for other in stats
                if other != cell
            }
        advance(len(stats) * (len(stats) - 1) // 2)
    return out
