"""`report.html`: one self-contained page per run (tables, plots, the segments where the systems differ most).

The page is built from a run's data: the tidy scores frame, the summary frame, the agreement frame (or None),
the segment records (the dicts of `segments.jsonl`), the manifest and the human scores, all held in a
:class:`RunData`. The runner passes them from memory; :func:`load` reads them back from a results folder, so a
report can be rebuilt from the folder alone (``evalharness report results/<run>``).

The page is self-contained: CSS inline, plots as ``data:image/png;base64,`` URIs, no script, no external or
relative link. Every text goes through Jinja's autoescape (sources and hypotheses contain quotes, ``<``, ``&``).
"""

from __future__ import annotations

import base64
import math
import re
from collections import Counter
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any, cast

import jinja2
import pandas as pd

from evalharness.reporting.analysis import key_metric, read_table, tokens
from evalharness.reporting.plots import bars_path, numeric_sweeps, run_plots, scatter_path, setting_text, sweep_path
from evalharness.reporting.tables import directions_of, format_p, marked, signature_notes, sort_rows
from evalharness.results import ANALYSIS_FILES, STAT_COLUMNS, RunData, missing, read_folder, sweep_columns
from evalharness.statistics.humanterms import COLUMN

REPORT = "report.html"
TOP_SEGMENTS = 5  # segments shown per dataset
MIN_SOURCE_TOKENS = 5  # a shorter source ("你好" -> "Hello," vs "Hello") says little about a system


# ------------------------------------------------------------------------------------------------ human scores


def _human_maps(human: pd.DataFrame | None) -> tuple[dict[str, dict[str, float]], dict[str, str]]:
    scores: dict[str, dict[str, float]] = {}
    kinds: dict[str, str] = {}
    if human is None:
        return scores, kinds
    for row in human.to_dict("records"):
        scores.setdefault(str(row["dataset"]), {})[str(row["system"])] = float(row["human_score"])
        kinds[str(row["dataset"])] = str(row["kind"])
    return scores, kinds


# ---------------------------------------------------------------------------------------------- loading a folder


def is_report_file(name: str) -> bool:
    """A file of the results folder that `report_files` makes (and `evalharness report` makes again)."""
    return name == REPORT or name.startswith("plots/")


def load(folder: Path | str, rebuilt: Callable[[str], bool] = lambda name: False) -> RunData:
    """The data of a results folder (`evalharness.results.read_folder`), refused unless the folder is whole
    (`check_whole`, which skips the files `rebuilt` names)."""
    return read_folder(folder, rebuilt)


# ------------------------------------------------------------------------------------------------- formatting


def _num(value: Any, digits: int = 2) -> str:
    return "" if missing(value) else f"{float(value):.{digits}f}"


def _is_false(value: Any) -> bool:
    return value is False or str(value) == "False"


def _settings_label(settings: dict | None) -> str:
    return ", ".join(f"{k}={setting_text(v)}" for k, v in (settings or {}).items() if not missing(v))


_MARK = re.compile(r"^(\*\*)?(.*?)(\*\*)?(†)?(‡)?$")


def _marked_cell(text: str) -> dict:
    """tables.marked's Markdown ('**12.34**†', '12.34‡') -> parts for the template."""
    match = _MARK.match(text)
    assert match is not None  # every part of the pattern is optional
    return {
        "text": match.group(2),
        "bold": bool(match.group(1)),
        "dagger": bool(match.group(4)),
        "ddagger": bool(match.group(5)),
    }


RANK_RANGE = ("rank_low", "rank_high")


def _significance_texts(summary: pd.DataFrame, i, metric: str) -> tuple[str, str]:
    """(rank range, p-value against the baseline) of a summary cell as the report shows them ('' when none)."""
    low, high = (
        cast(Any, summary.at[i, f"{metric} {k}"] if f"{metric} {k}" in summary.columns else None) for k in RANK_RANGE
    )
    rank = (
        "" if missing(low) or missing(high) else (f"{int(low)}" if int(low) == int(high) else f"{int(low)}–{int(high)}")
    )
    p = summary.at[i, f"{metric} p_value"] if f"{metric} p_value" in summary.columns else None
    return rank, format_p(p)


# ---------------------------------------------------------------------------------------------------- content


def _summary_tables(data: RunData) -> list[dict]:
    """Per dataset: header cells and rows of the summary table (scores with CI, best bold, dagger for wins)."""
    summary = data.summary
    directions = directions_of(data.scores)
    metrics = [m for m in directions if m in summary.columns]
    texts = marked(summary, directions, "md")
    keys = [c for c in sweep_columns(data.scores) if c in summary.columns]
    tables = []
    # best first by the first metric within each dataset and level, as in summary.md
    order = list(sort_rows(summary, directions, metrics[0]).index) if metrics else list(summary.index)
    for dataset in dict.fromkeys(summary["dataset"]):
        index = [i for i in order if summary.at[i, "dataset"] == dataset]
        frame = summary.loc[index]
        shown = [k for k in keys if frame[k].notna().any()]  # the settings swept on this dataset
        extras = []
        if "off_target_rate" in frame.columns:
            extras.append(("off target", "off_target_rate", lambda v: "" if missing(v) else f"{100 * float(v):.1f}%"))
        if "empty_outputs" in frame.columns and pd.to_numeric(frame["empty_outputs"], errors="coerce").fillna(0).any():
            extras.append(("empty", "empty_outputs", lambda v: "" if missing(v) else str(int(v))))
        if "pivot_on_target_rate" in frame.columns and frame["pivot_on_target_rate"].notna().any():
            extras.append(
                ("pivot on target", "pivot_on_target_rate", lambda v: "" if missing(v) else f"{100 * float(v):.1f}%")
            )
        rows = []
        for i in index:
            cells = []
            for metric in metrics:
                cell = _marked_cell(str(texts.at[i, metric]))  # tables.marked's cells are strings
                low, high = (
                    summary.at[i, f"{metric} ci_low"] if f"{metric} ci_low" in summary.columns else None,
                    summary.at[i, f"{metric} ci_high"] if f"{metric} ci_high" in summary.columns else None,
                )
                cell["ci"] = f"[{_num(low)}, {_num(high)}]" if not missing(low) and not missing(high) else ""
                cell["rank"], cell["p"] = _significance_texts(summary, i, metric)
                cells.append(cell)
            rows.append(
                {
                    "system": str(summary.at[i, "system"]),
                    "settings": [
                        ("", "")
                        if missing(summary.at[i, k])
                        else (setting_text(summary.at[i, k]), str(summary.at[i, k]))
                        for k in shown
                    ],
                    "level": str(summary.at[i, "level"]),
                    "invalid": "valid" in summary.columns and _is_false(summary.at[i, "valid"]),
                    "floor": str(summary.at[i, "system"]) in floors_of(data),
                    "scores": cells,
                    "extras": [fmt(summary.at[i, column]) for _, column, fmt in extras],
                }
            )
        info = data.manifest.get("datasets", {}).get(dataset, {})
        tables.append(
            {
                "dataset": dataset,
                "info": info,
                "keys": shown,
                "extras": [name for name, _, _ in extras],
                "metrics": [(m, "↑" if directions[m] else "↓") for m in metrics],
                "rows": rows,
                "any_invalid": any(r["invalid"] for r in rows),
            }
        )
    return tables


def floors_of(data: RunData) -> set[str]:
    """The run's floor systems (identity, `floor: true`), as the manifest lists them (none in an older folder)."""
    return {str(name) for name in data.manifest.get("floors") or []}


RANKED = ("accuracy", "acc_eq", "spa", "pearson", "kendall")  # the ranking table's columns (meta.csv statistics)


def _ranking_tables(meta: pd.DataFrame | None) -> list[dict]:
    """Per dataset, the metrics ordered as a WMT metrics-task table (meta.csv's system level): by the
    significance cluster of their pairwise accuracy, then by its value; each tested statistic with its cluster."""
    if meta is None or not len(meta):
        return []
    rows = meta[(meta["section"] == "metric") & (meta["level"] == "system")]
    tables = []
    for dataset in dict.fromkeys(str(d) for d in rows["dataset"]):
        mine = rows[rows["dataset"] == dataset]
        by_metric: dict[str, dict] = {}
        order: dict[str, tuple[float, float, str]] = {}  # (accuracy cluster, -accuracy, name): best first
        for record in mine.to_dict("records"):
            metric, statistic, value = str(record["metric"]), str(record["statistic"]), record["value"]
            entry = by_metric.setdefault(metric, {"metric": metric})
            if statistic in RANKED:
                cluster = record.get("cluster")
                entry[statistic] = _num(value, 3) or "n/a"
                entry[f"{statistic}_cluster"] = "" if missing(cluster) else int(float(str(cluster)))
            if statistic == "accuracy":
                cluster = record.get("cluster")
                order[metric] = (
                    math.inf if missing(cluster) else float(str(cluster)),
                    math.inf if missing(value) else -float(value),
                    metric,
                )
        ordered = [by_metric[m] for m in sorted(by_metric, key=lambda m: order.get(m, (math.inf, math.inf, m)))]
        spa = mine[mine["statistic"] == "spa"]["method"].dropna()
        tables.append({"dataset": dataset, "rows": ordered, "spa_method": str(spa.iloc[0]) if len(spa) else ""})
    return tables


def _agreement_rows(agreement: pd.DataFrame | None) -> list[dict]:
    if agreement is None or not len(agreement):
        return []
    rows = []
    for record in agreement.to_dict("records"):
        row = {
            "dataset": str(record["dataset"]),
            "metric": str(record["metric"]),
            "n_systems": "" if missing(record["n_systems"]) else int(record["n_systems"]),
            "pairwise_accuracy": _num(record.get("pairwise_accuracy"), 3),
        }
        for name in ("pearson", "spearman", "kendall"):
            low, high = record.get(f"{name}_ci_low"), record.get(f"{name}_ci_high")
            row[name] = _num(record[name], 3) or "n/a"
            row[f"{name}_ci"] = f"[{_num(low, 3)}, {_num(high, 3)}]" if not missing(low) and not missing(high) else ""
        rows.append(row)
    return rows


def human_terms_rows(scores: pd.DataFrame) -> list[dict]:
    """The report's deltas in human terms: each score with a delta against the baseline and a curve (Kocmi et al.
    2024, `statistics.humanterms`), as text. Metrics without a curve have no row: nothing is borrowed."""
    if COLUMN not in scores.columns:
        return []
    settings = sweep_columns(scores)
    rows = []
    for record in scores[scores[COLUMN].notna()].to_dict("records"):
        shown = _settings_label({k: record[k] for k in settings})
        rows.append(
            {
                "dataset": str(record["dataset"]),
                "system": str(record["system"]) + (f" ({shown})" if shown else ""),
                "level": str(record["level"]),
                "metric": str(record["metric"]),
                "delta": f"{float(record['delta']):+.2f}",
                "agreement": f"{float(record[COLUMN]):.0f}%",
            }
        )
    return rows


def differing_segments(
    records: list[dict],
    directions: dict[str, bool],
    top: int = TOP_SEGMENTS,
    invalid: AbstractSet[tuple[str, str]] = frozenset(),
    floors: AbstractSet[str] = frozenset(),
) -> dict:
    """One dataset's segments where the systems differ most: the ``top`` segments with the largest spread
    (max - min over systems) of the key metric's sentence score, largest first (ties: the earlier segment).

    ``invalid``: (system, settings label) of invalid cells (a round trip whose pivot is not the pivot language).
    Like the tables, they are never marked best: the spread and the best/worst marks are over the valid systems
    when at least two are valid; otherwise the spread is over all systems and nothing is marked.

    ``floors``: system names of floors (the copy of the source, `floor: true`): shown, never compared. A floor is
    the worst system on nearly every segment, so with it the spread would measure the floor, not the systems."""
    records = [r for r in records if r.get("level", "segment") == "segment"]
    metrics = [m for m in directions if any(m in (r.get("scores") or {}) for r in records)]
    everyone = list(dict.fromkeys((str(r["system"]), _settings_label(r.get("settings"))) for r in records))
    floored = list(dict.fromkeys(name for name, _ in everyone if name in floors))
    systems = [key for key in everyone if key[0] not in floors]
    if not metrics or len(systems) < 2:
        single = systems[0][0] if systems else everyone[0][0] if everyone else None
        return {
            "metric": metrics[0] if metrics else None,
            "systems": len(systems),
            "single": single,
            "segments": [],
            "invalid": [],
            "floors": floored if systems else [],
        }
    metric = key_metric(metrics)
    higher = directions[metric]
    bad = [key for key in systems if key in invalid]
    marking = len(systems) - len(bad) >= 2

    def counted(record: dict) -> bool:
        key = (str(record["system"]), _settings_label(record.get("settings")))
        if key[0] in floors or missing(record["scores"].get(metric)):
            return False
        return not marking or key not in invalid

    by_segment: dict[int, list[dict]] = {}
    for record in records:
        by_segment.setdefault(int(record["segment"]), []).append(record)
    eligible = meaningful_segments(by_segment)
    ranked = []
    for number, group in by_segment.items():
        if eligible and number not in eligible:
            continue
        values = [float(r["scores"][metric]) for r in group if counted(r)]
        if len(values) >= 2:
            ranked.append((max(values) - min(values), number))
    ranked.sort(key=lambda item: (-item[0], item[1]))
    segments = []
    for spread, number in ranked[:top]:
        group = by_segment[number]
        values = [float(r["scores"][metric]) for r in group if counted(r)]
        best, worst = (max(values), min(values)) if higher else (min(values), max(values))
        first = group[0]
        hyps = []
        for record in group:
            value = record["scores"].get(metric)
            key = (str(record["system"]), _settings_label(record.get("settings")))
            mark = ""
            if marking and spread > 0 and counted(record):
                mark = "best" if float(value) == best else "worst" if float(value) == worst else ""
            hyps.append(
                {
                    "system": key[0],
                    "settings": key[1],
                    "invalid": key in invalid,
                    "floor": key[0] in floors,
                    "text": record.get("hypothesis", ""),
                    "mark": mark,
                    "pivot": record.get("pivot"),
                    "pivot_lang": record.get("pivot_lang"),
                    "scores": [(m, _num(record["scores"].get(m)), m == metric) for m in metrics],
                }
            )
        segments.append(
            {
                "number": number,
                "spread": f"{spread:.2f}",
                "doc_id": first.get("doc_id"),
                "source_ids": _ranges(first.get("source_ids")),
                "source": first.get("source", ""),
                "references": list(first.get("references") or []),
                "hypotheses": hyps,
            }
        )
    return {
        "metric": metric,
        "higher": higher,
        "systems": len(systems) - (len(bad) if marking else 0),
        "single": None,
        "segments": segments,
        "invalid": [name for name, _ in bad],
        "floors": floored,
        "marking": marking,
        "filtered": bool(eligible),
        "min_tokens": MIN_SOURCE_TOKENS,
    }


def meaningful_segments(by_segment: dict[int, list[dict]]) -> set[int]:
    """The segments worth showing as a difference: a source of at least MIN_SOURCE_TOKENS tokens (sacrebleu's zh
    tokenizer, which splits Han characters and tokenizes other text like 13a) that no other segment repeats.
    Empty when none is (then every segment is a candidate)."""
    sources = {number: str(group[0].get("source", "")) for number, group in by_segment.items()}
    repeated = Counter(text.strip() for text in sources.values())
    return {
        number
        for number, text in sources.items()
        if repeated[text.strip()] == 1 and len(tokens(text, "zh")) >= MIN_SOURCE_TOKENS
    }


TOP_NGRAMS_SHOWN = 10
TOP_DOCUMENTS = 5


def _pivot(frame: pd.DataFrame, column: str, digits: int, order: list[str], floors: AbstractSet[str]) -> dict:
    """Systems as rows in ``order`` (best first), buckets as columns (in the file's order; a bucket without any
    value left out, such as the F-measure of words no reference has), one value column formatted."""
    buckets = list(dict.fromkeys(frame.loc[frame[column].notna(), "bucket"]))
    rows = []
    for system in by_score(list(dict.fromkeys(frame["system"])), order):
        values = {r["bucket"]: r[column] for r in frame[frame["system"] == system].to_dict("records")}
        rows.append(
            {"system": system, "floor": system in floors, "values": [_num(values.get(b), digits) for b in buckets]}
        )
    return {"buckets": buckets, "rows": rows}


def score_order(data: RunData, dataset: str, metric: str, higher: bool) -> list[str]:
    """A dataset's systems best first by their corpus score (segment level) of ``metric``, as the summary table
    ranks them (lower first for a lower-is-better metric); a system without that score last."""
    summary = data.summary
    if metric not in summary.columns:
        return []
    rows = summary[(summary["dataset"] == dataset) & (summary["level"] == "segment")]
    best: dict[str, float] = {}
    for system, value in zip(rows["system"].astype(str), pd.to_numeric(rows[metric], errors="coerce"), strict=True):
        if not missing(value):
            score = float(value) if higher else -float(value)
            best[system] = max(best.get(system, score), score)
    return sorted(best, key=lambda system: -best[system])


def by_score(systems: list[str], order: list[str]) -> list[str]:
    """``systems`` in ``order``; any not in it after them, as they came (stable)."""
    rank = {system: k for k, system in enumerate(order)}
    return sorted(systems, key=lambda system: rank.get(system, len(rank)))


def analysis_section(data: RunData, dataset: str, directions: dict[str, bool]) -> dict | None:
    """One dataset's part of the analysis (from analysis/*.csv): the key metric by source length, word F-measure
    by reference frequency, the n-grams of baseline vs best, and the documents whose scores differ most."""
    tables = {key: read_table(data.analysis[path]) for key, path in ANALYSIS_FILES.items() if path in data.analysis}
    tables = {key: frame[frame["dataset"] == dataset] for key, frame in tables.items()}
    tables = {key: frame for key, frame in tables.items() if len(frame)}
    if not tables:
        return None
    metric = key_metric([m for m in directions if "length" in tables and m in tables["length"].columns] or ["?"])
    section: dict[str, Any] = {"metric": metric, "higher": directions.get(metric, True)}
    # every analysis table lists the systems best first, as the summary does (by the key metric's corpus score)
    ranked_by = metric if metric in directions else key_metric(list(directions)) if directions else None
    order = score_order(data, dataset, ranked_by, directions[ranked_by]) if ranked_by else []
    floors = floors_of(data)
    if "length" in tables and metric in tables["length"].columns:
        length = tables["length"]
        section["length"] = _pivot(length, metric, 2, order, floors)
        counts = dict(zip(length["bucket"], length["segments"], strict=True))
        section["length"]["counts"] = [int(counts[b]) for b in section["length"]["buckets"]]
    if "frequency" in tables:
        section["frequency"] = _pivot(tables["frequency"], "f_measure", 3, order, floors)
    if "ngrams" in tables:
        grams = tables["ngrams"]
        first = grams.iloc[0]
        section["pair"] = {"baseline": first["baseline"], "best": first["best"]}
        lists = []
        for winner in (first["best"], first["baseline"]):
            rows = grams[grams["better"] == winner].to_dict("records")
            rows.sort(key=lambda r: (-r["score"], -(r["matches_better"] + r["matches_worse"]), -r["n"], r["ngram"]))
            lists.append(
                {
                    "better": winner,
                    "worse": rows[0]["worse"] if rows else "",
                    "rows": [(r["ngram"], int(r["matches_better"]), int(r["matches_worse"])) for r in rows][
                        :TOP_NGRAMS_SHOWN
                    ],
                }
            )
        section["ngrams"] = lists
    if "documents" in tables and metric in tables["documents"].columns:
        docs = tables["documents"]
        systems = by_score(list(dict.fromkeys(docs["system"])), order)
        by_doc: dict[str, dict[str, float]] = {}
        sizes: dict[str, int] = {}
        for r in docs.to_dict("records"):
            by_doc.setdefault(r["doc_id"], {})[r["system"]] = float(r[metric])
            sizes[r["doc_id"]] = int(r["segments"])
        spread = {d: max(v.values()) - min(v.values()) for d, v in by_doc.items()}
        top = sorted(spread, key=lambda d: -spread[d])[:TOP_DOCUMENTS]
        section["documents"] = {
            "count": len(by_doc),
            "systems": systems,
            "rows": [(d, sizes[d], f"{spread[d]:.2f}", [_num(by_doc[d].get(s)) for s in systems]) for d in top],
        }
    return section


def invalid_cells(summary: pd.DataFrame, scores: pd.DataFrame, dataset: str) -> set[tuple[str, str]]:
    """(system, settings label) of a dataset's invalid cells (summary column `valid`), labelled like
    :func:`differing_segments` labels the segment records."""
    if "valid" not in summary.columns:
        return set()
    keys = [c for c in sweep_columns(scores) if c in summary.columns]
    rows = summary[summary["dataset"] == dataset].to_dict("records")
    return {(str(r["system"]), _settings_label({k: r[k] for k in keys})) for r in rows if _is_false(r["valid"])}


def _ranges(ids: list[int] | None) -> str:
    """[3, 4, 5, 8] -> '3-5, 8'."""
    if not ids:
        return ""
    parts, start, prev = [], ids[0], ids[0]
    for k in [*ids[1:], None]:
        if k is not None and k == prev + 1:
            prev = k
            continue
        parts.append(str(start) if start == prev else f"{start}–{prev}")
        if k is not None:
            start = prev = k
    return ", ".join(parts)


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def make_plots(data: RunData) -> dict[str, bytes]:
    """The run's plots (path in the results folder -> PNG bytes)."""
    human, kinds = _human_maps(data.human)
    return run_plots(data.scores, human, data.agreement, kinds, floors_of(data))


def render(data: RunData, plots: dict[str, bytes] | None = None) -> str:
    """The page. ``plots``: from :func:`make_plots` (built here when not given)."""
    plots = make_plots(data) if plots is None else plots
    directions = directions_of(data.scores)
    datasets = list(dict.fromkeys(data.summary["dataset"]))
    by_dataset: dict[str, list[dict]] = {}
    for record in data.segments:
        by_dataset.setdefault(str(record["dataset"]), []).append(record)
    sections = []
    for name in datasets:
        info = data.manifest.get("datasets", {}).get(name, {})
        diff = differing_segments(
            by_dataset.get(name, []),
            directions,
            invalid=invalid_cells(data.summary, data.scores, name),
            floors=floors_of(data),
        )
        n_refs = max((len(s["references"]) for s in diff["segments"]), default=0)
        names = list(info.get("references") or [])
        diff["reference_names"] = [names[k] if k < len(names) else f"reference {k + 1}" for k in range(n_refs)]
        sections.append(
            {
                "name": name,
                "anchor": _anchor(name),
                "info": info,
                "diff": diff,
                "analysis": analysis_section(data, name, directions),
                "bars": _data_uri(plots[bars_path(name)]) if bars_path(name) in plots else None,
                "scatter": _data_uri(plots[scatter_path(name)]) if scatter_path(name) in plots else None,
                "sweeps": [
                    (key, _data_uri(plots[sweep_path(name, key)]))
                    for key in numeric_sweeps(data.scores, name)
                    if sweep_path(name, key) in plots
                ],
                "invalid": "valid" in data.summary.columns
                and any(_is_false(v) for v in data.summary.loc[data.summary["dataset"] == name, "valid"]),
            }
        )
    baseline = None
    if "baseline" in data.summary.columns and data.summary["baseline"].notna().any():
        baseline = str(data.summary["baseline"].dropna().iloc[0])
    manifest = data.manifest
    template = _environment().get_template("report.html.j2")
    return template.render(
        run=data.run_name,
        manifest=manifest,
        tables=_summary_tables(data),
        sections=sections,
        notes=signature_notes(data.scores),
        baseline=baseline,
        agreement=_agreement_rows(data.agreement),
        human_terms=human_terms_rows(data.scores),
        ranking=_ranking_tables(data.meta),
        any_stats=any(c in data.scores.columns and data.scores[c].notna().any() for c in STAT_COLUMNS[:2]),
        any_ranks="rank_low" in data.scores.columns and data.scores["rank_low"].notna().any(),
        floors=sorted(floors_of(data)),
        css=(Path(__file__).parent / "templates" / "report.css").read_text(encoding="utf-8"),  # ours: not escaped
    )


def report_files(data: RunData) -> dict[str, str | bytes]:
    """The report's files of a results folder: the plots and report.html."""
    plots = make_plots(data)
    return {**plots, REPORT: render(data, plots)}


def _anchor(name: str) -> str:
    return "ds-" + re.sub(r"[^A-Za-z0-9_-]", "-", name)


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("evalharness.reporting", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


__all__ = ["REPORT", "RunData", "differing_segments", "key_metric", "load", "make_plots", "render", "report_files"]
