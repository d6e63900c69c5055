"""Deltas in human terms (Kocmi et al. 2024, "Navigating the Metrics Maze: Reconciling Score Magnitudes and
Accuracies"): a metric's delta between two systems read as the estimated share of system pairs with that delta on
which humans agree with the metric's ranking, from the published curves of the `mt-thresholds` package (never
copied here).

`mt_thresholds.accuracy(delta, curve)` is a logistic fit of accuracy (in percent) against the *size* of the delta,
in the metric's own points (BLEU and chrF: 0-100): it was fitted on deltas in the metric's favoured direction, so
the magnitude is what it reads (a delta of -2 BLEU is as telling about which system is better as +2). At delta 0
it gives about half of its ceiling: a coin toss. A metric gets a curve only where the package fitted one for the
same metric with the same settings (`Metric.human_curve`): chrF++, TER, the embedding metric and commands have
none, and their cells stay empty rather than borrow another metric's curve.
"""

from __future__ import annotations

import math

import mt_thresholds  # type: ignore[import-untyped]

# The column of scores.csv (against the baseline) and pairwise.csv (between the two cells).
COLUMN = "human_agreement"


def human_agreement(delta: float | None, curve: str | None) -> float | None:
    """The estimated human agreement (percent) with a delta of the metric whose curve is `curve` (a name of
    `mt_thresholds.METRICS`); None without a curve or a delta."""
    if curve is None or delta is None or (isinstance(delta, float) and math.isnan(delta)):
        return None
    return mt_thresholds.accuracy(abs(delta), curve)
