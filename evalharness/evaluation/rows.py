"""A scored dataset and its statistics -> what the results folder holds of it: the rows of scores.csv (`Row`,
from named fields), the tested pairs of pairwise.csv, the lines of segments.jsonl and what the analyses read.
Each cell's levels and columns come from its dataset's kind; nothing here asks which kind it is."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from evalharness.evaluation.levels import Level, ScoredCell, ScoredDataset
from evalharness.langid import detect_distinct, known_languages, off_target_warning
from evalharness.metrics.base import Metric
from evalharness.reporting.analysis import CellData, DatasetData
from evalharness.results import PairRow, Row, segment_record
from evalharness.statistics.cells import DatasetStatistics, baseline_label
from evalharness.statistics.compare import CellComparison
from evalharness.statistics.humanterms import human_agreement


@dataclass
class DatasetResults:
    """What the results folder gets of one dataset (or, added up, of the run)."""

    rows: list[Row] = field(default_factory=list)
    agreement: list[dict] = field(default_factory=list)  # agreement with human scores
    meta: list[dict] = field(default_factory=list)  # meta.csv: the meta-evaluation against human scores
    segments: list[dict] = field(default_factory=list)  # segments.jsonl, and the report's differing segments
    warnings: list[str] = field(default_factory=list)  # one line each: printed, and kept in the manifest
    analysis: list[DatasetData] = field(default_factory=list)  # what analysis/*.csv are computed from
    pairs: list[PairRow] = field(default_factory=list)  # pairwise.csv: every tested pair

    def add(self, other: DatasetResults) -> None:
        self.rows += other.rows
        self.segments += other.segments
        self.pairs += other.pairs
        self.agreement += other.agreement
        self.meta += other.meta
        self.warnings += other.warnings
        self.analysis += other.analysis


def dataset_results(
    part: ScoredDataset,
    metrics: Sequence[Metric],
    stats: DatasetStatistics,
    segments: bool = True,
    baseline: str | None = None,
) -> DatasetResults:
    """The rows of scores.csv, the tested pairs, the agreement rows and (with `segments`) the lines of
    segments.jsonl and the analyses' data of one dataset."""
    found = DatasetResults(agreement=list(stats.agreement), meta=list(stats.meta))
    for sc in part.cells:
        warning = cell_warning(part, sc)
        if warning is not None:
            found.warnings.append(warning)
        found.rows += cell_rows(part, sc, metrics, stats)
        found.pairs += tested_pairs(part, sc, metrics, stats)
        if segments:
            found.segments += segment_records(part, sc, metrics)
    if segments:
        found.analysis.append(analysis_data(part, metrics, baseline))
    return found


def cell_warning(part: ScoredDataset, sc: ScoredCell) -> str | None:
    """A line when a system's outputs are mostly not in the target language (the copy-source floor is in the
    source language by design)."""
    if sc.cell.system.copies_source:
        return None
    dataset = part.dataset
    return off_target_warning(
        sc.cell.label, sc.unit_langs, dataset.target_lang, dataset.source_lang, f"dataset {part.name}: "
    )


def cell_rows(part: ScoredDataset, sc: ScoredCell, metrics: Sequence[Metric], stats: DatasetStatistics) -> list[Row]:
    """One row per level of the cell and metric (none where a level's metric has nothing to score against)."""
    rows = []
    for level in sc.levels:
        for metric in metrics:
            result = level.results.get((sc.cell.id, metric.label)) if level.results is not None else None
            if result is None and level.name == "pivot":
                continue  # a reference-based metric has nothing to score the pivots against
            comparison = CellComparison()
            if level.name == "segment":
                comparison = stats.comparisons[metric.label][sc.cell.id]
                agreement = human_agreement(comparison.delta, human_curve(part, metric))
                comparison = replace(comparison, human_agreement=agreement)
            rows.append(
                Row(
                    dataset=part.name,
                    system=sc.cell.system.name,
                    settings=sc.cell.settings,
                    metric=metric.label,
                    score=result.score if result else None,
                    direction=metric.direction,
                    signature=result.signature if result else "",
                    n_segments=len(level.hyps[sc.cell.id]),
                    references=references_of(part, level),
                    langpair=level.langpair or part.dataset.langpair,
                    level=level.name,
                    comparison=comparison,
                    **sc.columns,
                )
            )
    return rows


def human_curve(part: ScoredDataset, metric: Metric) -> str | None:
    """The metric's curve of human agreement (Kocmi et al. 2024) on this dataset, where one applies: the curves
    were fitted on translations scored against one reference, so a round trip (a text against its own
    translation and back) and several references have none."""
    dataset = part.dataset
    if dataset.pivot_lang is not None or len(dataset.references) != 1:
        return None
    return metric.human_curve(dataset.target_lang)


def references_of(part: ScoredDataset, level: Level) -> str:
    """The `references` column: the reference names joined, or `source` for the pivots (scored against it)."""
    return "+".join(part.dataset.reference_names) if level.name != "pivot" else "source"


def tested_pairs(
    part: ScoredDataset, sc: ScoredCell, metrics: Sequence[Metric], stats: DatasetStatistics
) -> list[PairRow]:
    """The pairs of a cell with the cells after it that a paired test compared (each pair once), per metric."""
    later = [other.cell for other in part.cells if other.cell.id > sc.cell.id]  # the plan's order
    results = part.segment.results or {}
    a = sc.cell
    rows = []
    for metric in metrics:
        tests = stats.comparisons[metric.label][a.id].pairs
        for b in later:
            if b.id not in tests:
                continue
            test = tests[b.id]
            score_a, score_b = (results.get((x.id, metric.label)) for x in (a, b))
            rows.append(
                PairRow(
                    dataset=part.name,
                    system_a=a.system.name,
                    settings_a=a.settings,
                    system_b=b.system.name,
                    settings_b=b.settings,
                    metric=metric.label,
                    score_a=score_a.score if score_a else None,
                    score_b=score_b.score if score_b else None,
                    p_value=test.p_value,
                    better=None if test.better is None else ("a" if test.better else "b"),
                    test=test.test,
                    n_samples=test.n_samples,
                    curve=human_curve(part, metric),
                )
            )
    return rows


def segment_records(part: ScoredDataset, sc: ScoredCell, metrics: Sequence[Metric]) -> list[dict]:
    """The lines of segments.jsonl for one cell: texts, languages and sentence-level scores."""
    dataset, cell, out = part.dataset, sc.cell, sc.output
    hyps = part.segment.hyps[cell.id]
    results = part.segment_results
    # a document's segment joins several sentences: its language is identified on the joined text
    seg_langs = known_languages(hyps, detect_distinct(hyps)) if dataset.kind.joins_units else sc.unit_langs
    sources = dataset.segment_sources()

    def sentence_scores(label: str) -> list[float]:
        scores = results[(cell.id, label)].sentence_scores
        assert scores is not None  # segments.jsonl is written from a run scored with sentence scores
        return scores

    scores = {m.label: sentence_scores(m.label) for m in metrics}
    return [
        segment_record(
            dataset=part.name,
            system=cell.system.name,
            settings=cell.settings,
            segment=j + 1,
            doc_id=dataset.doc_ids[j] if dataset.doc_ids else None,
            source_ids=dataset.kind.source_ids(j),
            source=sources[j],
            pivot=out.pivots[j] if out.pivots is not None else None,
            pivot_lang=sc.pivot_langs[j] if sc.pivot_langs is not None else None,
            references=[stream[j] for stream in dataset.references],
            hypothesis=hyp,
            hypothesis_lang=seg_langs[j],
            scores={label: values[j] for label, values in scores.items()},
        )
        for j, hyp in enumerate(hyps)
    ]


def analysis_data(part: ScoredDataset, metrics: Sequence[Metric], baseline: str | None) -> DatasetData:
    """What the analyses (evalharness.reporting.analysis) need of one scored dataset: its segment-level texts and
    each cell's per-segment statistics (no rescoring)."""
    results = part.segment_results
    dataset = part.dataset
    cells = [
        CellData(
            sc.cell.label,
            part.segment.hyps[sc.cell.id],
            {m.label: results[(sc.cell.id, m.label)].stats for m in metrics},
            {m.label: results[(sc.cell.id, m.label)].score for m in metrics},
            floor=sc.cell.system.is_floor,
            valid=sc.valid,
        )
        for sc in part.cells
    ]
    return DatasetData(
        part.name,
        dataset.source_lang,
        dataset.target_lang,
        dataset.segment_sources(),
        dataset.references,
        dataset.doc_ids,
        list(metrics),
        cells,
        baseline_label(part.plan_cells, baseline),
    )
