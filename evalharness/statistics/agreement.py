"""Agreement of metrics with human judgments: system-level correlations and pairwise ranking accuracy.

For a dataset with human system scores (`human_scores:` in its config, see `evalharness.datasets.humanscores`) and each
metric, over the systems that have both a corpus score (level `segment`) and a human score:

- Pearson, Spearman and Kendall (tau-b) correlations (scipy.stats) between the metric and the human scores.
  Direction is respected: a lower-is-better metric (TER) is negated first, so +1 always means "agrees with the
  humans". With fewer than 3 systems the correlations are left empty (NaN).
- A bootstrap 95% CI for each correlation: the *segments* are resampled (the same index matrix as every other
  bootstrap of the run: `statistics.seed`, `statistics.bootstrap` resamples, sacrebleu's draw), every system's
  corpus score is recomputed from its per-segment sufficient statistics on the same resampled segments
  (`evalharness.statistics.resampling` and the metric's `CorpusScorer`: exactly sacrebleu's arithmetic), and the
  correlation recomputed (for all resamples at once: `row_correlations`, scipy's definitions, equal to a row-by-row
  scipy call). The bounds are the 2.5th and 97.5th percentiles by sacrebleu's rule (sorted values at N // 40 and
  N - N // 40 - 1). Human scores are fixed: the interval is the uncertainty due to the test set, not to the human
  judgments.
  `statistics.bootstrap: 0` gives no CI.
- Pairwise ranking accuracy: of the system pairs that the humans order (pairs with equal human scores are left
  out), the share that the metric orders the same way. A tie in the metric counts as wrong.

The identity (copy-source) baseline and systems without a human score are left out (a warning names them);
`n_systems` says how many systems were compared.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from evalharness.errors import UserError
from evalharness.metrics import scorer_for
from evalharness.statistics.resampling import SEED, check_samples, indices, percentiles, resampled_scores

if TYPE_CHECKING:
    from evalharness.metrics.scoring import MetricResult
    from evalharness.plan import Cell, CellId

CORRELATIONS = ("pearson", "spearman", "kendall")
COLUMNS = [
    "dataset",
    "metric",
    "n_systems",
    *(f"{name}{suffix}" for name in CORRELATIONS for suffix in ("", "_ci_low", "_ci_high")),
    "pairwise_accuracy",
]
MIN_SYSTEMS = 3  # fewer systems: no correlation worth reporting
NAN = float("nan")


@dataclass(frozen=True)
class Agreement:
    """One metric against the human scores on one dataset."""

    systems: tuple[str, ...]
    pearson: float
    spearman: float
    kendall: float
    pairwise_accuracy: float
    # Per correlation: (low, high) of the bootstrap 95% interval, or None without resampling.
    ci: dict[str, tuple[float, float]] | None = None

    @property
    def n_systems(self) -> int:
        return len(self.systems)

    def record(self, dataset: str, metric: str) -> dict:
        """A row of agreement.csv."""
        row: dict = {"dataset": dataset, "metric": metric, "n_systems": self.n_systems}
        for name in CORRELATIONS:
            low, high = self.ci[name] if self.ci is not None else (NAN, NAN)
            row.update({name: getattr(self, name), f"{name}_ci_low": low, f"{name}_ci_high": high})
        row["pairwise_accuracy"] = self.pairwise_accuracy
        return row


def correlations(metric_scores: ArrayLike, human_scores: ArrayLike) -> dict[str, float]:
    """Pearson, Spearman and Kendall tau-b of two score lists (already oriented: higher is better); NaN with
    fewer than 3 systems or a constant list. The same computation as for every bootstrap resample
    (:func:`row_correlations`), so an interval and its point estimate never disagree in the last bit."""
    x = np.asarray(metric_scores, dtype=np.float64)
    y = np.asarray(human_scores, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"correlations: need two lists of equal length, got {x.shape} and {y.shape}")
    return {name: float(values[0]) for name, values in row_correlations(x[None, :], y).items()}


def row_correlations(matrix: np.ndarray, human_scores: ArrayLike) -> dict[str, np.ndarray]:
    """The correlations of every row of ``matrix`` (resamples x systems) with the same human scores, at once,
    with scipy.stats: Pearson is ``pearsonr`` along the rows, Spearman ``pearsonr`` of the ``rankdata`` ranks
    (its definition; ``spearmanr`` computes the same through ``np.corrcoef``, equal up to rounding), Kendall
    tau-b from the signs of all pairs with ``kendalltau``'s arithmetic (concordant minus discordant pairs
    / sqrt(pairs untied in x) / sqrt(pairs untied in y), clipped to [-1, 1]). NaN for a constant row and with
    fewer than 3 systems."""
    x = np.asarray(matrix, dtype=np.float64)
    y = np.asarray(human_scores, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != len(y):
        raise ValueError(f"row_correlations: need a (resamples, {len(y)}) matrix, got {x.shape}")
    if len(y) < MIN_SYSTEMS or len(x) == 0:
        return {name: np.full(len(x), NAN) for name in CORRELATIONS}
    from scipy import stats as sstats  # here, not at the top: importing scipy.stats costs ~1 s per command

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant input: scipy warns and returns NaN, which is the answer
        pearson = sstats.pearsonr(x, np.broadcast_to(y, x.shape), axis=1).statistic
        spearman = sstats.pearsonr(
            sstats.rankdata(x, axis=1), np.broadcast_to(sstats.rankdata(y), x.shape), axis=1
        ).statistic
    i, j = np.triu_indices(len(y), k=1)
    sx = np.sign(x[:, i] - x[:, j])
    sy = np.sign(y[i] - y[j])
    with np.errstate(divide="ignore", invalid="ignore"):
        kendall = (sx * sy).sum(axis=1) / np.sqrt(np.count_nonzero(sx, axis=1)) / np.sqrt(np.count_nonzero(sy))
        kendall = np.where(np.isnan(kendall), NAN, np.clip(kendall, -1.0, 1.0))
    return {
        name: np.asarray(values, dtype=np.float64).reshape(len(x))
        for name, values in (("pearson", pearson), ("spearman", spearman), ("kendall", kendall))
    }


def pairwise_accuracy(metric_scores: ArrayLike, human_scores: ArrayLike) -> float:
    """Share of the system pairs with different human scores that the metric orders as the humans do (scores
    oriented: higher is better). A metric tie is wrong; NaN when the humans order no pair."""
    x = np.asarray(metric_scores, dtype=np.float64)
    y = np.asarray(human_scores, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"pairwise_accuracy: need two lists of equal length, got {x.shape} and {y.shape}")
    i, j = np.triu_indices(len(x), k=1)
    human = np.sign(y[i] - y[j])
    ordered = human != 0
    if not ordered.any():
        return NAN
    return float((np.sign(x[i] - x[j])[ordered] == human[ordered]).mean())


def agreement(
    metric,
    target_lang: str,
    n_refs: int,
    stats: Mapping[str, Sequence],
    human: Mapping[str, float],
    n_samples: int = 1000,
    seed: int | None = SEED,
    workers: int = 1,
    scores: Mapping[str, float] | None = None,
    resampled: Mapping[str, np.ndarray] | None = None,
) -> Agreement:
    """Agreement of one metric with the human scores over the systems in both ``stats`` (per-segment
    statistics, by system name) and ``human``. ``metric``: an evalharness or sacrebleu metric, or a
    ``CorpusScorer`` (its direction is respected). ``scores``: the corpus scores if already known (default: from
    ``stats``); ``resampled``: the systems' scores on the resamples of ``seed`` and ``n_samples`` if already known
    (:func:`human_resamples`; default: recomputed). ``n_samples``: 0 for no CI."""
    scorer = scorer_for(metric, target_lang, n_refs)
    sign = 1.0 if scorer.higher_is_better else -1.0
    names = [name for name in stats if name in human]
    corpus = {
        name: float(scores[name]) if scores is not None else float(scorer.corpus_score(stats[name])) for name in names
    }
    x = np.array([sign * corpus[name] for name in names], dtype=np.float64)
    y = np.array([human[name] for name in names], dtype=np.float64)
    point = correlations(x, y)
    accuracy = pairwise_accuracy(x, y) if len(names) >= 2 else NAN
    ci: dict[str, tuple[float, float]] | None = None
    if n_samples and len(names) >= MIN_SYSTEMS:
        n_samples = check_samples(n_samples, "agreement bootstrap")
        n = len(stats[names[0]])
        if any(len(stats[name]) != n for name in names):
            raise UserError("agreement: every system needs the same number of segment statistics")
        if resampled is None or any(name not in resampled for name in names):
            resampled = resampled_scores(
                scorer, {name: stats[name] for name in names}, indices(seed, n, n_samples), workers
            )
        matrix = sign * np.column_stack([np.asarray(resampled[name], dtype=np.float64) for name in names])
        ci = {}
        for name, arr in row_correlations(matrix, y).items():
            arr = arr[~np.isnan(arr)]  # a resample where some list is constant has no correlation
            low, high = percentiles(arr) if len(arr) else (NAN, NAN)
            ci[name] = (float(low), float(high))
    return Agreement(tuple(names), point["pearson"], point["spearman"], point["kendall"], accuracy, ci)


def cells_by_system(dataset, cells: Mapping[CellId, Cell]) -> dict[str, CellId]:
    """System name -> its cell, the copy-source floor left out (it is no MT system); human scores are per system
    name, so a system with several swept settings is refused."""
    by_name: dict[str, CellId] = {}
    for cell_id, cell in cells.items():
        if cell.system.copies_source:
            continue
        if cell.system.name in by_name:
            raise UserError(
                f"dataset {dataset.name}: system {cell.system.name!r} has several swept settings; "
                f"human scores are per system name"
            )
        by_name[cell.system.name] = cell_id
    return by_name


def dataset_agreement(
    dataset,
    cells: Mapping[CellId, Cell],
    results: Mapping[tuple[CellId, str], MetricResult],
    metrics,
    statistics,
    workers: int = 1,
    advance: Callable[[int], None] = lambda units: None,
    resampled: Mapping[str, Mapping[str, np.ndarray]] | None = None,
) -> list[dict]:
    """The agreement.csv rows of one dataset of a run (none without human scores).

    ``cells``: cell id -> ``plan.Cell``; ``results``: (cell id, metric label) -> the segment-level
    ``MetricResult`` (score and per-segment statistics, the numbers of scores.csv); ``statistics``: the run's
    ``StatisticsConfig`` (seed, bootstrap resamples); ``resampled``: :func:`human_resamples`, if computed."""
    human = dataset.human_scores
    if human is None:
        return []
    by_name = cells_by_system(dataset, cells)
    no_human = [name for name in by_name if name not in human]
    no_system = [name for name in human if name not in by_name]
    if no_human or no_system:
        parts = [
            f"systems without a human score: {', '.join(no_human)}" if no_human else "",
            f"human scores without a system: {', '.join(no_system)}" if no_system else "",
        ]
        print(
            f"warning: dataset {dataset.name}: agreement with human judgments leaves out "
            f"{'; '.join(p for p in parts if p)} (names must match the human file's last column)",
            file=sys.stderr,
        )
    rows = []
    for metric in metrics:
        ids = {name: cell_id for name, cell_id in by_name.items() if name in human}
        found = {name: results[(cell_id, metric.label)] for name, cell_id in ids.items()}
        result = agreement(
            metric,
            dataset.target_lang,
            len(dataset.references),
            {name: r.stats for name, r in found.items()},
            human,
            n_samples=statistics.bootstrap,
            seed=statistics.seed,
            workers=workers,
            scores={name: r.score for name, r in found.items()},
            resampled=(resampled or {}).get(metric.label),
        )
        rows.append(result.record(dataset.name, metric.label))
        advance(1)
    return rows


def human_resamples(
    dataset,
    cells: Mapping[CellId, Cell],
    results: Mapping[tuple[CellId, str], MetricResult],
    metrics,
    statistics,
    workers: int = 1,
) -> dict[str, dict[str, np.ndarray]]:
    """Per metric label, the corpus scores on the run's segment resamples (`statistics.seed`, `.bootstrap`) of
    the systems with a human score, by system name: the same arrays agreement.csv's and meta.csv's intervals
    resample, computed once for both. Empty without human scores, resamples or enough systems; a metric whose
    systems differ in length is left to :func:`agreement` to refuse."""
    human = dataset.human_scores
    if human is None or not statistics.bootstrap:
        return {}
    ids = {name: cell_id for name, cell_id in cells_by_system(dataset, cells).items() if name in human}
    if len(ids) < MIN_SYSTEMS:
        return {}
    n_samples = check_samples(statistics.bootstrap, "agreement bootstrap")
    out = {}
    for metric in metrics:
        stats = {name: results[(cell_id, metric.label)].stats for name, cell_id in ids.items()}
        lengths = {len(s) for s in stats.values()}
        if len(lengths) == 1:
            idxs = indices(statistics.seed, lengths.pop(), n_samples)
            scorer = scorer_for(metric, dataset.target_lang, len(dataset.references))
            out[metric.label] = resampled_scores(scorer, stats, idxs, workers)
    return out


def agreement_frame(records: list[dict]) -> pd.DataFrame:
    return pd.DataFrame.from_records(records, columns=COLUMNS)


__all__ = [
    "Agreement",
    "COLUMNS",
    "agreement",
    "agreement_frame",
    "cells_by_system",
    "correlations",
    "dataset_agreement",
    "human_resamples",
    "pairwise_accuracy",
    "row_correlations",
]
