"""The Python API, for notebooks and scripts: `run` a config, `score` lists of strings, `load` a results folder.

Each returns a :class:`Results` whose frames have explicit dtypes (names as pandas' ``string``, counts as
nullable ``Int64``, flags as ``boolean``, scores as ``float64``), the same whether the results come from memory
(`run`, `score`) or from a results folder (`load`). The command line is a thin layer over these functions:
`evalharness run`, `score`, `table` and `report` call them and format what they return.

    import evalharness
    results = evalharness.run("configs/seeds.yaml", overrides={"statistics.bootstrap": 0}, write=False)
    results.scores.pivot_table(index="system", columns="metric", values="score")
    evalharness.score(["The cat sat."], ["The cat sat down."], metrics=["bleu", "chrf"], langpair="de-en")
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pandas as pd
from pydantic import ValidationError

from evalharness.apiargs import (
    config_of,
    hypotheses_of,
    lines_of,
    metrics_of,
    override_items,
    path_of,
    references_of,
    text_of,
    workers_of,
)
from evalharness.config import LoadedConfig, config_from_dict, describe_entry_error, load_config
from evalharness.configtypes import check_langpair, check_one_line
from evalharness.datasets.base import Dataset
from evalharness.errors import ResultsWarning, UserError, redacting
from evalharness.metrics import METRICS, Metric, make_metric
from evalharness.metrics.base import MetricConfigBase
from evalharness.plan import Cell, Plan, build_plan
from evalharness.progress import Progress
from evalharness.refcheck import check_references
from evalharness.reporting.tables import directions_of, reading_order
from evalharness.results import read_folder, scores_frame, segments_frame, split_aggregates, summary_frame, typed
from evalharness.statistics.compare import StatisticsConfig
from evalharness.systems import System


@dataclass
class Results:
    """What a run or a scoring produced.

    `scores`: tidy, one row per dataset x system x settings x level x metric (scores.csv); `summary`: wide, one
    row per dataset x system x settings x level, a column per metric (summary.csv); `segments`: one row per
    segment and cell, a column per metric's sentence score (segments.jsonl); `agreement`: metric-human
    correlations where a dataset has human scores (agreement.csv), else None; `meta`: the meta-evaluation
    (meta.csv: correlations with CIs, pairwise and soft pairwise accuracy, metric-vs-metric p-values, clusters),
    likewise. `out_dir`: the results folder, None when nothing was written.
    """

    scores: pd.DataFrame
    summary: pd.DataFrame
    segments: pd.DataFrame
    agreement: pd.DataFrame | None = None
    manifest: dict = field(default_factory=dict)
    out_dir: Path | None = None
    segments_translated: int = 0
    score_cache_hits: int = 0
    score_cache_misses: int = 0
    meta: pd.DataFrame | None = None
    tracked: str | None = None  # where the config's `tracking:` logged the run (None: not tracked)
    tracking_error: str | None = None  # the one line of a tracker that failed (the results folder is whole)

    @redacting
    def table(
        self,
        format: str = "md",
        tidy: bool = False,
        metrics: list[str] | None = None,
        columns: list[str] | None = None,
        sort: str | None = None,
        datasets: list[str] | None = None,
        decimals: int | None = None,
        width: int | None = None,
        full_table: str | None = None,
    ) -> str:
        """The summary (or, with `tidy`, the scores) as the command line prints it and the results folder holds
        it: csv, md, latex or json; `metrics`, `columns`, `sort`, `datasets` (names or globs) and `decimals`
        choose the view as `evalharness table`'s options do (`metrics`, `columns`, `sort`: summary only).
        `width`: the md summary for a terminal that wide, as `run` prints it (compact cells, blocks where one table
        would not fit), saying where the full table is (`full_table`; default: the folder's summary.md)."""
        from evalharness.reporting.aggregates import aggregates_block
        from evalharness.reporting.tables import (
            MAX_DECIMALS,
            directions_of,
            few_segments_notes,
            pick_datasets,
            render,
            signature_notes,
        )

        if tidy and (metrics or columns or sort):
            raise UserError("table: metrics, columns and sort choose from the summary, not the tidy table")
        if decimals is not None and (
            isinstance(decimals, bool) or not isinstance(decimals, int) or not 0 <= decimals <= MAX_DECIMALS
        ):
            raise UserError(f"decimals: expected a whole number from 0 to {MAX_DECIMALS}, got {decimals!r}")
        if width is not None and (isinstance(width, bool) or not isinstance(width, int) or width < 1):
            raise UserError(f"width: expected a positive whole number of columns, got {width!r}")
        if datasets is not None:
            datasets = lines_of(datasets, "datasets")
        scores = _plain(pick_datasets(self.scores, datasets, "datasets"))
        # The summary of these scores, rows in their order, as `evalharness table` builds it (`sort="none"`).
        frame, aggregates = (scores, None) if tidy else split_aggregates(summary_frame(scores))
        notes = signature_notes(scores) + few_segments_notes(scores) if format in ("md", "latex") else []
        if full_table is None and self.out_dir is not None:
            full_table = str(self.out_dir / "summary.md")
        # The tidy table is not marked (bold best, † wins): that is the summary's, as the files have it.
        directions = None if tidy else directions_of(scores)
        text = render(
            frame,
            format,
            notes,
            directions,
            metrics,
            columns,
            sort,
            decimals,
            width if format == "md" and not tidy else None,
            full_table,
        )
        return text + aggregates_block(aggregates, format, directions)

    @property
    def aggregates(self) -> pd.DataFrame | None:
        """The rows `aggregate: [seed]` adds (mean, std, min, max over seeds; aggregates.csv), wide like the
        summary, which leaves them out; None without them."""
        return split_aggregates(summary_frame(_plain(self.scores)))[1]


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame as the run's files were rendered from it: Python values, None where a cell is empty (pandas'
    nullable dtypes would print their NA as `<NA>`)."""
    return frame.astype(object).where(frame.notna(), None)


# ------------------------------------------------------------------------------------------------------ run


@redacting
def run(
    config: str | Path | dict,
    *,
    overrides: dict[str, Any] | list[str] | None = None,
    output_dir: str | Path | None = None,
    write: bool = True,
    use_cache: bool = True,
    workers: int | None = None,
    force: bool = False,
    progress: Progress | None = None,
    argv: list[str] | None = None,
) -> Results:
    """Run a config (a YAML file, or a dict of the same structure whose relative paths resolve against the
    current folder): translate, score, compare, and (with `write`) replace its results folder.

    `overrides`: ``{"statistics.bootstrap": 0, "systems.mt.path": "out.txt"}`` or ``["workers=1"]``, as
    ``--set``. `output_dir`: the parent folder of the run's results (default: the config's, else ./results).
    With `tracking:` in the config the written folder is then logged to MLflow or W&B (`Results.tracked`); a
    tracker that fails is a `ResultsWarning` and `Results.tracking_error`, never a lost run.
    """
    progress = progress or Progress.silent()
    items = override_items(overrides)
    parent = path_of(output_dir, "output_dir", "a folder's path or None") if output_dir is not None else None
    workers = workers_of(workers)
    with progress.phase("plan") as phase:
        loaded = _load(config, items)
        _check_tracker(loaded)
        plan = build_plan(loaded.config, loaded.base_dir)
        for notice in plan.notices:  # sweep points collapsed into one cell
            progress.say(notice)
        # Only now: the runner pulls in matplotlib and the rest (half a second), which a bad config never needs.
        from evalharness.runner import execute
        from evalharness.runner import output_dir as results_dir

        out_dir = results_dir(loaded, parent)
        phase.summary = f"{len(plan.datasets)} datasets, {len(plan.cells)} cells, {len(plan.metrics)} metrics"
    out = execute(
        loaded,
        plan,
        out_dir,
        use_cache=use_cache,
        workers=workers,
        argv=argv if argv is not None else [],
        progress=progress,
        force=force,
        write=write,
    )
    return _results(
        out.scores,
        out.summary,
        out.segments,
        out.agreement,
        out.manifest,
        out.out_dir,
        meta=out.meta,
        segments_translated=out.model_calls,
        score_cache_hits=out.score_cache_hits,
        score_cache_misses=out.score_cache_misses,
        **_track(loaded, out.out_dir),
    )


def _check_tracker(loaded: LoadedConfig) -> None:
    """A tracker whose package is missing, said before the run rather than after it (the run goes on)."""
    if loaded.config.tracking is not None:
        from evalharness.tracking import missing_extra

        line = missing_extra(loaded.config.tracking)
        if line:
            warnings.warn(f"{line}; the run goes on, and `evalharness track` logs it later", ResultsWarning, 3)


def _track(loaded: LoadedConfig, out_dir: Path | None) -> dict[str, str | None]:
    """The written folder logged to the config's tracker; a tracker that fails warns in one line and loses
    nothing (the folder is whole, and `evalharness track` logs it later)."""
    settings = loaded.config.tracking
    if settings is None or out_dir is None:
        return {}
    from evalharness.tracking import track_folder

    try:
        return {"tracked": track_folder(out_dir, settings)}
    except UserError as err:
        message = f"{err}; the results are written: log them later with `evalharness track {out_dir}`"
        warnings.warn(message, ResultsWarning, stacklevel=3)
        return {"tracking_error": message}


@redacting
def plan_of(config: str | Path | dict, overrides: dict[str, Any] | list[str] | None = None) -> tuple[Plan, Path]:
    """The plan of a config (datasets, cells, metrics) and where its results would go, without running it."""
    from evalharness.runner import output_dir as results_dir

    loaded = _load(config, override_items(overrides))
    return build_plan(loaded.config, loaded.base_dir), results_dir(loaded, None)


def _load(config: str | Path | dict, overrides: list[str]) -> LoadedConfig:
    config = config_of(config)
    if isinstance(config, dict):
        return config_from_dict(config, overrides)
    return load_config(config, overrides)


# ---------------------------------------------------------------------------------------------------- score


@dataclass
class _GivenOutputs:
    """A system whose outputs are given (what `score` scores): nothing to translate."""

    name: str
    copies_source = False
    is_floor = False

    def runtime(self) -> dict:
        return {}


# What `score` scores as when no language pair is given: BLEU's default tokenizer (13a), no language judged.
DEFAULT_LANGPAIR = "xx-en"


def metric_configs(metrics: Sequence[str | dict | Any], where: str = "metrics") -> list[Metric]:
    """Metrics from names ("bleu"), dicts ({"name": "bleu", "tokenize": "intl"}), metric configs or metrics."""
    given = [entry for entry in metrics if isinstance(entry, str)]
    twice = sorted({name for name in given if given.count(name) > 1})
    if twice:
        raise UserError(f"{where}: {', '.join(twice)} given twice")
    built: list[Metric] = []
    for index, entry in enumerate(metrics):
        if isinstance(entry, Metric):
            built.append(entry)
            continue
        if not isinstance(entry, (str, dict, MetricConfigBase)):
            raise UserError(f"{where}[{index}]: expected a metric name, a dict or a metric config, got {entry!r}")
        options = {"name": entry} if isinstance(entry, str) else entry
        if isinstance(options, dict):
            name = options.get("name")
            if not isinstance(name, str) or name not in METRICS:
                raise UserError(f"{where}: unknown metric {name!r} (known: {', '.join(METRICS)})")
            try:
                options = METRICS[name][0].model_validate(options)
            except ValidationError as err:  # named as in a config file: metrics[1].char_order: ...
                message = describe_entry_error(err.errors()[0], "metrics", index, options)
                raise UserError(where + message.removeprefix("metrics")) from err
        built.append(make_metric(options))
    labels = [m.label for m in built]
    twice = sorted({label for label in labels if labels.count(label) > 1})
    if twice:
        raise UserError(f"{where}: {', '.join(twice)} given twice")
    return built


@redacting
def score(
    hypotheses: list[str] | dict[str, list[str]],
    references: list[str] | list[list[str]],
    *,
    metrics: Sequence[str | dict | Any] = ("bleu", "chrf", "ter"),
    langpair: str | None = None,
    statistics: StatisticsConfig | dict | None = None,
    workers: int | None = None,
    segments: bool = True,
    dataset: str = "score",
    reference_names: list[str] | None = None,
    sources: list[str] | None = None,
) -> Results:
    """Score hypotheses against references with the run's own scoring path (sacrebleu underneath).

    `hypotheses`: one system's lines, or system name -> lines. `references`: one reference's lines, or a list of
    reference streams (``references[k][i]`` is reference k of segment i, as sacrebleu takes them). `metrics`:
    names or metric dicts/configs. `langpair`: its target picks BLEU's tokenizer, the off-target check and the
    language the references must be in (default: none given, scored as xx-en). The references are checked as
    `run` checks them (evalharness.refcheck): refused when most segments are the source (with `sources`) or not
    in the target language (with `langpair`; without it, a warning on stderr when they are mostly not English).
    `statistics`: bootstrap CIs (default 1000 resamples) and a paired test when it names a `baseline`.
    `sources`: the source lines, for reference-free metrics (`{"name": "embedding", "against": "source"}`).
    """
    from evalharness.metrics.scoring import default_workers
    from evalharness.runner import CellOutput, Scorer, evaluate
    from evalharness.systems.context import CellStats

    systems = hypotheses_of(hypotheses)
    streams = references_of(references)
    if not streams:
        raise UserError("references: expected a list of strings or a list of reference streams (lists of strings)")
    if sources is not None:
        sources = lines_of(sources, "sources")
        if len(sources) != len(streams[0]):
            raise UserError(f"sources: expected {len(streams[0])} lines of text, one per reference line")
    target_known = langpair is not None
    langpair = langpair if langpair is not None else DEFAULT_LANGPAIR
    try:
        check_langpair(text_of(langpair, "langpair", "de-en"))
    except ValueError as err:
        raise UserError(f"langpair: {err}") from err
    source_lang, target_lang = langpair.split("-")
    dataset = text_of(dataset, "dataset", "news")
    workers = workers_of(workers)
    if reference_names is not None:
        reference_names = lines_of(reference_names, "reference_names")
    if statistics is not None and not isinstance(statistics, (dict, StatisticsConfig)):
        raise UserError(f"statistics: expected a dict of settings (e.g. {{'bootstrap': 0}}), got {statistics!r}")
    built = metric_configs(metrics_of(metrics))
    for metric in built:
        metric.check(target_lang)
    try:
        stats_cfg = (
            statistics
            if isinstance(statistics, StatisticsConfig)
            else StatisticsConfig.model_validate(statistics or {})
        )
    except ValidationError as err:
        first = err.errors()[0]
        raise UserError(f"statistics.{'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from err
    if stats_cfg.baseline is not None and stats_cfg.baseline not in systems:
        raise UserError(f"statistics.baseline: no system named {stats_cfg.baseline!r} (systems: {', '.join(systems)})")
    if reference_names is None:
        reference_names = ["reference"] if len(streams) == 1 else [f"reference {k + 1}" for k in range(len(streams))]
    for name in systems:
        check_one_line(str(name), "hypotheses: system name")
    for name in reference_names:
        check_one_line(str(name), "reference_names")
    check_one_line(str(dataset), "dataset")
    data = Dataset(
        name=dataset,
        source_lang=source_lang,
        target_lang=target_lang,
        sources=list(sources) if sources is not None else [""] * len(streams[0]),
        references=[list(s) for s in streams],
        reference_names=list(reference_names),
        system_outputs={name: list(lines) for name, lines in systems.items()},
    )
    check_references(data, target_known=target_known)
    # A _GivenOutputs stands in for a System: it has what scoring reads (name, runtime) and is never translated.
    cells = [Cell(dataset, cast(System, _GivenOutputs(name))) for name in systems]
    plan = Plan({dataset: data}, cells, built, [])
    outputs = [CellOutput(list(lines), None, CellStats()) for lines in systems.values()]
    scorer = Scorer(built, workers or default_workers(), use_cache=False)
    try:
        found = evaluate(plan, outputs, scorer, stats_cfg, Progress.silent(), segments=segments)
    finally:
        scorer.close()
    scores = scores_frame(found.rows, [])
    summary = reading_order(summary_frame(scores), directions_of(scores))
    return Results(typed(scores), typed(summary), segments_frame(found.segments))


# ----------------------------------------------------------------------------------------------------- load


@redacting
def load(results_dir: str | Path) -> Results:
    """A finished run's results folder, read back (scores.csv, summary.csv, segments.jsonl, agreement.csv)."""
    folder = path_of(results_dir, "results_dir", "a results folder's path")
    data = read_folder(folder)
    return _results(data.scores, data.summary, data.segments, data.agreement, data.manifest, folder, meta=data.meta)


# --------------------------------------------------------------------------------------------------- frames


def _results(
    scores: pd.DataFrame,
    summary: pd.DataFrame,
    segments: list[dict],
    agreement: pd.DataFrame | None,
    manifest: dict,
    out_dir: Path | None,
    meta: pd.DataFrame | None = None,
    **counts: Any,
) -> Results:
    """A `Results` of typed frames: the same dtypes for a run in memory and for a folder read back."""
    return Results(
        typed(scores),
        typed(summary),
        segments_frame(segments),
        typed(agreement) if agreement is not None else None,
        manifest,
        out_dir,
        meta=typed(meta) if meta is not None else None,
        **counts,
    )


__all__ = ["Results", "load", "metric_configs", "plan_of", "run", "score", "segments_frame", "typed"]
