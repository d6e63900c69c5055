"""The score bars: sorted best first, the y axis zoomed to the scores and CIs, and a note when it is."""

from __future__ import annotations

import pandas as pd
from evalharness.reporting.plots import FLOOR_COLOR, bars_figure, y_limits
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex


def frame(metric: str, direction: str, scores: dict[str, tuple[float, float, float]]) -> pd.DataFrame:
    """A scores frame of one dataset and metric: system -> (score, ci_low, ci_high)."""
    return pd.DataFrame(
        [
            {
                "dataset": "d",
                "system": system,
                "level": "segment",
                "metric": metric,
                "direction": direction,
                "score": score,
                "ci_low": low,
                "ci_high": high,
            }
            for system, (score, low, high) in scores.items()
        ]
    )


def panel(scores: pd.DataFrame):
    return bars_figure(scores, "d").axes[0]


def test_bars_are_sorted_best_first():
    ax = panel(frame("chrF2", "higher", {"a": (55.0, 54, 56), "b": (57.0, 56, 58), "c": (56.0, 55, 57)}))
    assert [t.get_text() for t in ax.get_xticklabels()] == ["b", "c", "a"]


def test_lower_is_better_bars_are_sorted_lowest_first():
    ax = panel(frame("TER", "lower", {"a": (60.0, 59, 61), "b": (50.0, 49, 51), "c": (70.0, 69, 71)}))
    assert [t.get_text() for t in ax.get_xticklabels()] == ["b", "a", "c"]


def test_close_scores_zoom_the_axis_and_keep_the_cis_visible():
    ax = panel(frame("chrF2", "higher", {"a": (55.0, 54.2, 55.8), "b": (56.5, 55.6, 57.3)}))
    low, high = ax.get_ylim()
    assert 0 < low < 54.2 and high > 57.3
    assert high - low < 10  # a 1.5 point difference fills a visible part of the panel
    assert "axis starts at" in ax.get_title() and "not 0" in ax.get_title()


def test_scores_near_zero_keep_the_axis_from_zero_without_a_note():
    ax = panel(frame("BLEU", "higher", {"copy": (2.0, 1.5, 2.5), "mt": (30.0, 28, 32)}))
    assert ax.get_ylim()[0] == 0
    assert "axis starts" not in ax.get_title()


def test_y_limits_cover_every_value():
    for values in ([55.0, 56.5], [0.5, 80.0], [99.0, 100.0], [12.0]):
        low, high = y_limits(values)
        assert low <= min(values) and high > max(values)


def test_a_far_floor_is_left_off_scale_so_close_systems_stay_visible():
    scores = {"a": (56.0, 54.5, 57.5), "b": (58.9, 57.2, 60.6), "c": (57.2, 55.6, 59.0), "copy": (0.7, 0.5, 0.9)}
    ax = panel(frame("chrF2", "higher", scores))
    low, high = ax.get_ylim()
    assert 0.9 < low < 54.5 and high > 60.6
    assert "1 off scale" in ax.get_title()
    notes = [t.get_text() for t in ax.texts]
    assert "0.7 ▼" in notes  # the floor's value stays readable at the foot of the panel


def test_a_weak_system_near_the_others_is_not_left_off_scale():
    scores = {"a": (30.0, 28.0, 32.0), "b": (29.0, 27.0, 31.0), "weak": (21.0, 19.0, 23.0)}
    ax = panel(frame("BLEU", "higher", scores))
    assert ax.get_ylim()[0] < 19.0 and "off scale" not in ax.get_title()


def test_a_floor_is_a_light_dotted_bar_labelled_floor():
    scores = frame("chrF2", "higher", {"mt": (55.0, 54, 56), "copy": (20.0, 19, 21), "mt2": (50.0, 49, 51)})
    ax = bars_figure(scores, "d", floors={"copy"}).axes[0]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["mt", "mt2", "copy\n(floor)"]
    bars = {label: patch for label, patch in zip(labels, ax.patches, strict=True)}
    assert bars["copy\n(floor)"].get_hatch() == ".." and bars["mt"].get_hatch() is None
    assert to_hex(bars["copy\n(floor)"].get_facecolor()) == FLOOR_COLOR


def many_metrics(dataset: str) -> pd.DataFrame:
    """Six metrics, eight systems with long names, one far below the rest (off scale): the most a title holds."""
    names = [f"system-with-a-long-name-{k}" for k in range(7)] + ["copy-source"]
    metrics = ["BLEU", "chrF2", "chrF2++", "TER", "Emb-e5", "Emb-e5-src"]
    frames = []
    for m, metric in enumerate(metrics):
        direction = "lower" if metric == "TER" else "higher"
        values = {n: (50.0 + k + m, 49.0 + k + m, 51.0 + k + m) for k, n in enumerate(names[:-1])}
        values["copy-source"] = (2.0, 1.5, 2.5) if direction == "higher" else (99.0, 98.5, 99.5)
        frames.append(frame(metric, direction, values).assign(dataset=dataset))
    return pd.concat(frames, ignore_index=True)


def test_every_title_fits_inside_the_figure_and_no_two_overlap():
    dataset = "wmt22-zh-en-refA+B-a-long-dataset-name"
    fig = bars_figure(many_metrics(dataset), dataset, floors={"copy-source"})
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    titles = [fig._suptitle] + [ax.title for ax in fig.axes if ax.get_visible()]
    boxes = [t.get_window_extent(renderer) for t in titles if t is not None and t.get_text()]
    assert len(boxes) == 7
    for box in boxes:
        assert box.x0 >= 0 and box.y0 >= 0 and box.x1 <= fig.bbox.width and box.y1 <= fig.bbox.height, box
    for j, a in enumerate(boxes):
        for b in boxes[j + 1 :]:
            assert not a.overlaps(b), (a, b)
