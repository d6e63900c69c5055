"""The `evalharness` command: run, score, table, report, ui, track, list, cache.

User mistakes (`UserError`) print one line on stderr and exit 2; nothing else is caught, so a bug keeps its
traceback. A tracker that fails (`run --track`, `track`: a `TrackingError`, whose `exit_status` it is) exits 3
(`TRACKING_FAILED`): the results are written.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from evalharness.cache import CACHES, Cache
from evalharness.errors import ResultsWarning, UserError
from evalharness.reporting.formats import FORMATS, MAX_DECIMALS, terminal_width
from evalharness.version import __version__

# The exit status of `run` whose results are written but whose tracker failed, and of `track` when the tracker did
# not take the folder: not 0 (something is left to do: `evalharness track`), not 2 (a mistake in the input, and no
# results); a script can tell a run to log again from a run to redo.
TRACKING_FAILED = 3


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from err
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _port(text: str) -> int:
    value = _positive_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"must be at most 65535, got {value}")
    return value


def _decimals(text: str) -> int:
    try:
        value = int(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from err
    if not 0 <= value <= MAX_DECIMALS:
        raise argparse.ArgumentTypeError(f"must be 0 to {MAX_DECIMALS}, got {value}")
    return value


def _names(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected comma-separated names")
    return names


def _add_format(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument("--format", "-f", choices=FORMATS, default=default, help=f"output format (default: {default})")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="evalharness", description="Evaluate machine translation systems with sacrebleu."
    )
    parser.add_argument("--version", action="version", version=f"evalharness {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "run",
        help="run a YAML config",
        description="Run a config: datasets x systems x sweep, scored with its metrics.",
    )
    p.add_argument("config", type=Path, help="YAML config file")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set workers=1 or --set systems.mt.path=out.txt (repeatable)",
    )
    p.add_argument("--dry-run", action="store_true", help="print the plan (datasets, systems, cells) and stop")
    p.add_argument(
        "--output-dir", type=Path, help="parent folder of the run's results (default: config's output_dir or ./results)"
    )
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the translation and score caches")
    p.add_argument(
        "--force", action="store_true", help="replace the results folder even if it holds files that no run wrote"
    )
    p.add_argument("--workers", type=_positive_int, help="processes for scoring (default: all cores)")
    p.add_argument(
        "--executor",
        choices=["local", "ray"],
        help="where cells are translated and scored (default: the config's executor.kind, else local); ray needs "
        "the extra: pip install 'evalharness[ray]'",
    )
    p.add_argument(
        "--address", help="with --executor ray: 'auto' or ray://host:port joins a cluster (default: start Ray here)"
    )
    p.add_argument(
        "--track",
        choices=["mlflow", "wandb"],
        help="log the finished run to MLflow or W&B (sets the config's tracking.backend); needs the extra: "
        "pip install 'evalharness[mlflow]' or 'evalharness[wandb]'",
    )
    _add_format(p, "md")

    p = sub.add_parser(
        "score",
        help="score hypothesis files against references",
        description="Score existing outputs, like `sacrebleu REF -i HYP...`, as a tidy table.",
    )
    p.add_argument(
        "--ref",
        "-r",
        nargs="+",
        required=True,
        type=Path,
        metavar="REF",
        help="reference file(s), one segment per line",
    )
    p.add_argument(
        "--hyp", "-i", nargs="+", required=True, metavar="HYP", help="hypothesis file(s); NAME=PATH names a system"
    )
    p.add_argument(
        "--metrics",
        "-m",
        nargs="+",
        default=["bleu", "chrf", "ter"],
        help="bleu, chrf, chrf++, ter, embedding (cosine of e5 embeddings with the reference), embedding-src "
        "(with the source: reference-free, needs --src) (default: bleu chrf ter)",
    )
    p.add_argument(
        "--src",
        "-s",
        type=Path,
        metavar="SRC",
        help="source file, for reference-free metrics and to refuse a reference that is the source",
    )
    p.add_argument(
        "--langpair",
        "-l",
        help="language pair; the target picks BLEU's tokenizer and the language the references must be in "
        "(default: xx-en, and references mostly not in English get a warning instead of an error)",
    )
    p.add_argument(
        "--tokenize", default="auto", help="BLEU tokenizer (default: auto, sacrebleu's default for the target)"
    )
    p.add_argument("--lowercase", "-lc", action="store_true", help="case-insensitive BLEU and chrF")
    p.add_argument("--workers", type=_positive_int, help="processes (default: all cores)")
    test = p.add_mutually_exclusive_group()
    test.add_argument("--paired-bs", action="store_true", help="paired bootstrap resampling against the baseline")
    test.add_argument("--paired-ar", action="store_true", help="paired approximate randomization against the baseline")
    p.add_argument("--baseline", help="baseline system for the paired test (default: the first --hyp)")
    p.add_argument("--n-samples", type=_positive_int, help="resamples of the paired test (default: bs 1000, ar 10000)")
    p.add_argument(
        "--bootstrap",
        type=int,
        default=1000,
        metavar="N",
        help="resamples for the 95%% confidence intervals (default: 1000; 0: none)",
    )
    p.add_argument("--seed", type=int, default=12345, help="seed of the resampling (default: 12345, as sacrebleu)")
    p.add_argument("--alpha", type=float, default=0.05, help="significance level (default: 0.05)")
    _add_format(p, "csv")

    p = sub.add_parser(
        "table",
        help="re-tabulate finished runs, one or merged into a leaderboard",
        description="Print a finished run's tables without recomputing anything; several runs are "
        "merged into one leaderboard when their scores are comparable.",
    )
    p.add_argument(
        "results_dirs",
        nargs="+",
        type=Path,
        metavar="RESULTS_DIR",
        help="a run's results folder (holds scores.csv); several: one table with a run column",
    )
    p.add_argument("--tidy", action="store_true", help="the tidy table (one row per score) instead of the summary")
    p.add_argument(
        "--metrics",
        type=_names,
        metavar="M1,M2",
        help="the metrics to show, in this order (labels as in scores.csv: BLEU,chrF2,TER; default: all)",
    )
    p.add_argument(
        "--columns",
        type=_names,
        metavar="C1,C2",
        help="per metric: score, ci, rank (WMT rank range), cluster, p_value, delta, delta_ci, agreement (the delta "
        "in human terms), significant; per "
        "system: off_target_rate, empty_outputs, unaligned_sources, unaligned_references, pivot_on_target_rate, "
        "valid; or all (default: ci, rank, p_value where computed, and the per-system columns with something to "
        "say; on a terminal a compact cell per metric)",
    )
    p.add_argument(
        "--datasets",
        type=_names,
        metavar="D1,D2",
        help="only these datasets: names or globs (wmt22-zh-en-*), in the run's order (default: all)",
    )
    p.add_argument(
        "--decimals", type=_decimals, metavar="N", help="decimals of scores in md (default: 2; csv and json keep all)"
    )
    p.add_argument(
        "--sort",
        metavar="KEY",
        help="order within each dataset and level: a metric (best first), system, or none (run order); default: "
        "the first metric shown",
    )
    p.add_argument("--output", "-o", type=Path, help="write to this file instead of standard output")
    _add_format(p, "md")

    p = sub.add_parser(
        "report",
        help="rebuild a finished run's report.html and plots",
        description="Rebuild report.html and plots/ of a results folder from its files (a run writes "
        "them itself; this is for folders made before, or copied elsewhere).",
    )
    p.add_argument("results_dir", type=Path, metavar="RESULTS_DIR", help="a run's results folder")

    p = sub.add_parser(
        "ui",
        help="explore and compare finished runs in the browser",
        description="Start the browser app over results folders (read-only: it never writes into them): "
        "leaderboard, compare two systems segment by segment, significance, sweeps, round trips and documents, "
        "score files. Needs the extra: pip install 'evalharness[ui]'. Ctrl+C stops it.",
    )
    p.add_argument(
        "results_dirs",
        nargs="+",
        type=Path,
        metavar="RESULTS_DIR",
        help="a run's results folder (holds scores.csv); several: one leaderboard, as `evalharness table`",
    )
    p.add_argument("--port", type=_port, default=8501, help="port to serve on (default: 8501)")
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to serve on (default: 127.0.0.1, this machine only; 0.0.0.0: every interface)",
    )

    p = sub.add_parser(
        "track",
        help="log a finished run to MLflow or W&B",
        description="Log a results folder to an experiment tracker, as `run --track` does: a parent run (W&B: a "
        "group) with a run per cell. Settings come from the folder's config.yaml `tracking:` section, overridden "
        f"by the options. Exit status {TRACKING_FAILED}: the tracker did not take it.",
    )
    p.add_argument("results_dir", type=Path, metavar="RESULTS_DIR", help="a run's results folder")
    p.add_argument("--backend", choices=["mlflow", "wandb"], help="the tracker (default: the folder's config)")
    p.add_argument("--uri", help="mlflow: the tracking URI (default: MLFLOW_TRACKING_URI, else ./mlruns)")
    p.add_argument("--experiment", help="mlflow: the experiment (default: evalharness)")
    p.add_argument("--project", help="wandb: the project (default: evalharness)")
    p.add_argument("--mode", choices=["offline", "online"], help="wandb: offline (the default) or online")
    p.add_argument("--dir", help="wandb: the folder that receives wandb/ (default: WANDB_DIR, else here)")

    sub.add_parser(
        "list", help="list dataset kinds, system engines and metrics", description="List what a config can name."
    )

    p = sub.add_parser(
        "cache",
        help="inspect or clear the caches",
        description="Show or clear the caches in the cache folder: "
        + ", ".join(f"{c.name} ({c.label})" for c in CACHES.values())
        + ". A damaged cache file is removed by clear.",
    )
    p.add_argument("action", choices=["stats", "clear"])
    p.add_argument("cache", nargs="?", choices=list(CACHES), help="one cache (default: all of them)")
    return parser


def cmd_run(args) -> int:
    from evalharness import api
    from evalharness.progress import Progress

    if args.executor is not None:
        args.overrides.append(f"executor.kind={args.executor}")
    if args.address is not None:
        if (args.executor or "ray") != "ray":
            raise UserError("--address: only with --executor ray")
        args.overrides.append(f"executor.address={args.address}")
    if args.track is not None:
        args.overrides.append(f"tracking.backend={args.track}")
    if args.dry_run:
        plan, out_dir = api.plan_of(args.config, args.overrides)
        print(plan.describe())
        print(f"results would go to {out_dir}")
        return 0
    result = api.run(
        args.config,
        overrides=args.overrides,
        output_dir=args.output_dir,
        use_cache=not args.no_cache,
        workers=args.workers,
        force=args.force,
        progress=Progress(),
        argv=sys.argv,
    )
    if args.format == "md":  # the terminal's view, which says where the whole summary is
        print(result.table("md", width=terminal_width()), end="")
    else:
        print(result.table(args.format), end="")
    for row in result.summary.to_dict("records"):
        if row.get("empty_outputs"):
            print(
                f"warning: {row['system']} on {row['dataset']}: {row['empty_outputs']} empty outputs", file=sys.stderr
            )
    print(
        f"\nresults: {result.out_dir} (segments translated: {result.segments_translated}; score cache: "
        f"{result.score_cache_hits} hits, {result.score_cache_misses} computed)",
        file=sys.stderr,
    )
    if result.tracked:
        print(f"tracked: {result.tracked}", file=sys.stderr)
    return TRACKING_FAILED if result.tracking_error else 0


def cmd_track(args) -> int:
    """A finished folder logged with the settings of its config.yaml, the options on top."""
    from evalharness.tracking import settings_of, track_run
    from evalharness.tracking.record import read_run

    run = read_run(args.results_dir)  # once: checked, hashed and parsed once for the settings and the cells
    given = {k: getattr(args, k) for k in ("backend", "uri", "experiment", "project", "mode", "dir")}
    settings = settings_of(run, {k: v for k, v in given.items() if v is not None})
    print(f"tracked: {track_run(run, settings)}", file=sys.stderr)  # a TrackingError exits 3
    return 0


def _parse_hyp(item: str) -> tuple[str, Path]:
    from evalharness.configtypes import check_one_line

    if "=" in item and not Path(item).exists():
        name, _, path = item.partition("=")
        if not name:
            raise UserError(f"--hyp {item}: empty system name before '='")
        return check_one_line(name, f"--hyp {item!r}: system name"), Path(path)
    return check_one_line(Path(item).name, f"--hyp {item!r}: system name"), Path(item)


def cmd_score(args) -> int:
    """The flags become the API's arguments (metric options, statistics); `api.score` computes everything."""
    from pydantic import ValidationError

    from evalharness import api
    from evalharness.configtypes import check_langpair
    from evalharness.metrics import METRICS
    from evalharness.statistics.compare import StatisticsConfig
    from evalharness.textio import check_same_length, read_lines

    langpair = args.langpair if args.langpair is not None else api.DEFAULT_LANGPAIR
    try:
        check_langpair(langpair)
    except ValueError as err:
        raise UserError(f"--langpair: {err}") from err
    twice = sorted({name for name in args.metrics if args.metrics.count(name) > 1})
    if twice:
        raise UserError(f"--metrics: {', '.join(twice)} given twice")
    requested = []
    for name in args.metrics:
        options: dict = {"name": name} if name != "embedding-src" else {"name": "embedding", "against": "source"}
        if name in METRICS and "lowercase" in METRICS[name][0].model_fields:
            options["lowercase"] = args.lowercase
        if name == "bleu":
            options["tokenize"] = args.tokenize
        requested.append(options)
    metrics = api.metric_configs(requested, where="--metrics")
    for metric in metrics:
        metric.check(langpair.split("-")[1])
    refs = [read_lines(path) for path in args.ref]
    for path, stream in zip(args.ref[1:], refs[1:], strict=True):
        check_same_length(len(refs[0]), stream, path, f"reference {args.ref[0]}")
    systems: dict[str, list[str]] = {}
    for item in args.hyp:
        name, path = _parse_hyp(item)
        if name in systems:
            raise UserError(f"--hyp {item}: system name {name!r} given twice (use NAME=PATH)")
        lines = read_lines(path)
        check_same_length(len(refs[0]), lines, path, f"reference {args.ref[0]}")
        systems[name] = lines
    sources = None
    if args.src is not None:
        sources = read_lines(args.src)
        check_same_length(len(refs[0]), sources, args.src, f"reference {args.ref[0]}")
    elif any(metric.uses_sources for metric in metrics):
        raise UserError("--metrics embedding-src: a reference-free metric needs the sources (--src FILE)")
    paired = args.paired_bs or args.paired_ar
    baseline = args.baseline or next(iter(systems))
    if paired and baseline not in systems:
        raise UserError(f"--baseline: no system named {baseline!r} (systems: {', '.join(systems)})")
    try:
        statistics = StatisticsConfig(
            bootstrap=args.bootstrap,
            seed=args.seed,
            baseline=baseline if paired else None,
            test="ar" if args.paired_ar else "bs",
            n_samples=args.n_samples,
            alpha=args.alpha,
        )
    except ValidationError as err:
        first = err.errors()[0]
        raise UserError(f"--{str(first['loc'][0]).replace('_', '-')}: {first['msg']}") from err
    result = api.score(
        systems,
        refs,
        metrics=metrics,
        langpair=args.langpair,  # None: not given, the references' language gets a warning, not an error
        statistics=statistics,
        workers=args.workers,
        segments=False,
        dataset=args.ref[0].name,
        reference_names=[path.name for path in args.ref],
        sources=sources,
    )
    if args.format == "md":  # for reading: the summary as `run` prints it; csv, json and latex are the tidy table
        full = "-f csv (the tidy table, every statistic at full precision)"
        print(result.table("md", width=terminal_width(), full_table=full), end="")
    else:
        print(result.table(args.format, tidy=True), end="")
    return 0


def cmd_table(args) -> int:
    from evalharness.reporting.aggregates import aggregates_block
    from evalharness.reporting.leaderboard import table
    from evalharness.reporting.tables import render
    from evalharness.results import split_aggregates
    from evalharness.textio import atomic_write, check_writable

    if args.tidy and (args.metrics or args.columns or args.sort):
        raise UserError("table: --metrics, --columns and --sort choose from the summary, not the --tidy table")
    frame, notes, directions = table(args.results_dirs, args.tidy, args.datasets)
    aggregates = None
    if not args.tidy:  # mean, std, ... over seeds: a table of their own, below
        frame, aggregates = split_aggregates(frame)
    # On the terminal the md summary fits its width; a file (-o) holds the one wide table.
    width = terminal_width() if args.format == "md" and directions and not args.output else None
    full = None
    if width is not None and args.columns != ["all"]:
        full = "this command with --columns all, or -o FILE.md"  # short: a wrapped command cannot be copied
    text = render(
        frame, args.format, notes, directions, args.metrics, args.columns, args.sort, args.decimals, width, full
    )
    text += aggregates_block(aggregates, args.format, directions)
    if args.output:
        check_writable(args.output.parent, "folder of the output file")
        try:
            atomic_write(args.output, text)
        except OSError as err:  # a full disk, a file over the size limit: the old file, if any, stays as it was
            raise UserError(f"{args.output}: cannot write it ({err.strerror or err}); nothing was written") from err
    else:
        print(text, end="")
    return 0


def cmd_report(args) -> int:
    """report.html and plots/ again, from the folder's files, once the folder is whole; manifest.json's hashes
    follow the new files."""
    from evalharness.reporting.report import REPORT, is_report_file, load, report_files
    from evalharness.results import rewrite_results
    from evalharness.textio import check_writable

    data = load(args.results_dir, rebuilt=is_report_file)
    check_writable(args.results_dir, "report")  # a read-only folder: said before the plots are drawn
    rewrite_results(args.results_dir, report_files(data), data.manifest, is_report_file, "the report")
    print(args.results_dir / REPORT)
    return 0


def cmd_ui(args) -> int:
    """Blocks while the app runs; the folders are checked (they exist) before the server starts."""
    from evalharness.ui.launch import serve

    status = serve(args.results_dirs, port=args.port, host=args.host)
    assert isinstance(status, int)  # block=True: the server's exit status
    return status


def cmd_list(args) -> int:
    from evalharness.datasets import LOADERS
    from evalharness.metrics import METRICS, make_metric
    from evalharness.systems import ENGINES

    print("dataset kinds:  " + ", ".join(LOADERS))
    print("system engines: " + ", ".join(ENGINES))
    print("metrics:")
    width = max(map(len, METRICS))
    for name, (model, _) in METRICS.items():
        # A metric that needs options (`command`: its program and label) has no default to show: say what it needs.
        needs = [key for key, info in model.model_fields.items() if info.is_required() and key != "name"]
        if needs:
            print(f"  {name:<{width}} {'-':<8} needs {', '.join(needs)} (label and direction are yours)")
            continue
        metric = make_metric(model.model_validate({"name": name}))
        print(f"  {name:<{width}} {metric.default_label():<8} {metric.direction} is better")
    return 0


def cmd_cache(args) -> int:
    chosen = [CACHES[args.cache]] if args.cache else list(CACHES.values())
    for cache in chosen:
        path = cache.path
        if not path.exists():
            print(f"{cache.label}: {path} (empty)")
        elif args.action == "clear":
            print(_clear(cache))
        else:
            store = cache.open(read_only=True)  # stats changes nothing, so a read-only folder is no obstacle
            try:
                print(f"{cache.label}: {path}: {store.count()} entries, {store.size_bytes() / 1e6:.1f} MB")
            finally:
                store.close()
    return 0


def _clear(cache: Cache) -> str:
    """Empty one cache; a damaged file is removed, which always recovers. A cache that cannot be written (a
    read-only folder) is a one-line error and stays as it is."""
    from evalharness.cache import DamagedCache, Store

    try:
        store = cache.open()
        try:
            return f"{cache.label}: removed {store.clear()} entries from {cache.path}"
        finally:
            store.close()
    except DamagedCache:
        try:
            Store.remove_files(cache.path)
        except OSError as err:
            raise UserError(
                f"{cache.path}: the cache file is damaged and cannot be removed ({err.strerror or err})"
            ) from err
        return f"{cache.label}: {cache.path} was damaged; removed the file"


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A `ResultsWarning` as one line, like the errors; any other warning as Python shows it."""
    if issubclass(category, ResultsWarning):
        print(f"evalharness: warning: {message}", file=sys.stderr)
    else:
        _python_show_warning(message, category, filename, lineno, file, line)


_python_show_warning = warnings.showwarning


COMMANDS = {
    "run": cmd_run,
    "score": cmd_score,
    "table": cmd_table,
    "report": cmd_report,
    "ui": cmd_ui,
    "track": cmd_track,
    "list": cmd_list,
    "cache": cmd_cache,
}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    warnings.showwarning = _show_warning
    try:
        return COMMANDS[args.command](args)
    except UserError as err:
        from evalharness.secrets import redact

        print(f"evalharness: error: {redact(str(err))}", file=sys.stderr)
        return err.exit_status
    except KeyboardInterrupt:
        print("evalharness: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
