"""The run: plan -> hypotheses -> scores -> results folder. Nothing is written until everything has worked."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import sacrebleu
import yaml

from evalharness.cache import CACHES, default_cache_dir, digest
from evalharness.config import LoadedConfig
from evalharness.datasets.base import Dataset
from evalharness.errors import UserError
from evalharness.executors import make_executor
from evalharness.executors.base import CellOutput, Executor
from evalharness.langid import detect_distinct, known_languages, off_target_rate, off_target_warning
from evalharness.metrics import sacrebleu_adapter as sb
from evalharness.metrics.scoring import MetricResult, default_workers, score_systems
from evalharness.plan import Cell, CellId, Plan
from evalharness.progress import Progress
from evalharness.reporting.aggregates import aggregates_block
from evalharness.reporting.analysis import CellData, DatasetData, analysis_files
from evalharness.reporting.report import RunData, report_files
from evalharness.reporting.tables import directions_of, few_segments_notes, reading_order, render, signature_notes
from evalharness.results import (
    AGGREGATES_FILE,
    FILES,
    HUMAN_FILE,
    MANIFEST,
    PAIRWISE_FILE,
    RUN_FILE,
    PairRow,
    Row,
    file_hashes,
    human_scores_frame,
    is_results_folder,
    manifest_text,
    pairwise_frame,
    replace_results_folder,
    scores_frame,
    segment_record,
    split_aggregates,
    split_manifest,
    summary_frame,
    to_csv,
)
from evalharness.secrets import redact
from evalharness.statistics.agreement import agreement_frame, dataset_agreement
from evalharness.statistics.compare import CellComparison, baseline_cell, compare, compare_work
from evalharness.systems.context import RunContext
from evalharness.textio import check_writable
from evalharness.version import __version__


@dataclass
class RunOutput:
    """What a run computed, as the results folder holds it (`out_dir` None: nothing was written)."""

    out_dir: Path | None
    scores: pd.DataFrame
    summary: pd.DataFrame
    score_cache_hits: int
    score_cache_misses: int
    model_calls: int = 0
    segments: list[dict] = field(default_factory=list)  # the lines of segments.jsonl
    agreement: pd.DataFrame | None = None  # agreement.csv: datasets with human scores
    human: pd.DataFrame | None = None  # human_scores.csv
    manifest: dict = field(default_factory=dict)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _git_commit() -> str | None:
    """The commit of the evalharness source tree, with '+dirty' when it has uncommitted changes."""
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return (commit + ("+dirty" if dirty else "")) or None


def output_dir(loaded: LoadedConfig, override: Path | None) -> Path:
    base = override or loaded.config.output_dir or Path("results")
    assert loaded.config.run_name is not None  # loading a config fills it in (the file's stem by default)
    return Path(os.path.normpath(Path(base) / loaded.config.run_name))


def check_output_dir(out_dir: Path, force: bool = False) -> None:
    """Fail before any work when the results folder cannot be (re)placed: a file stands where it (or a folder
    above it) must go, it is a symbolic link, or it holds files that no run wrote (a run replaces its folder as a
    whole, so they would be lost; `force` accepts that)."""
    if out_dir.is_symlink():
        raise UserError(f"{out_dir}: the results folder is a symbolic link; give its real path")
    check_writable(out_dir, "results folder")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not is_results_folder(out_dir) and not force:
        raise UserError(
            f"{out_dir}: exists and is not an evalharness results folder (no run's manifest.json); a run "
            f"replaces its folder as a whole, so choose another --output-dir or run_name, or pass --force "
            f"to replace it and everything in it"
        )


class Scorer:
    """Scores hypotheses with the run's metrics through the score cache, counting hits for the manifest."""

    def __init__(self, metrics: list, workers: int, use_cache: bool, progress: Progress | None = None):
        self.metrics, self.workers = metrics, workers
        self.store = CACHES["scores"].open() if use_cache else None
        self.hits = self.misses = 0
        self.progress = progress or Progress.silent()

    def __call__(
        self,
        target_lang: str,
        references: list[list[str]],
        hyps: dict[CellId, list[str]],
        sentence: bool,
        desc: str = "",
        sources: list[str] | None = None,
        source_lang: str | None = None,
        metrics: list | None = None,
    ) -> dict[tuple[CellId, str], MetricResult]:
        results = score_systems(
            self.metrics if metrics is None else metrics,
            target_lang,
            references,
            hyps,
            workers=self.workers,
            sentence=sentence,
            cache=self.store,
            progress=self.progress,
            desc=desc,
            sources=sources,
            source_lang=source_lang,
        )
        self.hits += sum(r.cached for r in results.values())
        self.misses += sum(not r.cached for r in results.values())
        return results

    def close(self) -> None:
        if self.store is not None:
            self.store.close()


@dataclass
class Level:
    """One way of scoring a dataset's cells: its references, each cell's hypotheses, the scores by
    (cell id, metric label)."""

    name: str  # segment, document, "segment, pivot on target", or pivot
    references: list[list[str]]
    hyps: dict[CellId, list[str]]
    results: dict[tuple[CellId, str], MetricResult] | None  # None: nothing to score
    langpair: str | None = None  # where it is not the dataset's (a round trip's pivots: source-pivot)


@dataclass
class DatasetResults:
    rows: list[Row] = field(default_factory=list)
    agreement: list[dict] = field(default_factory=list)  # agreement with human scores
    segments: list[dict] = field(default_factory=list)  # segments.jsonl, and the report's differing segments
    warnings: list[str] = field(default_factory=list)  # one line each: printed, and kept in the manifest
    analysis: list[DatasetData] = field(default_factory=list)  # what analysis/*.csv are computed from
    pairs: list[PairRow] = field(default_factory=list)  # pairwise.csv: every tested pair


def shared_levels(
    dataset: Dataset, ids: list[CellId], outputs: list[CellOutput], scorer: Scorer, sentence: bool = True
) -> list[Level]:
    """Every cell scored at each level the dataset is scored at, all cells of a level in one call."""
    inputs = {cell: dataset.shared_levels(outputs[cell.index].units) for cell in ids}
    levels = []
    for k, first in enumerate(inputs[ids[0]]):
        hyps = {cell: inputs[cell][k].hypotheses for cell in ids}
        levels.append(
            Level(
                first.name,
                first.references,
                hyps,
                scorer(
                    dataset.target_lang,
                    first.references,
                    hyps,
                    first.sentence and sentence,
                    first.label,
                    first.sources,
                    dataset.source_lang,
                ),
            )
        )
    return levels


def cell_level(
    dataset: Dataset,
    cell: CellId,
    seg_hyps: list[str],
    pivot_langs: list[str | None] | None,
    scorer: Scorer,
    pivots: list[str] | None = None,
) -> list[Level]:
    """The levels of one cell alone, where its dataset has them: a round trip's segments with the pivot on
    target, and its pivots against the source (reference-free metrics only, when the run has one)."""
    levels = []
    extra = dataset.cell_level(seg_hyps, pivot_langs)
    if extra is not None:
        results = (
            scorer(
                dataset.target_lang,
                extra.references,
                {cell: extra.hypotheses},
                extra.sentence,
                extra.label,
                extra.sources,
                dataset.source_lang,
            )
            if extra.hypotheses
            else None
        )
        levels.append(Level(extra.name, extra.references, {cell: extra.hypotheses}, results))
    free = [m for m in scorer.metrics if getattr(m, "uses_sources", False)]
    pivot = dataset.pivot_level(pivots) if free else None
    if pivot is not None and pivot.target_lang is not None:
        results = scorer(
            pivot.target_lang,
            pivot.references,
            {cell: pivot.hypotheses},
            pivot.sentence,
            pivot.label,
            pivot.sources,
            dataset.source_lang,
            metrics=free,
        )
        langpair = f"{dataset.source_lang}-{pivot.target_lang}"
        levels.append(Level(pivot.name, pivot.references, {cell: pivot.hypotheses}, results, langpair))
    return levels


def cell_columns(
    dataset: Dataset, out: CellOutput, unit_langs: list[str | None], pivot_langs: list[str | None] | None
) -> dict:
    """The per-cell columns of every row of a cell (off-target, empty outputs, alignment, round-trip validity)."""
    out.stats.empty = sum(1 for hyp in out.units if not hyp.strip())
    pivot_rate = dataset.pivot_on_target_rate(pivot_langs)
    return dict(
        off_target_rate=off_target_rate(unit_langs, dataset.target_lang),
        empty_outputs=out.stats.empty,
        unaligned_sources=dataset.unaligned_sources,
        unaligned_references=dataset.unaligned_references,
        pivot_on_target_rate=pivot_rate,
        valid=pivot_rate is None or pivot_rate >= dataset.valid_pivot_rate,
    )


def segment_records(
    name: str,
    dataset: Dataset,
    cell: Cell,
    cell_id: CellId,
    out: CellOutput,
    segment: Level,
    seg_langs: list[str | None],
    pivot_langs: list[str | None] | None,
    metrics: list,
) -> list[dict]:
    """The lines of segments.jsonl for one cell: texts, languages and sentence-level scores."""
    seg_sources = dataset.segment_sources()
    results = segment.results
    assert results is not None  # the segment level is always scored

    def sentence_score(label: str, j: int) -> float:
        scores = results[(cell_id, label)].sentence_scores
        assert scores is not None  # segments.jsonl is written from a run scored with sentence scores
        return scores[j]

    return [
        segment_record(
            dataset=name,
            system=cell.system.name,
            settings=cell.settings,
            segment=j + 1,
            doc_id=dataset.doc_ids[j] if dataset.doc_ids else None,
            source_ids=[k + 1 for k in dataset.groups[j]] if dataset.groups is not None else None,
            source=seg_sources[j],
            pivot=out.pivots[j] if out.pivots is not None else None,
            pivot_lang=pivot_langs[j] if pivot_langs is not None else None,
            references=[stream[j] for stream in dataset.references],
            hypothesis=hyp,
            hypothesis_lang=seg_langs[j],
            scores={m.label: sentence_score(m.label, j) for m in metrics},
        )
        for j, hyp in enumerate(segment.hyps[cell_id])
    ]


@dataclass
class ScoredDataset:
    """The scores of one dataset's cells at every level, and the languages identified in their outputs."""

    name: str
    dataset: Dataset
    ids: list[CellId]  # the plan's cells on this dataset
    levels: list[Level]  # shared by every cell: segment (first), document
    cell_levels: dict[CellId, list[Level]]  # per cell: the shared levels, plus a level of its own where there is one
    unit_langs: dict[CellId, list[str | None]]
    pivot_langs: dict[CellId, list[str | None] | None]

    @property
    def segment(self) -> Level:
        return self.levels[0]


def score_dataset(
    name: str, dataset: Dataset, ids: list[CellId], outputs: list[CellOutput], scorer: Scorer, sentence: bool = True
) -> ScoredDataset:
    """Every metric on every cell of one dataset, at every level the dataset is scored at (`sentence`: with
    sentence-level scores for segments.jsonl)."""
    levels = shared_levels(dataset, ids, outputs, scorer, sentence)
    texts = [text for c in ids for text in (*outputs[c.index].units, *(outputs[c.index].pivots or []))]
    langs = detect_distinct(texts, scorer.workers)
    # a hypothesis too short to tell its language counts as unknown (langid.MIN_LETTERS); pivots keep every guess
    unit_langs = {c: known_languages(outputs[c.index].units, langs) for c in ids}
    pivot_langs = {
        c: [langs[text] for text in pivots] if (pivots := outputs[c.index].pivots) is not None else None for c in ids
    }
    cell_levels = {
        c: levels + cell_level(dataset, c, levels[0].hyps[c], pivot_langs[c], scorer, outputs[c.index].pivots)
        for c in ids
    }
    return ScoredDataset(name, dataset, ids, levels, cell_levels, unit_langs, pivot_langs)


def statistics_work(scored: list[ScoredDataset], plan: Plan, statistics) -> int:
    """Units of work of `dataset_statistics` over the run (for the statistics progress bar)."""
    total = 0
    for part in scored:
        names = {c: plan.cells[c.index].system.name for c in part.ids}
        settings = {c: plan.cells[c.index].settings for c in part.ids}
        total += len(plan.metrics) * (
            compare_work(statistics, names, settings) + (part.dataset.human_scores is not None)
        )
    return total


def dataset_statistics(
    part: ScoredDataset, plan: Plan, scorer: Scorer, statistics, advance
) -> tuple[dict[str, dict[CellId, CellComparison]], list[dict]]:
    """Bootstrap CIs, paired tests and ranks per metric, and agreement with human scores, of one dataset."""
    segment = part.segment
    results = segment.results
    assert results is not None  # the segment level is always scored
    names = {c: plan.cells[c.index].system.name for c in part.ids}
    comparisons = {
        m.label: compare(
            m,
            part.dataset.target_lang,
            len(part.dataset.references),
            {c: results[(c, m.label)].stats for c in part.ids},
            names,
            statistics,
            scorer.workers,
            advance,
            settings={c: plan.cells[c.index].settings for c in part.ids},
        )
        for m in plan.metrics
    }
    agreement = dataset_agreement(
        part.dataset,
        {c: plan.cells[c.index] for c in part.ids},
        results,
        plan.metrics,
        statistics,
        scorer.workers,
        advance,
    )
    return comparisons, agreement


def dataset_results(
    part: ScoredDataset,
    plan: Plan,
    outputs: list[CellOutput],
    comparisons: dict[str, dict[CellId, CellComparison]],
    segments: bool = True,
) -> DatasetResults:
    """The rows of scores.csv and (with `segments`) the lines of segments.jsonl of one dataset."""
    found = DatasetResults()
    name, dataset, segment = part.name, part.dataset, part.segment
    for c in part.ids:
        cell, out = plan.cells[c.index], outputs[c.index]
        common = cell_columns(dataset, out, part.unit_langs[c], part.pivot_langs[c])
        if not cell.system.copies_source:  # the copy-source floor is in the source language by design
            warning = off_target_warning(
                cell.label, part.unit_langs[c], dataset.target_lang, dataset.source_lang, f"dataset {name}: "
            )
            if warning is not None:
                found.warnings.append(warning)
        for level in part.cell_levels[c]:
            for metric in plan.metrics:
                result = level.results.get((c, metric.label)) if level.results is not None else None
                if result is None and level.name == "pivot":
                    continue  # a reference-based metric has nothing to score the pivots against
                comparison = comparisons[metric.label][c] if level.name == "segment" else CellComparison()
                found.rows.append(
                    Row(
                        name,
                        cell.system.name,
                        cell.settings,
                        metric.label,
                        result.score if result else None,
                        metric.direction,
                        result.signature if result else "",
                        len(level.hyps[c]),
                        "+".join(dataset.reference_names) if level.name != "pivot" else "source",
                        level.langpair or dataset.langpair,
                        level=level.name,
                        comparison=comparison,
                        **common,
                    )
                )
        found.pairs += tested_pairs(part, plan, c, comparisons)
        if not segments:
            continue
        seg_langs = (
            known_languages(segment.hyps[c], detect_distinct(segment.hyps[c]))
            if dataset.groups is not None
            else part.unit_langs[c]
        )
        found.segments += segment_records(
            name, dataset, cell, c, out, segment, seg_langs, part.pivot_langs[c], plan.metrics
        )
    return found


def tested_pairs(
    part: ScoredDataset, plan: Plan, c: CellId, comparisons: dict[str, dict[CellId, CellComparison]]
) -> list[PairRow]:
    """The pairs of cell `c` with the cells after it that a paired test compared (each pair once), per metric."""
    later = part.ids[part.ids.index(c) + 1 :]
    results = part.segment.results or {}
    rows = []
    for metric in plan.metrics:
        tests = comparisons[metric.label][c].pairs
        for other in later:
            if other not in tests:
                continue
            test = tests[other]
            a, b = plan.cells[c.index], plan.cells[other.index]
            score_a, score_b = (results.get((x, metric.label)) for x in (c, other))
            rows.append(
                PairRow(
                    part.name,
                    a.system.name,
                    a.settings,
                    b.system.name,
                    b.settings,
                    metric.label,
                    score_a.score if score_a else None,
                    score_b.score if score_b else None,
                    test.p_value,
                    None if test.better is None else ("a" if test.better else "b"),
                    test.test,
                    test.n_samples,
                )
            )
    return rows


def display_path(path: Path) -> str:
    """A path as the user would type it from the folder the run was started in: never a machine's absolute path
    in a results folder (results get committed and shared)."""
    return Path(os.path.relpath(path.resolve(), Path.cwd())).as_posix()


def portable_argv(argv: list[str]) -> list[str]:
    """The command line with the program as its name, not where it is installed on this machine."""
    return [Path(argv[0]).name, *argv[1:]] if argv else []


def resolved_config(loaded: LoadedConfig, out_dir: Path) -> str:
    """config.yaml of a results folder: the validated config with every default filled in and every path
    relative to the folder itself."""
    body = yaml.safe_dump(
        loaded.config.model_dump(mode="json", context={"relative_to": out_dir.resolve()}),
        sort_keys=False,
        allow_unicode=True,
    )
    return (
        "# The resolved config of this run: every default filled in, every path relative to this folder\n"
        "# (no machine's absolute paths in results that get committed and shared), and ${NAME} / <env NAME>\n"
        "# where a value came from the environment or a command's env (never a secret in plain text).\n" + redact(body)
    )


def build_manifest(
    loaded: LoadedConfig,
    plan: Plan,
    outputs: list[CellOutput],
    ctx: RunContext,
    scorer: Scorer,
    started: str,
    use_cache: bool,
    argv: list[str] | None,
) -> dict:
    """Versions, command, times, cache use and how each cell got its translations (and on what backend)."""
    return {
        "evalharness": __version__,
        "sacrebleu": sacrebleu.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "git_commit": _git_commit(),
        "config": display_path(loaded.path),
        "argv": portable_argv(argv if argv is not None else sys.argv),
        "started": started,
        "finished": _now(),
        "workers": scorer.workers,
        "cells": len(plan.cells),
        # floors (identity, `floor: true`): the report marks them and leaves them out of the differing segments
        "floors": sorted({c.system.name for c in plan.cells if c.system.is_floor}),
        "ter_statistics": sb.ter_backend(),
        "ngram_statistics": sb.ngram_backend(),
        "score_cache": {"enabled": use_cache, "hits": scorer.hits, "misses": scorer.misses},
        "translation": {
            "model_calls": ctx.model_calls,
            "model_loads": ctx.models.loads,
            "cells": [
                {
                    "dataset": c.dataset,
                    "system": c.system.name,
                    "settings": c.settings,
                    "translated": o.stats.translated,
                    "cached": o.stats.cached,
                    "empty": o.stats.empty,
                    "seconds": round(o.stats.seconds, 3),
                    "runtime": o.stats.runtime if o.stats.runtime is not None else c.system.runtime(),
                }
                for c, o in zip(plan.cells, outputs, strict=True)
                if o.stats.translated or o.stats.cached
            ],
        },
        "datasets": {
            name: {
                "langpair": d.langpair,
                "sentences": len(d),
                "segments": d.n_segments,
                "references": d.reference_names,
                "unaligned_sources": d.unaligned_sources,
                "unaligned_references": d.unaligned_references,
                "pivot": d.pivot_lang,
                # what `table A B` compares: same names are not enough to be the same test set
                "sources_sha256": digest(d.sources),
                "references_sha256": digest(d.references),
            }
            for name, d in plan.datasets.items()
        },
    }


def translate_cells(plan: Plan, ctx: RunContext, progress: Progress, executor: Executor) -> list[CellOutput]:
    """Every cell's translations (or given hypotheses), in plan order, wherever the executor produces them."""
    with progress.phase("translate") as phase:
        try:
            outputs = executor.translate_cells(plan, ctx, progress)
        finally:
            ctx.close()
        phase.summary = (
            f"{len(plan.cells)} cells, {sum(o.stats.translated for o in outputs)} segments translated, "
            f"{sum(o.stats.cached for o in outputs)} from the translation cache"
        )
    return outputs


def evaluate(
    plan: Plan, outputs: list[CellOutput], scorer: Scorer, statistics, progress: Progress, segments: bool = True
) -> DatasetResults:
    """score -> statistics for every dataset: the rows of scores.csv, the agreement rows, and (with `segments`)
    the lines of segments.jsonl. The one scoring path of both `run` and `score`."""
    with progress.phase("score") as phase:
        scored = []
        for name, dataset in plan.datasets.items():
            ids = [CellId(i) for i, cell in enumerate(plan.cells) if cell.dataset == name]
            if ids:
                scored.append(score_dataset(name, dataset, ids, outputs, scorer, segments))
        phase.summary = (
            f"{len(plan.metrics)} metrics on {len(scored)} datasets, {scorer.misses} scores "
            f"computed, {scorer.hits} from the score cache"
        )
    with progress.phase("statistics") as phase:
        found = DatasetResults()
        with progress.bar(statistics_work(scored, plan, statistics), "resampling", unit="test") as bar:
            for part in scored:
                comparisons, agreement = dataset_statistics(part, plan, scorer, statistics, bar.update)
                results = dataset_results(part, plan, outputs, comparisons, segments)
                found.rows += results.rows
                found.segments += results.segments
                found.pairs += results.pairs
                found.agreement += agreement
                found.warnings += results.warnings
                if segments:
                    found.analysis.append(analysis_data(part, plan, outputs, statistics))
                for warning in results.warnings:
                    progress.say(warning)
        phase.summary = statistics_summary(statistics)
    return found


def analysis_data(part: ScoredDataset, plan: Plan, outputs: list[CellOutput], statistics) -> DatasetData:
    """What the analyses (evalharness.reporting.analysis) need of one scored dataset: its segment-level texts and each
    cell's per-segment statistics (no rescoring)."""
    results = part.segment.results
    assert results is not None  # the segment level is always scored
    dataset = part.dataset
    cells = []
    for c in part.ids:
        cell = plan.cells[c.index]
        rate = dataset.pivot_on_target_rate(part.pivot_langs[c])
        cells.append(
            CellData(
                cell.label,
                part.segment.hyps[c],
                {m.label: results[(c, m.label)].stats for m in plan.metrics},
                {m.label: results[(c, m.label)].score for m in plan.metrics},
                floor=cell.system.is_floor,
                valid=rate is None or rate >= dataset.valid_pivot_rate,
            )
        )
    return DatasetData(
        part.name,
        dataset.source_lang,
        dataset.target_lang,
        dataset.segment_sources(),
        dataset.references,
        dataset.doc_ids,
        plan.metrics,
        cells,
        baseline_label(part, plan, getattr(statistics, "baseline", None)),
    )


def baseline_label(part: ScoredDataset, plan: Plan, baseline: str | None) -> str | None:
    """The label (`Cell.label`, the analyses' name of a cell) of the cell `statistics.baseline` names on a dataset:
    a system, or one sweep point of it (`system@label`)."""
    names = {c: plan.cells[c.index].system.name for c in part.ids}
    cell = baseline_cell(baseline, names, {c: plan.cells[c.index].settings for c in part.ids})
    return plan.cells[cell.index].label if cell is not None else None


def execute(
    loaded: LoadedConfig,
    plan: Plan,
    out_dir: Path,
    use_cache: bool = True,
    workers: int | None = None,
    argv: list[str] | None = None,
    progress: Progress | None = None,
    force: bool = False,
    write: bool = True,
) -> RunOutput:
    """translate -> score -> statistics -> write, each a phase of `progress` (a line each, bars on a terminal).
    With `write` false nothing is written (the results folder is neither checked nor touched)."""
    progress = progress or Progress.silent()
    started = _now()
    if write:
        check_output_dir(out_dir, force)
    if use_cache:
        check_writable(default_cache_dir(), "cache")
    cfg = loaded.config
    # Every hypothesis first: a bad file fails the run before any scoring or writing.
    ctx = RunContext.create(use_cache=use_cache, progress=progress)
    executor = make_executor(cfg.executor, ctx.log)
    try:
        outputs = translate_cells(plan, ctx, progress, executor)
        n_workers = workers or cfg.workers or executor.workers() or default_workers()
        scorer = Scorer(plan.metrics, n_workers, use_cache, progress)
        try:
            with executor.scoring():
                found = evaluate(plan, outputs, scorer, cfg.statistics, progress)
        finally:
            scorer.close()
        executor_entry = executor.manifest()
    finally:
        executor.close()
    scores = scores_frame(found.rows, plan.sweep_keys, plan.aggregate)
    summary, aggregates = split_aggregates(summary_frame(scores))  # seeds' mean, std, ...: a table apart
    summary = reading_order(summary, directions_of(scores))  # as the tables show it, best first
    # No secret in what shows the config: the manifest (its argv) and, from it, the report.
    manifest = build_manifest(loaded, plan, outputs, ctx, scorer, started, use_cache, argv)
    manifest["executor"] = executor_entry
    if found.warnings:  # e.g. a system mostly off target (langid.off_target_warning); the report shows them
        manifest["warnings"] = found.warnings
    manifest = json.loads(redact(json.dumps(manifest, ensure_ascii=False)))
    human = human_scores_frame(
        {name: d.human_scores for name, d in plan.datasets.items()},
        {d.name: d.human_score for d in loaded.config.datasets},
    )
    agreement = agreement_frame(found.agreement) if human is not None else None
    output = RunOutput(
        out_dir if write else None,
        scores,
        summary,
        scorer.hits,
        scorer.misses,
        ctx.model_calls,
        found.segments,
        agreement,
        human,
        manifest,
    )
    if not write:
        return output
    with progress.phase("write") as phase:
        notes = signature_notes(scores) + few_segments_notes(scores)
        files: dict[str, str | bytes] = {
            "scores.csv": to_csv(scores),
            "summary.csv": to_csv(summary),
            "summary.md": render(summary, "md", notes, directions_of(scores))
            + aggregates_block(aggregates, "md", directions_of(scores)),
            "summary.tex": render(summary, "latex", notes, directions_of(scores)),
            "segments.jsonl": "\n".join(json.dumps(r, ensure_ascii=False) for r in found.segments) + "\n",
            "config.yaml": resolved_config(loaded, out_dir),
        }
        if aggregates is not None:
            files[AGGREGATES_FILE] = to_csv(aggregates)
        if found.pairs:
            files[PAIRWISE_FILE] = to_csv(pairwise_frame(found.pairs, plan.sweep_keys))
        if human is not None:
            assert agreement is not None  # computed whenever there are human scores
            files["agreement.csv"] = to_csv(agreement)
            files[HUMAN_FILE] = to_csv(human)
        analysis = analysis_files(found.analysis)  # analysis/*.csv: length and frequency buckets, n-grams, documents
        files.update(analysis)
        # The plots and report.html: built in memory like every other file, so a failure here leaves nothing written.
        files.update(
            report_files(
                RunData(
                    cfg.run_name or out_dir.name,
                    scores,
                    summary,
                    found.segments,
                    manifest,
                    agreement,
                    human,
                    analysis=analysis,
                )
            )
        )
        for dataset in plan.datasets.values():
            files.update(dataset.artifacts)
        # Last: every other file's sha256, so a reader can tell a whole folder from a cut-off or edited one.
        manifest[FILES] = file_hashes(files)
        # manifest.json: the same bytes for the same results; run.json: this run's times, machine and cache use
        stable, circumstances = split_manifest(manifest)
        files[RUN_FILE] = manifest_text(circumstances)
        files[MANIFEST] = manifest_text(stable)
        replace_results_folder(out_dir, files)
        phase.summary = f"{len(files)} files in {display_path(out_dir)}"
    return output


def statistics_summary(statistics) -> str:
    parts = [f"bootstrap CIs ({statistics.bootstrap} resamples)" if statistics.bootstrap else "no bootstrap CIs"]
    if statistics.baseline:
        parts.append(f"paired {statistics.test} against {statistics.baseline}")
    if statistics.all_pairs:
        parts.append("all pairs ranked")
    return ", ".join(parts)
