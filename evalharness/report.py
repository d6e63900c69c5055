"""`report.html`: one self-contained page per run (tables, plots, the segments where the systems differ most).

The page is built from a run's data: the tidy scores frame, the summary frame, the agreement frame (or None),
the segment records (the dicts of `segments.jsonl`), the manifest and the human scores, all held in a
:class:`RunData`. The runner passes them from memory; :func:`load` reads them back from a results folder, so a
report can be rebuilt from the folder alone (``python -m evalharness.report results/<run>``).

The page is self-contained: CSS inline, plots as ``data:image/png;base64,`` URIs, no script, no external or
relative link. Every text goes through Jinja's autoescape (sources and hypotheses contain quotes, ``<``, ``&``).
"""

from __future__ import annotations

import base64
import json
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from evalharness.errors import UserError
from evalharness.plots import bars_path, run_plots, scatter_path, setting_text
from evalharness.results import STAT_COLUMNS, sweep_columns
from evalharness.tables import directions_of, marked, signature_notes

REPORT = "report.html"
HUMAN_FILE = "human_scores.csv"
HUMAN_COLUMNS = ["dataset", "system", "human_score", "kind"]
TOP_SEGMENTS = 5  # segments shown per dataset


@dataclass
class RunData:
    """What a report is built from: the run's frames and records, as written to its results folder."""

    run_name: str
    scores: pd.DataFrame  # scores.csv (tidy)
    summary: pd.DataFrame  # summary.csv (wide)
    segments: list[dict]  # segments.jsonl, one dict per line
    manifest: dict  # manifest.json
    agreement: pd.DataFrame | None = None  # agreement.csv, datasets with human scores
    human: pd.DataFrame | None = None  # human_scores.csv: dataset, system, human_score, kind


# ------------------------------------------------------------------------------------------------ human scores


def human_scores_frame(datasets: dict[str, dict[str, float] | None], kinds: dict[str, str]) -> pd.DataFrame | None:
    """human_scores.csv: one row per dataset and system with a human score (``datasets``: dataset -> system ->
    score, None for a dataset without); None when no dataset has any."""
    records = [{"dataset": name, "system": system, "human_score": score, "kind": kinds.get(name, "z")}
               for name, scores in datasets.items() if scores is not None for system, score in scores.items()]
    if not any(scores is not None for scores in datasets.values()):
        return None
    return pd.DataFrame.from_records(records, columns=HUMAN_COLUMNS)


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


def _read(folder: Path, name: str) -> str:
    try:
        return (folder / name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{folder}: no {name} (not a complete results folder)")


def load(folder: Path | str) -> RunData:
    """The data of a results folder: scores.csv, summary.csv, segments.jsonl, manifest.json, and agreement.csv
    and human_scores.csv when the run had human scores."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"{folder}: not a results folder")
    manifest = json.loads(_read(folder, "manifest.json"))
    for name in ("scores.csv", "summary.csv"):
        if not (folder / name).exists():
            raise UserError(f"{folder}: no {name} (not a complete results folder)")
    scores, summary = pd.read_csv(folder / "scores.csv"), pd.read_csv(folder / "summary.csv")
    segments = [json.loads(line) for line in _read(folder, "segments.jsonl").splitlines() if line.strip()]
    agreement = pd.read_csv(folder / "agreement.csv") if (folder / "agreement.csv").exists() else None
    human = pd.read_csv(folder / HUMAN_FILE) if (folder / HUMAN_FILE).exists() else None
    return RunData(folder.name, scores, summary, segments, manifest, agreement, human)


# ------------------------------------------------------------------------------------------------- formatting


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA:
        return True
    try:
        return isinstance(value, float) and math.isnan(value)
    except TypeError:
        return False


def _num(value: Any, digits: int = 2) -> str:
    return "" if _missing(value) else f"{float(value):.{digits}f}"


def _is_false(value: Any) -> bool:
    return value is False or str(value) == "False"


def _settings_label(settings: dict | None) -> str:
    return ", ".join(f"{k}={setting_text(v)}" for k, v in (settings or {}).items() if not _missing(v))


_MARK = re.compile(r"^(\*\*)?(.*?)(\*\*)?(†)?$")


def _marked_cell(text: str) -> dict:
    """tables.marked's Markdown ('**12.34**†') -> parts for the template."""
    match = _MARK.match(text)
    return {"text": match.group(2), "bold": bool(match.group(1)), "dagger": bool(match.group(4))}


# ---------------------------------------------------------------------------------------------------- content


def _summary_tables(data: RunData) -> list[dict]:
    """Per dataset: header cells and rows of the summary table (scores with CI, best bold, dagger for wins)."""
    summary = data.summary
    directions = directions_of(data.scores)
    metrics = [m for m in directions if m in summary.columns]
    texts = marked(summary, directions, "md")
    keys = [c for c in sweep_columns(data.scores) if c in summary.columns]
    tables = []
    for dataset in dict.fromkeys(summary["dataset"]):
        index = [i for i in summary.index if summary.at[i, "dataset"] == dataset]
        frame = summary.loc[index]
        shown = [k for k in keys if frame[k].notna().any()]  # the settings swept on this dataset
        extras = []
        if "off_target_rate" in frame.columns:
            extras.append(("off target", "off_target_rate", lambda v: "" if _missing(v) else f"{100 * float(v):.1f}%"))
        if "empty_outputs" in frame.columns and pd.to_numeric(frame["empty_outputs"], errors="coerce").fillna(0).any():
            extras.append(("empty", "empty_outputs", lambda v: "" if _missing(v) else str(int(v))))
        if "pivot_on_target_rate" in frame.columns and frame["pivot_on_target_rate"].notna().any():
            extras.append(("pivot on target", "pivot_on_target_rate",
                           lambda v: "" if _missing(v) else f"{100 * float(v):.1f}%"))
        rows = []
        for i in index:
            cells = []
            for metric in metrics:
                cell = _marked_cell(texts.at[i, metric])
                low, high = summary.at[i, f"{metric} ci_low"] if f"{metric} ci_low" in summary.columns else None, \
                    summary.at[i, f"{metric} ci_high"] if f"{metric} ci_high" in summary.columns else None
                cell["ci"] = f"[{_num(low)}, {_num(high)}]" if not _missing(low) and not _missing(high) else ""
                cells.append(cell)
            rows.append({
                "system": str(summary.at[i, "system"]),
                "settings": [("", "") if _missing(summary.at[i, k]) else (setting_text(summary.at[i, k]), str(summary.at[i, k]))
                             for k in shown],
                "level": str(summary.at[i, "level"]),
                "invalid": "valid" in summary.columns and _is_false(summary.at[i, "valid"]),
                "scores": cells,
                "extras": [fmt(summary.at[i, column]) for _, column, fmt in extras],
            })
        info = data.manifest.get("datasets", {}).get(dataset, {})
        tables.append({"dataset": dataset, "info": info, "keys": shown, "extras": [name for name, _, _ in extras],
                       "metrics": [(m, "↑" if directions[m] else "↓") for m in metrics], "rows": rows,
                       "any_invalid": any(r["invalid"] for r in rows)})
    return tables


def _agreement_rows(agreement: pd.DataFrame | None) -> list[dict]:
    if agreement is None or not len(agreement):
        return []
    rows = []
    for record in agreement.to_dict("records"):
        row = {"dataset": str(record["dataset"]), "metric": str(record["metric"]),
               "n_systems": "" if _missing(record["n_systems"]) else int(record["n_systems"]),
               "pairwise_accuracy": _num(record.get("pairwise_accuracy"), 3)}
        for name in ("pearson", "spearman", "kendall"):
            low, high = record.get(f"{name}_ci_low"), record.get(f"{name}_ci_high")
            row[name] = _num(record[name], 3) or "n/a"
            row[f"{name}_ci"] = f"[{_num(low, 3)}, {_num(high, 3)}]" if not _missing(low) and not _missing(high) else ""
        rows.append(row)
    return rows


def key_metric(metrics: list[str]) -> str:
    """The sentence score the segments are ranked by: chrF when the run has it, else the first metric."""
    for pattern in (r"chrF\d*", r"chrF.*"):
        for metric in metrics:
            if re.fullmatch(pattern, metric):
                return metric
    return metrics[0]


def differing_segments(records: list[dict], directions: dict[str, bool], top: int = TOP_SEGMENTS,
                       invalid: set[tuple[str, str]] = frozenset()) -> dict:
    """One dataset's segments where the systems differ most: the ``top`` segments with the largest spread
    (max - min over systems) of the key metric's sentence score, largest first (ties: the earlier segment).

    ``invalid``: (system, settings label) of invalid cells (a round trip whose pivot is not the pivot language).
    Like the tables, they are never marked best: the spread and the best/worst marks are over the valid systems
    when at least two are valid; otherwise the spread is over all systems and nothing is marked."""
    records = [r for r in records if r.get("level", "segment") == "segment"]
    metrics = [m for m in directions if any(m in (r.get("scores") or {}) for r in records)]
    systems = list(dict.fromkeys((str(r["system"]), _settings_label(r.get("settings"))) for r in records))
    if not metrics or len(systems) < 2:
        return {"metric": metrics[0] if metrics else None, "systems": len(systems),
                "single": systems[0][0] if systems else None, "segments": [], "invalid": []}
    metric = key_metric(metrics)
    higher = directions[metric]
    bad = [key for key in systems if key in invalid]
    marking = len(systems) - len(bad) >= 2

    def counted(record: dict) -> bool:
        key = (str(record["system"]), _settings_label(record.get("settings")))
        return not _missing(record["scores"].get(metric)) and (not marking or key not in invalid)

    by_segment: dict[int, list[dict]] = {}
    for record in records:
        by_segment.setdefault(int(record["segment"]), []).append(record)
    ranked = []
    for number, group in by_segment.items():
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
            hyps.append({
                "system": key[0], "settings": key[1], "invalid": key in invalid,
                "text": record.get("hypothesis", ""), "mark": mark, "pivot": record.get("pivot"),
                "pivot_lang": record.get("pivot_lang"),
                "scores": [(m, _num(record["scores"].get(m)), m == metric) for m in metrics],
            })
        segments.append({"number": number, "spread": f"{spread:.2f}", "doc_id": first.get("doc_id"),
                         "source_ids": _ranges(first.get("source_ids")), "source": first.get("source", ""),
                         "references": list(first.get("references") or []), "hypotheses": hyps})
    return {"metric": metric, "higher": higher, "systems": len(systems) - (len(bad) if marking else 0),
            "single": None, "segments": segments, "invalid": [name for name, _ in bad], "marking": marking}


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
    return run_plots(data.scores, human, data.agreement, kinds)


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
        diff = differing_segments(by_dataset.get(name, []), directions,
                                  invalid=invalid_cells(data.summary, data.scores, name))
        n_refs = max((len(s["references"]) for s in diff["segments"]), default=0)
        names = list(info.get("references") or [])
        diff["reference_names"] = [names[k] if k < len(names) else f"reference {k + 1}" for k in range(n_refs)]
        sections.append({
            "name": name, "anchor": _anchor(name), "info": info, "diff": diff,
            "bars": _data_uri(plots[bars_path(name)]) if bars_path(name) in plots else None,
            "scatter": _data_uri(plots[scatter_path(name)]) if scatter_path(name) in plots else None,
            "invalid": "valid" in data.summary.columns and any(
                _is_false(v) for v in data.summary.loc[data.summary["dataset"] == name, "valid"]),
        })
    baseline = None
    if "baseline" in data.summary.columns and data.summary["baseline"].notna().any():
        baseline = str(data.summary["baseline"].dropna().iloc[0])
    manifest = data.manifest
    template = _environment().from_string(TEMPLATE)
    return template.render(
        run=data.run_name, manifest=manifest, tables=_summary_tables(data), sections=sections,
        notes=signature_notes(data.scores), baseline=baseline, agreement=_agreement_rows(data.agreement),
        any_stats=any(c in data.scores.columns and data.scores[c].notna().any() for c in STAT_COLUMNS[:2]),
        css=CSS,  # a constant of this module: not escaped (entities do not work inside <style>)
    )


def report_files(data: RunData) -> dict[str, str | bytes]:
    """The report's files of a results folder: the plots and report.html."""
    plots = make_plots(data)
    return {**plots, REPORT: render(data, plots)}


def _anchor(name: str) -> str:
    return "ds-" + re.sub(r"[^A-Za-z0-9_-]", "-", name)


def _environment() -> jinja2.Environment:
    return jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


CSS = """
:root { --fg: #1d232b; --muted: #5b6572; --line: #d9dee5; --head: #f1f4f8; --best: #1b7a3a; --worst: #b3261e; }
* { box-sizing: border-box; }
body { margin: 0; background: #fafbfc; color: var(--fg);
       font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", "Liberation Sans", sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 20px 28px 60px; background: #fff; min-height: 100vh;
       box-shadow: 0 0 0 1px var(--line); }
h1 { font-size: 26px; margin: 4px 0 6px; }
h2 { font-size: 21px; margin: 34px 0 10px; padding-bottom: 4px; border-bottom: 2px solid var(--line); }
h3 { font-size: 17px; margin: 22px 0 6px; }
.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; font-size: 13.5px; color: var(--muted);
        margin: 8px 0 4px; }
.meta dt { font-weight: 600; color: var(--fg); }
.meta dd { margin: 0; word-break: break-all; }
nav { font-size: 14px; margin: 12px 0 0; }
nav a { margin-right: 14px; color: #1f5fa8; text-decoration: none; }
nav a:hover { text-decoration: underline; }
.info { color: var(--muted); font-size: 13.5px; margin: 0 0 6px; }
table { border-collapse: collapse; font-size: 14px; margin: 6px 0 10px; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 10px; text-align: left; vertical-align: top; }
th { background: var(--head); font-weight: 600; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.ci { color: var(--muted); font-size: 12px; margin-left: 4px; }
.dagger { color: #1f5fa8; font-weight: 700; }
tr.invalid td { color: #7a7a7a; background: repeating-linear-gradient(135deg, #fff, #fff 6px, #f3f3f3 6px, #f3f3f3 12px); }
.badge { display: inline-block; font-size: 11px; font-weight: 700; padding: 0 6px; border-radius: 8px;
         vertical-align: 1px; margin-left: 6px; }
.badge.invalid { background: #eee; color: #8a1c1c; border: 1px solid #ccc; }
.badge.best { background: var(--best); color: #fff; }
.badge.worst { background: var(--worst); color: #fff; }
.notes { font-size: 13px; color: var(--muted); padding-left: 18px; }
.notes code { font-size: 12px; color: var(--fg); word-break: break-all; }
figure { margin: 10px 0 18px; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid var(--line); }
figcaption { font-size: 13px; color: var(--muted); margin-top: 4px; }
.segment { border: 1px solid var(--line); border-radius: 6px; margin: 14px 0 20px; overflow: hidden; }
.segment > header { background: var(--head); padding: 6px 12px; font-size: 14px; }
.segment > header .spread { color: var(--muted); margin-left: 10px; }
.block { padding: 6px 12px 6px 7px; border-top: 1px solid var(--line); border-left: 5px solid transparent; }
.label { font-size: 12px; font-weight: 700; color: var(--muted); text-transform: uppercase; letter-spacing: .03em; }
.label .refname { text-transform: none; font-weight: 400; margin-left: 4px; }
.text { white-space: pre-wrap; overflow-wrap: anywhere; margin: 2px 0 0; }
.hyp.best { border-left-color: var(--best); background: #eef8f0; }
.hyp.worst { border-left-color: var(--worst); background: #fdf0ef; }
.hyp .system { font-weight: 700; }
.hyp .settings { color: var(--muted); font-size: 13px; margin-left: 6px; }
.scores { font-size: 12.5px; color: var(--muted); margin-left: 10px; font-variant-numeric: tabular-nums; }
.scores b { color: var(--fg); }
.pivot { font-size: 13px; color: var(--muted); margin-top: 2px; }
.empty { color: var(--muted); font-style: italic; }
"""

TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ run }} · evalharness report</title>
<style>{{ css | safe }}</style>
</head>
<body>
<main>
<h1>{{ run }}</h1>
<dl class="meta">
  <dt>config</dt><dd>{{ manifest.get("config", "") }}</dd>
  <dt>date</dt><dd>{{ manifest.get("finished") or manifest.get("started") or "" }}</dd>
  <dt>versions</dt><dd>evalharness {{ manifest.get("evalharness", "?") }}, sacrebleu {{ manifest.get("sacrebleu", "?") }}{% if manifest.get("python") %}, Python {{ manifest["python"] }}{% endif %}</dd>
  <dt>git commit</dt><dd>{{ manifest.get("git_commit") or "unknown" }}</dd>
</dl>
<nav>
  <a href="#scores">Scores</a><a href="#plots">Plots</a>{% if agreement %}<a href="#agreement">Agreement</a>{% endif %}<a href="#segments">Segments</a>
  {% for s in sections %}<a href="#{{ s.anchor }}">{{ s.name }}</a>{% endfor %}
</nav>

<h2 id="scores">Scores</h2>
{% for t in tables %}
<h3>{{ t.dataset }}</h3>
{% if t.info %}
<p class="info">{{ t.info.get("langpair", "") }}{% if t.info.get("segments") is not none %} · {{ t.info["segments"] }} segments{% endif %}{% if t.info.get("references") %} · references: {{ t.info["references"] | join(", ") }}{% endif %}{% if t.info.get("pivot") %} · round trip through {{ t.info["pivot"] }}{% endif %}{% if t.info.get("unaligned_sources") or t.info.get("unaligned_references") %} · unaligned: {{ t.info.get("unaligned_sources", 0) }} source, {{ t.info.get("unaligned_references", 0) }} reference sentences{% endif %}</p>
{% endif %}
<table class="summary">
<thead><tr><th>system</th>{% for k in t["keys"] %}<th>{{ k }}</th>{% endfor %}<th>level</th>{% for m, arrow in t.metrics %}<th class="num">{{ m }} {{ arrow }}</th>{% endfor %}{% for e in t.extras %}<th class="num">{{ e }}</th>{% endfor %}</tr></thead>
<tbody>
{% for r in t.rows %}
<tr{% if r.invalid %} class="invalid"{% endif %}><td>{{ r.system }}{% if r.invalid %}<span class="badge invalid" title="the pivot is mostly not in the pivot language">invalid</span>{% endif %}</td>{% for short, full in r.settings %}<td{% if short != full %} title="{{ full }}"{% endif %}>{{ short }}</td>{% endfor %}<td>{{ r.level }}</td>{% for c in r.scores %}<td class="num">{% if c.bold %}<strong>{{ c.text }}</strong>{% else %}{{ c.text }}{% endif %}{% if c.dagger %}<span class="dagger">†</span>{% endif %}{% if c.ci %}<span class="ci">{{ c.ci }}</span>{% endif %}</td>{% endfor %}{% for v in r.extras %}<td class="num">{{ v }}</td>{% endfor %}</tr>
{% endfor %}
</tbody>
</table>
{% endfor %}
<ul class="notes">
  <li>Bold: best score per dataset and level (↑ higher is better, ↓ lower is better){% if any_stats %}; in brackets: bootstrap 95% confidence interval{% endif %}{% if baseline %}; <span class="dagger">†</span>: significantly better than {{ baseline }}{% endif %}.</li>
  {% if tables | selectattr("any_invalid") | list %}<li>invalid: a round trip whose pivot is mostly not in the pivot language; never marked best.</li>{% endif %}
  {% for n in notes %}<li><code>{{ n }}</code></li>{% endfor %}
</ul>

<h2 id="plots">Plots</h2>
{% for s in sections %}
{% if s.bars %}
<figure><img src="{{ s.bars }}" alt="{{ s.name }}: scores per system and metric"><figcaption>{{ s.name }}: corpus scores (segment level){% if any_stats %} with bootstrap 95% CI{% endif %}{% if s.invalid %}; grey hatched bars are invalid round trips{% endif %}.</figcaption></figure>
{% endif %}
{% if s.scatter %}
<figure><img src="{{ s.scatter }}" alt="{{ s.name }}: metric score against human score"><figcaption>{{ s.name }}: each system's metric score against its human score; Pearson r from the agreement table.</figcaption></figure>
{% endif %}
{% endfor %}

{% if agreement %}
<h2 id="agreement">Agreement with human judgments</h2>
<table>
<thead><tr><th>dataset</th><th>metric</th><th class="num">systems</th><th class="num">Pearson</th><th class="num">Spearman</th><th class="num">Kendall τ</th><th class="num">pairwise accuracy</th></tr></thead>
<tbody>
{% for a in agreement %}
<tr><td>{{ a.dataset }}</td><td>{{ a.metric }}</td><td class="num">{{ a.n_systems }}</td>{% for c in ("pearson", "spearman", "kendall") %}<td class="num">{{ a[c] }}{% if a[c ~ "_ci"] %}<span class="ci">{{ a[c ~ "_ci"] }}</span>{% endif %}</td>{% endfor %}<td class="num">{{ a.pairwise_accuracy }}</td></tr>
{% endfor %}
</tbody>
</table>
<ul class="notes"><li>System-level correlation with the human scores; a lower-is-better metric (TER) is negated first, so +1 always means agreement. Brackets: bootstrap 95% CI over resampled segments.</li></ul>
{% endif %}

<h2 id="segments">Segments where systems differ most</h2>
{% for s in sections %}
<h3 id="{{ s.anchor }}">{{ s.name }}</h3>
{% if s.diff.single %}
<p class="empty">Only one system ({{ s.diff.single }}) on this dataset: nothing to compare.</p>
{% elif not s.diff.segments %}
<p class="empty">No segment scores to compare.</p>
{% else %}
<p class="info">The {{ s.diff.segments | length }} segments with the largest spread (max − min over {{ s.diff.systems }}{% if s.diff.invalid and s.diff.marking %} valid{% endif %} systems) of the sentence-level {{ s.diff.metric }} ({{ "higher" if s.diff.higher else "lower" }} is better){% if s.diff.marking %}; best and worst hypothesis marked{% endif %}.{% if s.diff.invalid %} Invalid round trips ({{ s.diff.invalid | join(", ") }}: the pivot is mostly not in the pivot language) are {% if s.diff.marking %}shown but not compared{% else %}shown, and with fewer than two valid systems nothing is marked best{% endif %}.{% endif %}</p>
{% for seg in s.diff.segments %}
<section class="segment">
<header><b>Segment {{ seg.number }}</b>{% if seg.doc_id %} · document {{ seg.doc_id }}{% endif %}{% if seg.source_ids %} · source sentences {{ seg.source_ids }}{% endif %}<span class="spread">{{ s.diff.metric }} spread {{ seg.spread }}</span></header>
<div class="block"><div class="label">Source</div><p class="text">{{ seg.source }}</p></div>
{% for ref in seg.references %}
<div class="block"><div class="label">Reference <span class="refname">{{ s.diff.reference_names[loop.index0] }}</span></div><p class="text">{{ ref }}</p></div>
{% endfor %}
{% for h in seg.hypotheses %}
<div class="block hyp{% if h.mark %} {{ h.mark }}{% endif %}"><div><span class="system">{{ h.system }}</span>{% if h.settings %}<span class="settings">{{ h.settings }}</span>{% endif %}{% if h.mark %}<span class="badge {{ h.mark }}">{{ h.mark }}</span>{% endif %}{% if h.invalid %}<span class="badge invalid">invalid</span>{% endif %}<span class="scores">{% for m, v, key in h.scores %}{% if key %}<b>{{ m }} {{ v }}</b>{% else %}{{ m }} {{ v }}{% endif %}{% if not loop.last %} · {% endif %}{% endfor %}</span></div>
<p class="text">{{ h.text }}</p>
{% if h.pivot is not none %}<div class="pivot">pivot{% if h.pivot_lang %} (detected: {{ h.pivot_lang }}){% endif %}: {{ h.pivot }}</div>{% endif %}
</div>
{% endfor %}
</section>
{% endfor %}
{% endif %}
{% endfor %}
</main>
</body>
</html>
"""


def main(argv: list[str] | None = None) -> int:
    """`python -m evalharness.report DIR` is `evalharness report DIR`."""
    from evalharness.cli import main as cli_main

    return cli_main(["report", *(sys.argv[1:] if argv is None else argv)])


__all__ = ["HUMAN_COLUMNS", "HUMAN_FILE", "REPORT", "RunData", "differing_segments", "human_scores_frame", "key_metric",
           "load", "make_plots", "render", "report_files"]

if __name__ == "__main__":
    sys.exit(main())
