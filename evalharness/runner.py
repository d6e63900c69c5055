"""The run, as a sequence of phases: plan -> translate -> score -> statistics -> write. Nothing is written until
everything has worked. The work of each phase lives in the modules that own it: the executors translate,
`evaluation.levels` scores each dataset at its kind's levels, `statistics.cells` compares its cells,
`evaluation.rows` turns both into rows, `results` writes the folder."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from evalharness.cache import default_cache_dir
from evalharness.config import LoadedConfig
from evalharness.errors import UserError
from evalharness.evaluation.levels import Scorer, score_datasets
from evalharness.evaluation.rows import DatasetResults, dataset_results
from evalharness.executors import make_executor
from evalharness.executors.base import CellOutput, Executor
from evalharness.metrics.scoring import default_workers
from evalharness.plan import Plan
from evalharness.progress import Progress
from evalharness.provenance import build_manifest, display_path, now, resolved_config
from evalharness.reporting.aggregates import aggregates_block
from evalharness.reporting.analysis import analysis_files
from evalharness.reporting.report import RunData, report_files
from evalharness.reporting.tables import directions_of, few_segments_notes, reading_order, render, signature_notes
from evalharness.results import (
    AGGREGATES_FILE,
    FILES,
    HUMAN_FILE,
    MANIFEST,
    META_FILE,
    PAIRWISE_FILE,
    RUN_FILE,
    file_hashes,
    human_scores_frame,
    is_results_folder,
    manifest_text,
    pairwise_frame,
    replace_results_folder,
    scores_frame,
    split_aggregates,
    split_manifest,
    summary_frame,
    to_csv,
)
from evalharness.secrets import redact
from evalharness.statistics.agreement import agreement_frame
from evalharness.statistics.cells import dataset_statistics, statistics_summary, statistics_work
from evalharness.statistics.compare import StatisticsConfig
from evalharness.statistics.metaeval import meta_frame
from evalharness.systems.context import RunContext
from evalharness.textio import check_writable

__all__ = ["CellOutput", "RunOutput", "Scorer", "evaluate", "execute", "output_dir"]


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
    meta: pd.DataFrame | None = None  # meta.csv: the meta-evaluation, datasets with human scores
    manifest: dict = field(default_factory=dict)
    aggregates: pd.DataFrame | None = None  # aggregates.csv: the summary's rows over seeds (mean, std, ...)
    pairs: pd.DataFrame | None = None  # pairwise.csv: every tested pair


@dataclass
class Evaluated:
    """What the translate, score and statistics phases leave for the manifest and the files."""

    outputs: list[CellOutput]
    found: DatasetResults
    ctx: RunContext
    scorer: Scorer
    executor: dict  # the manifest's `executor` entry


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
    plan: Plan,
    outputs: list[CellOutput],
    scorer: Scorer,
    statistics: StatisticsConfig,
    progress: Progress,
    segments: bool = True,
) -> DatasetResults:
    """score -> statistics for every dataset: the rows of scores.csv, the agreement rows, and (with `segments`)
    the lines of segments.jsonl. The one scoring path of both `run` and `score`."""
    with progress.phase("score") as phase:
        scored = score_datasets(plan, outputs, scorer, segments)
        phase.summary = (
            f"{len(plan.metrics)} metrics on {len(scored)} datasets, {scorer.misses} scores "
            f"computed, {scorer.hits} from the score cache"
        )
    with progress.phase("statistics") as phase:
        found = DatasetResults()
        work = statistics_work([(part.dataset, part.plan_cells) for part in scored], plan.metrics, statistics)
        with progress.bar(work, "resampling", unit="test") as bar:
            for part in scored:
                stats = dataset_statistics(
                    part.dataset,
                    part.plan_cells,
                    part.segment_results,
                    plan.metrics,
                    statistics,
                    scorer.workers,
                    bar.update,
                )
                results = dataset_results(part, plan.metrics, stats, segments, statistics.baseline)
                found.add(results)
                for warning in results.warnings:
                    progress.say(warning)
        phase.summary = statistics_summary(statistics)
    return found


def translate_and_evaluate(
    loaded: LoadedConfig, plan: Plan, use_cache: bool, workers: int | None, progress: Progress
) -> Evaluated:
    """translate -> score -> statistics, on the config's executor (which also lends its workers to scoring)."""
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
        return Evaluated(outputs, found, ctx, scorer, executor.manifest())
    finally:
        executor.close()


def run_output(
    loaded: LoadedConfig, plan: Plan, done: Evaluated, out_dir: Path | None, started: str, use_cache: bool, argv
) -> RunOutput:
    """The frames of scores, summary, agreement and human scores, and the manifest (no secret in it)."""
    found = done.found
    scores = scores_frame(found.rows, plan.sweep_keys, plan.aggregate)
    summary, aggregates = split_aggregates(summary_frame(scores))  # seeds' mean, std, ...: a table apart
    summary = reading_order(summary, directions_of(scores))  # as the tables show it, best first
    manifest = build_manifest(loaded, plan, done.outputs, done.ctx, done.scorer, started, use_cache, argv)
    manifest["executor"] = done.executor
    if found.warnings:  # e.g. a system mostly off target (langid.off_target_warning); the report shows them
        manifest["warnings"] = found.warnings
    # No secret in what shows the config: the manifest (its argv) and, from it, the report.
    manifest = json.loads(redact(json.dumps(manifest, ensure_ascii=False)))
    human = human_scores_frame(
        {name: d.human_scores for name, d in plan.datasets.items()},
        {name: d.human.kind for name, d in plan.datasets.items() if d.human is not None},
    )
    agreement = agreement_frame(found.agreement) if human is not None else None
    meta = meta_frame(found.meta) if human is not None else None
    pairs = pairwise_frame(found.pairs, plan.sweep_keys) if found.pairs else None
    return RunOutput(
        out_dir=out_dir,
        scores=scores,
        summary=summary,
        score_cache_hits=done.scorer.hits,
        score_cache_misses=done.scorer.misses,
        model_calls=done.ctx.model_calls,
        segments=found.segments,
        agreement=agreement,
        human=human,
        meta=meta,
        manifest=manifest,
        aggregates=aggregates,
        pairs=pairs,
    )


def results_files(
    loaded: LoadedConfig, plan: Plan, out: RunOutput, out_dir: Path, analysis: list
) -> dict[str, str | bytes]:
    """Every file of the results folder, built in memory (a failure here leaves nothing written), the
    manifest.json and run.json last."""
    directions = directions_of(out.scores)
    notes = signature_notes(out.scores) + few_segments_notes(out.scores)
    files: dict[str, str | bytes] = {
        "scores.csv": to_csv(out.scores),
        "summary.csv": to_csv(out.summary),
        "summary.md": render(out.summary, "md", notes, directions) + aggregates_block(out.aggregates, "md", directions),
        "summary.tex": render(out.summary, "latex", notes, directions),
        "segments.jsonl": "\n".join(json.dumps(r, ensure_ascii=False) for r in out.segments) + "\n",
        "config.yaml": resolved_config(loaded, out_dir),
    }
    if out.aggregates is not None:
        files[AGGREGATES_FILE] = to_csv(out.aggregates)
    if out.pairs is not None:
        files[PAIRWISE_FILE] = to_csv(out.pairs)
    if out.human is not None:
        assert out.agreement is not None  # computed whenever there are human scores
        files["agreement.csv"] = to_csv(out.agreement)
        files[HUMAN_FILE] = to_csv(out.human)
        if out.meta is not None:
            files[META_FILE] = to_csv(out.meta)
    tables = analysis_files(analysis)  # analysis/*.csv: length and frequency buckets, n-grams, documents
    files.update(tables)
    name = loaded.config.run_name or out_dir.name
    data = RunData(name, out.scores, out.summary, out.segments, out.manifest, out.agreement, out.human, out.meta)
    data.analysis = tables
    files.update(report_files(data))
    for dataset in plan.datasets.values():
        files.update(dataset.artifacts)
    # Last: every other file's sha256, so a reader can tell a whole folder from a cut-off or edited one.
    out.manifest[FILES] = file_hashes(files)
    # manifest.json: the same bytes for the same results; run.json: this run's times, machine and cache use
    stable, circumstances = split_manifest(out.manifest)
    files[RUN_FILE] = manifest_text(circumstances)
    files[MANIFEST] = manifest_text(stable)
    return files


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
    started = now()
    if write:
        check_output_dir(out_dir, force)
    if use_cache:
        check_writable(default_cache_dir(), "cache")
    done = translate_and_evaluate(loaded, plan, use_cache, workers, progress)
    output = run_output(loaded, plan, done, out_dir if write else None, started, use_cache, argv)
    if not write:
        return output
    with progress.phase("write") as phase:
        files = results_files(loaded, plan, output, out_dir, done.found.analysis)
        replace_results_folder(out_dir, files)
        phase.summary = f"{len(files)} files in {display_path(out_dir)}"
    return output
