"""The statistics of one dataset's cells: bootstrap CIs, paired tests and ranks per metric (`compare`), and
agreement with human scores (`agreement`), from the segment-level results the scoring computed. The run's
`StatisticsConfig` is passed down as it is; the maps `compare` keys its cells by are built here, once."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from evalharness.statistics.agreement import dataset_agreement, human_resamples
from evalharness.statistics.compare import CellComparison, StatisticsConfig, baseline_cell, compare, compare_work
from evalharness.statistics.metaeval import dataset_meta

if TYPE_CHECKING:
    from evalharness.datasets.base import Dataset
    from evalharness.metrics.base import Metric
    from evalharness.metrics.scoring import MetricResult
    from evalharness.plan import Cell, CellId


@dataclass
class DatasetStatistics:
    """Per metric label, each cell's comparison (CIs, test against the baseline, rank); the agreement.csv and
    meta.csv rows."""

    comparisons: dict[str, dict[CellId, CellComparison]]
    agreement: list[dict]
    meta: list[dict] = field(default_factory=list)


def names_of(cells: Sequence[Cell]) -> dict[CellId, str]:
    return {c.id: c.system.name for c in cells}


def settings_of(cells: Sequence[Cell]) -> dict[CellId, dict[str, Any]]:
    return {c.id: c.settings for c in cells}


def statistics_work(
    datasets: Sequence[tuple[Dataset, Sequence[Cell]]], metrics: Sequence[Metric], cfg: StatisticsConfig
) -> int:
    """Units of work of `dataset_statistics` over the run's datasets (for the statistics progress bar)."""
    total = 0
    for dataset, cells in datasets:
        # agreement.csv and meta.csv: one unit each per metric
        per_metric = compare_work(cfg, names_of(cells), settings_of(cells)) + 2 * (dataset.human_scores is not None)
        total += len(metrics) * per_metric
    return total


def dataset_statistics(
    dataset: Dataset,
    cells: Sequence[Cell],
    results: Mapping[tuple[CellId, str], MetricResult],
    metrics: Sequence[Metric],
    cfg: StatisticsConfig,
    workers: int = 1,
    advance: Callable[[int], None] = lambda units: None,
) -> DatasetStatistics:
    """Bootstrap CIs, paired tests and ranks per metric, and agreement with human scores, of one dataset
    (`results`: the segment level's, by cell id and metric label)."""
    names, settings = names_of(cells), settings_of(cells)
    comparisons = {
        m.label: compare(
            m,
            dataset.target_lang,
            len(dataset.references),
            {c.id: results[(c.id, m.label)].stats for c in cells},
            names,
            cfg,
            workers,
            advance,
            settings=settings,
        )
        for m in metrics
    }
    by_id = {c.id: c for c in cells}
    resampled = human_resamples(dataset, by_id, results, list(metrics), cfg, workers)  # for both: the same arrays
    agreement = dataset_agreement(dataset, by_id, results, list(metrics), cfg, workers, advance, resampled)
    meta = dataset_meta(dataset, by_id, results, list(metrics), cfg, workers, advance, resampled)
    return DatasetStatistics(comparisons, agreement, meta)


def baseline_label(cells: Sequence[Cell], baseline: str | None) -> str | None:
    """The label (`Cell.label`, the analyses' name of a cell) of the cell `statistics.baseline` names among a
    dataset's cells: a system, or one sweep point of it (`system@label`)."""
    found = baseline_cell(baseline, names_of(cells), settings_of(cells))
    return next((c.label for c in cells if c.id == found), None)


def statistics_summary(cfg: StatisticsConfig) -> str:
    """The statistics phase's line: what was computed."""
    parts = [f"bootstrap CIs ({cfg.bootstrap} resamples)" if cfg.bootstrap else "no bootstrap CIs"]
    if cfg.baseline:
        parts.append(f"paired {cfg.test} against {cfg.baseline}")
    if cfg.all_pairs:
        parts.append("all pairs ranked")
    return ", ".join(parts)
