"""Plots of a run as PNG bytes (matplotlib, Agg canvas: never a display, no pyplot state).

- :func:`score_bars`: per dataset, one panel per metric, one bar per system (swept settings in the label) at the
  segment level, with the bootstrap 95% CI as error bars. Bars are sorted best first, and the y axis is zoomed to
  the scores and CIs (a 1-2 point difference must be visible), with a note in the panel when it does not start at
  0. A lower-is-better metric (TER) says so in its title; an invalid cell (a round trip whose pivot is not the
  pivot language) is a grey hatched bar marked "invalid"; a floor (the copy of the source, a system marked
  `floor: true`) a light grey dotted bar whose label says "(floor)".
- :func:`sweep_lines`: per dataset and swept numeric setting (not `seed`), one panel per metric, the score (y)
  against the setting (x), one line per system and its other settings; over seeds (several seeds per point) the
  mean with ± one standard deviation as error bars, else the bootstrap 95% CI.
- :func:`agreement_scatter`: per dataset with human scores, one panel per metric, metric score (x) against human
  score (y), each point labelled with its system, the Pearson r of agreement.csv in the title.

The PNGs are deterministic (no software or date metadata), so a rerun writes identical files.
"""

from __future__ import annotations

import io
import math
from collections.abc import Set as AbstractSet
from typing import TYPE_CHECKING, Any

import pandas as pd

from evalharness.results import AGGREGATES, missing, sweep_columns
from evalharness.statistics.compare import is_baseline

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DPI = 100
WIDTH = 9.0  # inches: 900 px, readable on a laptop without scaling
BAR_COLOR = "#1f77b4"  # the report's browser test looks for this colour in the rendered page
INVALID_COLOR = "#b0b0b0"
FLOOR_COLOR = "#d4d4d4"  # a floor (copy of the source, `floor: true`): light grey, dotted, "(floor)" in its label
POINT_COLOR = "#1f77b4"
TEXT_COLOR = "#222222"
MAX_SETTING = 24  # characters of a swept setting's value in an axis label


def _figure(width: float, height: float) -> Figure:
    """A new figure. matplotlib is imported here, not at the top: it costs ~0.35 s, and commands that draw
    nothing (`score`, `run --no-write`) import this module through the runner."""
    from matplotlib.figure import Figure

    # constrained layout makes room for the figure's title, every panel's (two-line) title and the rotated labels:
    # tight_layout left the figure title touching the first panel's title
    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def _png(fig: Figure) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def setting_text(value: Any) -> str:
    """A swept setting's value for a label: as declared (a seed 1, a temperature 1.0; `read_csv` reads a column of
    integers with gaps as integers), long values (paths) cut from the left."""
    text = str(value)
    return text if len(text) <= MAX_SETTING else "…" + text[-(MAX_SETTING - 1) :]


def system_label(row: dict, sweep_keys: list[str], sep: str = "\n") -> str:
    """The system name, with its swept settings (key=value) when it has any."""
    parts = [f"{k}={setting_text(row[k])}" for k in sweep_keys if k in row and not missing(row[k])]
    return sep.join([str(row["system"]), *parts])


def direction_note(direction: str) -> str:
    return "higher is better" if direction == "higher" else "lower is better"


def _grid(n_panels: int, n_items: int) -> tuple[int, int]:
    """Rows and columns of panels: side by side when they fit (up to 3 panels, up to 24 bars or points in all),
    else two per row for an even count, three per row when the panels are narrow, one per row otherwise."""
    n_items = max(n_items, 1)
    if n_panels == 1 or (n_panels <= 3 and n_panels * n_items <= 24):
        return 1, n_panels
    if n_panels % 2 == 0:
        return n_panels // 2, 2
    if n_items <= 8:
        return math.ceil(n_panels / 3), 3
    return n_panels, 1


def _valid(value: Any) -> bool:
    return not (value is False or str(value) == "False")


def sorted_labels(records: dict[str, dict], labels: list[str], higher: bool) -> list[str]:
    """The panel's bars best first (highest score, or lowest for a lower-is-better metric); bars without a score
    last, in the given order."""

    def key(label: str) -> tuple[int, float]:
        record = records.get(label)
        if record is None or missing(record["score"]):
            return (1, 0.0)
        return (0, -float(record["score"]) if higher else float(record["score"]))

    return sorted(labels, key=key)  # stable: ties keep the run's order


ZOOM_MARGIN = 0.35  # of the data's range, below the lowest value, when the axis does not start at 0


def y_limits(values: list[float]) -> tuple[float, float]:
    """The y range of a bar panel: from 0 when the data's range reaches down near 0, else zoomed to the scores
    and CI ends (with a margin below and room above for the value labels)."""
    if not values:
        return 0.0, 1.0
    low, high = min(values), max(values)
    span = high - low or max(abs(high) * 0.05, 0.5)
    bottom = low - ZOOM_MARGIN * span
    if bottom <= 0 or low <= 0:
        return min(0.0, low), max(high + 0.18 * max(high, span), 1.0)
    bottom = math.floor(bottom)  # a round number to read the axis from
    return float(bottom), high + 0.2 * (high - bottom)


def _ends(record: dict) -> list[float]:
    """A bar's score and CI ends."""
    values = (record["score"], record.get("ci_low"), record.get("ci_high"))
    return [float(v) for v in values if v is not None and not missing(v)]


def off_scale(records: dict[str, dict], higher: bool) -> set[str]:
    """Bars left out of the y range: a group far from the best systems (the copy-source floor at chrF 1 beside
    systems at 53-59) would otherwise force the axis to 0 and hide their 1-2 point differences. Left out when
    the largest gap between sorted scores is over twice the range (with CIs) of the side with the best score,
    and that side has at least two bars."""
    scored = sorted((float(r["score"]), label) for label, r in records.items() if not missing(r["score"]))
    if len(scored) < 3:
        return set()
    gap, k = max((scored[j + 1][0] - scored[j][0], j) for j in range(len(scored) - 1))
    best, rest = (scored[k + 1 :], scored[: k + 1]) if higher else (scored[: k + 1], scored[k + 1 :])
    if len(best) < 2:
        return set()
    ends = [v for _, label in best for v in _ends(records[label])]
    return {label for _, label in rest} if gap > 2 * (max(ends) - min(ends)) else set()


def score_bars(scores: pd.DataFrame, dataset: str, floors: AbstractSet[str] = frozenset()) -> bytes:
    """Bar chart of one dataset's segment-level scores: one panel per metric, one bar per system."""
    return _png(bars_figure(scores, dataset, floors))


def per_cell(scores: pd.DataFrame) -> pd.DataFrame:
    """The rows that are one cell's scores: without the mean/std/min/max rows of `aggregate`."""
    summary_rows = pd.Series(False, index=scores.index)
    for key in sweep_columns(scores):
        summary_rows |= scores[key].astype(str).isin(AGGREGATES) & scores[key].map(lambda v: isinstance(v, str))
    return scores[~summary_rows]


def bars_figure(scores: pd.DataFrame, dataset: str, floors: AbstractSet[str] = frozenset()) -> Figure:
    """The figure of :func:`score_bars` (its axes are what the tests read). ``floors``: system names drawn as
    floors."""
    sweep_keys = sweep_columns(scores)
    scores = per_cell(scores)
    rows = scores[(scores["dataset"] == dataset) & (scores["level"] == "segment")]
    metrics = list(dict.fromkeys(rows["metric"]))

    def bar_label(row: dict, sep: str = "\n") -> str:
        label = system_label(row, sweep_keys, sep)
        return f"{label}{sep}(floor)" if str(row["system"]) in floors else label

    labels = list(dict.fromkeys(bar_label(r) for r in rows.to_dict("records")))
    n_rows, n_cols = _grid(len(metrics), len(labels))
    longest = max((len(line) for label in labels for line in label.split("\n")), default=1)
    rotate = len(labels) * n_cols > 6 or longest * len(labels) * n_cols > 75
    if rotate:  # one line per label: a rotated block of lines is hard to read
        labels = [label.replace("\n", " ") for label in labels]
        longest = max(len(label) for label in labels)
    label_lines = max((label.count("\n") + 1 for label in labels), default=1)
    panel_height = 2.6 + (0.09 * min(longest, 40) if rotate else 0.18 * label_lines)
    fig = _figure(WIDTH, 0.5 + panel_height * n_rows)
    axes = fig.subplots(n_rows, n_cols, squeeze=False).ravel()
    fig.suptitle(f"{dataset}: corpus scores with 95% CI (segment level)", fontsize=11, color=TEXT_COLOR)
    for ax, metric in zip(axes, metrics, strict=False):
        records = {bar_label(r, " " if rotate else "\n"): r for r in rows[rows["metric"] == metric].to_dict("records")}
        direction = next(iter(records.values()))["direction"]
        ax.set_title(f"{metric} ({direction_note(direction)})", fontsize=10, color=TEXT_COLOR)
        order = sorted_labels(records, labels, direction == "higher")
        outside = off_scale(records, direction == "higher")
        values = [v for label, r in records.items() if label not in outside for v in _ends(r)]
        bottom, top = y_limits(values)
        for x, label in enumerate(order):
            record = records.get(label)
            if record is None or missing(record["score"]):
                ax.text(x, bottom, "n/a", ha="center", va="bottom", fontsize=8, color="#666666")
                continue
            score = float(record["score"])
            valid = _valid(record.get("valid", True))
            floor = str(record["system"]) in floors
            low, high = record.get("ci_low"), record.get("ci_high")
            err = None
            if not missing(low) and not missing(high):
                err = [[max(score - float(low), 0.0)], [max(float(high) - score, 0.0)]]
            ax.bar(
                x,
                score,
                width=0.65,
                color=INVALID_COLOR if not valid else FLOOR_COLOR if floor else BAR_COLOR,
                hatch="///" if not valid else ".." if floor else None,
                edgecolor="#555555" if not valid else "#8a8a8a" if floor else BAR_COLOR,
                linewidth=0.8,
                yerr=err,
                ecolor="#333333",
                capsize=3,
                error_kw={"elinewidth": 1},
            )
            note = f"{score:.1f}" if valid else f"{score:.1f}\ninvalid"
            below = label in outside and score < bottom
            if label in outside:  # its value where the bar leaves the panel, with an arrow that says so
                note = f"{note} ▼" if below else f"{note} ▲"
            ax.annotate(
                note,
                (x, bottom if below else top if label in outside else score if err is None else float(high)),
                xytext=(0, 2 if label not in outside or below else -2),
                textcoords="offset points",
                ha="center",
                va="bottom" if label not in outside or below else "top",
                fontsize=7,
                color="#a00000" if not valid else TEXT_COLOR,
            )
        ax.set_xticks(range(len(order)))
        ax.set_xticklabels(
            order, fontsize=8, rotation=40 if rotate else 0, ha="right" if rotate else "center", rotation_mode="anchor"
        )
        pad = max(0.0, (3 - len(labels)) / 2)  # one or two bars stay bar-shaped
        ax.set_xlim(-0.6 - pad, len(labels) - 0.4 + pad)
        ax.set_ylim(bottom, top)
        if bottom > 0:  # the bars' lengths are not proportional to the scores: say so where the eye is
            extra = f"; {len(outside)} off scale (▼▲)" if outside else ""
            ax.set_title(
                f"{metric} ({direction_note(direction)})\naxis starts at {bottom:g}, not 0{extra}", fontsize=9.5
            )
        _style(ax, grid="y")
    for ax in axes[len(metrics) :]:
        ax.set_visible(False)
    return fig


def agreement_scatter(
    scores: pd.DataFrame,
    human: dict[str, float],
    dataset: str,
    agreement: pd.DataFrame | None = None,
    kind: str | None = None,
) -> bytes:
    """Metric score against human score per system, one panel per metric (segment-level corpus scores of the
    systems that have a human score); the Pearson r (and its CI) from the agreement rows in each title."""
    rows = scores[(scores["dataset"] == dataset) & (scores["level"] == "segment")]
    metrics = list(dict.fromkeys(rows["metric"]))
    n_rows, n_cols = (1, len(metrics)) if len(metrics) <= 3 else _grid(len(metrics), 4)
    fig = _figure(WIDTH, 0.5 + (3.4 if n_cols > 1 else 3.0) * n_rows)
    axes = fig.subplots(n_rows, n_cols, squeeze=False).ravel()
    fig.suptitle(f"{dataset}: metric vs human score per system", fontsize=11, color=TEXT_COLOR)
    agree = {}
    if agreement is not None and len(agreement):
        agree = {r["metric"]: r for r in agreement[agreement["dataset"] == dataset].to_dict("records")}
    for ax, metric in zip(axes, metrics, strict=False):
        points = [
            (str(r["system"]), float(r["score"]), float(human[str(r["system"])]))
            for r in rows[rows["metric"] == metric].to_dict("records")
            if str(r["system"]) in human and not missing(r["score"])
        ]
        direction = rows[rows["metric"] == metric]["direction"].iloc[0]
        title = f"{metric} ({direction_note(direction)})"
        row = agree.get(metric)
        # agreement.csv correlates a lower-is-better metric negated, so that +1 is agreement for every metric
        r_name = "Pearson r" if direction == "higher" else f"Pearson r (−{metric})"
        if row is not None and not missing(row["pearson"]):
            r_text = f"{r_name} = {float(row['pearson']):.3f}"
            if not missing(row.get("pearson_ci_low")) and not missing(row.get("pearson_ci_high")):
                r_text += f" [{float(row['pearson_ci_low']):.2f}, {float(row['pearson_ci_high']):.2f}]"
        else:
            r_text = f"{r_name}: n/a (fewer than 3 systems)"
        ax.set_title(f"{title}\n{r_text}", fontsize=9 if n_cols < 3 else 8.5, color=TEXT_COLOR)
        for name, x, y in points:
            ax.scatter([x], [y], s=22, color=POINT_COLOR, zorder=3)
            ax.annotate(name, (x, y), xytext=(3, 3), textcoords="offset points", fontsize=7, color=TEXT_COLOR)
        if points:
            xs = [p[1] for p in points]
            pad = (max(xs) - min(xs)) * 0.25 or 1.0
            ax.set_xlim(min(xs) - pad * 0.3, max(xs) + pad)  # room for the labels on the right
        ax.set_xlabel(metric, fontsize=8)
        ax.set_ylabel(f"human score ({kind})" if kind else "human score", fontsize=8)
        _style(ax, grid="both")
    for ax in axes[len(metrics) :]:
        ax.set_visible(False)
    return _png(fig)


def _number(value: Any) -> float | None:
    """A swept value as a number on an axis (a label, JSON or bool is not one)."""
    if missing(value) or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(str(value)) if str(value) not in ("True", "False") else None
    except ValueError:
        return None


def numeric_sweeps(scores: pd.DataFrame, dataset: str) -> list[str]:
    """The swept settings of a dataset that a line can show: every value a number, at least two of them; not
    `seed` (seeds have no order: `aggregate: [seed]` summarises over them)."""
    rows = per_cell(scores)
    rows = rows[(rows["dataset"] == dataset) & (rows["level"] == "segment")]
    found = []
    for key in sweep_columns(scores):
        present = [v for v in rows[key] if not missing(v)]
        numbers = {_number(v) for v in present}
        if key != "seed" and present and None not in numbers and len(numbers) >= 2:
            found.append(key)
    return found


def reference_points(rows: pd.DataFrame, key: str, swept: set[str]) -> list[tuple[str, float]]:
    """(legend label, score) of the horizontal lines of a sweep plot of `key` (one metric's rows): each point of a
    swept system where `key` does not apply (its greedy decode: `do_sample: false` leaves temperature unset), and
    the run's baseline (`statistics.baseline`), so a reader sees whether any swept value beats them."""
    baseline = rows["baseline"].dropna() if "baseline" in rows.columns else pd.Series(dtype=object)
    settings = [k for k in sweep_columns(rows) if k != key]
    found: dict[str, float] = {}
    for record in rows.to_dict("records"):
        if missing(record["score"]):
            continue
        shown = {k: record[k] for k in sweep_columns(rows) if not missing(record[k])}
        if len(baseline) and is_baseline(str(baseline.iloc[0]), str(record["system"]), shown):
            found.setdefault(f"{system_label(record, settings, ' ')} (baseline)", float(record["score"]))
        elif missing(record[key]) and record["system"] in swept:
            found.setdefault(f"{system_label(record, settings, ' ')} (reference)", float(record["score"]))
    return list(found.items())


def sweep_lines(scores: pd.DataFrame, dataset: str, key: str) -> bytes:
    """Score against the swept setting `key` on one dataset (segment level): see the module's note."""
    return _png(sweep_figure(scores, dataset, key))


def sweep_figure(scores: pd.DataFrame, dataset: str, key: str) -> Figure:
    """The figure of :func:`sweep_lines` (its axes are what the tests read)."""
    others = [k for k in sweep_columns(scores) if k not in (key, "seed")]
    rows = per_cell(scores)
    rows = rows[(rows["dataset"] == dataset) & (rows["level"] == "segment") & rows[key].map(lambda v: not missing(v))]
    metrics = list(dict.fromkeys(rows["metric"]))
    n_rows, n_cols = (1, len(metrics)) if len(metrics) <= 3 else _grid(len(metrics), 4)
    fig = _figure(WIDTH, 0.9 + 3.0 * n_rows)
    axes = fig.subplots(n_rows, n_cols, squeeze=False).ravel()
    fig.suptitle(f"{dataset}: score against {key} (segment level)", fontsize=11, color=TEXT_COLOR)
    for ax, metric in zip(axes, metrics, strict=False):
        part = rows[(rows["metric"] == metric) & rows["score"].map(lambda v: not missing(v))]
        lines: dict[str, dict[float, list[dict]]] = {}
        for record in part.to_dict("records"):
            x = _number(record[key])
            assert x is not None  # numeric_sweeps chose `key`
            lines.setdefault(system_label(record, others, " "), {}).setdefault(x, []).append(record)
        for label, points in lines.items():
            xs = sorted(points)
            ys, low, high = [], [], []
            for x in xs:
                at = points[x]
                values = pd.Series([float(r["score"]) for r in at])
                y = float(values.mean())
                if len(at) > 1:  # several seeds: mean ± one standard deviation
                    spread = float(values.std(ddof=1))
                    low.append(spread)
                    high.append(spread)
                elif not missing(at[0].get("ci_low")) and not missing(at[0].get("ci_high")):
                    low.append(max(y - float(at[0]["ci_low"]), 0.0))
                    high.append(max(float(at[0]["ci_high"]) - y, 0.0))
                else:
                    low.append(0.0)
                    high.append(0.0)
                ys.append(y)
            ax.errorbar(xs, ys, yerr=[low, high], marker="o", markersize=4, capsize=3, linewidth=1.2, label=label)
        here = scores[(scores["dataset"] == dataset) & (scores["level"] == "segment") & (scores["metric"] == metric)]
        for label, score in reference_points(per_cell(here), key, {r["system"] for r in part.to_dict("records")}):
            ax.axhline(score, linestyle="--", linewidth=1.0, color="#666666", label=label)
        direction = part["direction"].iloc[0] if len(part) else "higher"
        ax.set_title(f"{metric} ({direction_note(direction)})", fontsize=10, color=TEXT_COLOR)
        ax.set_xlabel(key, fontsize=8)
        if lines:
            ax.legend(fontsize=7, frameon=False)
        _style(ax, grid="both")
    for ax in axes[len(metrics) :]:
        ax.set_visible(False)
    return fig


def _style(ax, grid: str) -> None:
    """Small tick labels, a light grid behind the data, no top and right frame."""
    ax.tick_params(axis="y" if grid == "y" else "both", labelsize=8)
    ax.grid(axis=grid, color="#e4e4e4", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def bars_path(dataset: str) -> str:
    return f"plots/{dataset}.png"


def scatter_path(dataset: str) -> str:
    return f"plots/agreement-{dataset}.png"


def sweep_path(dataset: str, key: str) -> str:
    return f"plots/sweep-{dataset}-{key}.png"


def run_plots(
    scores: pd.DataFrame,
    human: dict[str, dict[str, float]] | None = None,
    agreement: pd.DataFrame | None = None,
    kinds: dict[str, str] | None = None,
    floors: AbstractSet[str] = frozenset(),
) -> dict[str, bytes]:
    """Every plot of a run, by its path in the results folder: the bars of each dataset with segment-level
    scores, a line plot per swept numeric setting of a dataset, and a scatter for each dataset with human scores
    (``human``: dataset -> system -> score; ``kinds``: dataset -> which human score, z or raw; ``floors``: system
    names whose bars are drawn as floors)."""
    files: dict[str, bytes] = {}
    segment = scores[scores["level"] == "segment"]
    for dataset in dict.fromkeys(segment["dataset"]):
        files[bars_path(dataset)] = score_bars(scores, dataset, floors)
        for key in numeric_sweeps(scores, dataset):
            files[sweep_path(dataset, key)] = sweep_lines(scores, dataset, key)
        if human and human.get(dataset):
            files[scatter_path(dataset)] = agreement_scatter(
                scores, human[dataset], dataset, agreement, (kinds or {}).get(dataset)
            )
    return files


__all__ = [
    "BAR_COLOR",
    "agreement_scatter",
    "bars_figure",
    "bars_path",
    "run_plots",
    "off_scale",
    "scatter_path",
    "score_bars",
    "setting_text",
    "sorted_labels",
    "sweep_figure",
    "sweep_lines",
    "sweep_path",
    "system_label",
    "y_limits",
]
