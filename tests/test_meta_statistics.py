"""Meta-evaluation statistics (evalharness.statistics.meta), each against an independent computation: scipy on the
same arrays, hand-worked examples of the published definitions (acc_eq: Deutsch et al. 2023; SPA: Thompson et al.
2024), and plain-Python restatements of mt-metrics-eval's algorithms (loops over pairs and resamples, written
here from their definitions; each names the function of google-research/mt-metrics-eval it follows)."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from evalharness.statistics import meta
from evalharness.statistics.agreement import pairwise_accuracy as agreement_pairwise_accuracy
from scipy import stats as sstats

GROUPINGS = ("none", "item", "system")


def scored(systems: int = 6, items: int = 25, seed: int = 0, missing: float = 0.0):
    """Human and metric scores (systems x items) that correlate, with a share of human scores missing (NaN)."""
    rng = np.random.default_rng(seed)
    human = rng.normal(size=(systems, items))
    metric = human + rng.normal(size=human.shape)
    human[rng.random(human.shape) < missing] = np.nan
    return metric, human


def discrete(systems: int = 6, items: int = 25, seed: int = 0):
    """Scores with many ties: human on a 5-point scale (like MQM/ESA buckets), metric in steps of 0.25."""
    rng = np.random.default_rng(seed)
    human = np.round(rng.normal(size=(systems, items)) * 1.2)
    metric = np.round((human + rng.normal(size=human.shape)) * 4) / 4
    return metric, human


def groups(x: np.ndarray, grouping: str) -> list[np.ndarray]:
    """The vectors a grouping correlates: all cells, each item's column, or each system's row."""
    return {"none": [x.ravel()], "item": list(x.T), "system": list(x)}[grouping]


def scipy_average(metric, human, grouping, correlation) -> float:
    """mt-metrics-eval's AverageCorrelation (stats.py): per group, drop the pairs without a human score, skip
    groups with fewer than 2 pairs, average the defined correlations."""
    values = []
    for m, h in zip(groups(metric, grouping), groups(human, grouping), strict=True):
        ok = ~np.isnan(h)
        if ok.sum() >= 2:
            with warnings.catch_warnings():  # scipy warns on constant input, and returns NaN: the answer
                warnings.simplefilter("ignore")
                values.append(correlation(m[ok], h[ok]))
    values = [v for v in values if not np.isnan(v)]
    return float(np.mean(values))


SCIPY = {
    "pearson": lambda m, h: sstats.pearsonr(m, h).statistic,
    "kendall_b": lambda m, h: sstats.kendalltau(m, h, variant="b").statistic,
    "kendall_c": lambda m, h: sstats.kendalltau(m, h, variant="c").statistic,
}


# ------------------------------------------------------------------------------- correlations against scipy


@pytest.mark.parametrize("grouping", GROUPINGS)
@pytest.mark.parametrize("statistic", ["pearson", "kendall_b", "kendall_c"])
def test_segment_correlations_equal_scipy_averaged_over_groups(statistic, grouping):
    metric, human = scored(missing=0.15)
    expected = scipy_average(metric, human, grouping, SCIPY[statistic])
    assert meta.segment_correlation(metric, human, statistic, grouping) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("grouping", GROUPINGS)
@pytest.mark.parametrize("statistic", ["kendall_b", "kendall_c"])
def test_kendall_counts_ties_as_scipy_does(statistic, grouping):
    metric, human = discrete()
    expected = scipy_average(metric, human, grouping, SCIPY[statistic])
    assert meta.segment_correlation(metric, human, statistic, grouping) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("variant", ["b", "c"])
def test_kendall_of_large_groups_equals_scipy(variant):
    """Groups beyond SCIPY_KENDALL_ABOVE members go through scipy's O(n log n) kendalltau, not all pairs."""
    metric, human = discrete(systems=4, items=100)
    assert metric.size > meta.SCIPY_KENDALL_ABOVE
    expected = sstats.kendalltau(metric.ravel(), human.ravel(), variant=variant).statistic
    assert meta.segment_correlation(metric, human, f"kendall_{variant}", "none") == pytest.approx(expected, abs=1e-12)


def test_groups_with_a_constant_human_score_are_left_out_of_the_average():
    metric, human = scored(systems=5, items=4)
    human[:, 0] = 3.0  # pearson undefined on item 0
    expected = np.mean([sstats.pearsonr(metric[:, i], human[:, i]).statistic for i in (1, 2, 3)])
    assert meta.segment_correlation(metric, human, "pearson", "item") == pytest.approx(expected, abs=1e-12)


def test_a_statistic_undefined_in_every_group_is_nan():
    metric, human = scored(systems=3, items=4)
    assert np.isnan(meta.segment_correlation(metric, np.ones_like(human), "pearson", "item"))


def test_unknown_statistic_grouping_or_shape_is_refused():
    metric, human = scored()
    with pytest.raises(ValueError, match="unknown statistic"):
        meta.segment_correlation(metric, human, "spearmanish", "none")
    with pytest.raises(ValueError, match="unknown grouping"):
        meta.segment_correlation(metric, human, "pearson", "document")
    with pytest.raises(ValueError, match="differ in shape"):
        meta.segment_correlation(metric, human[:, :-1], "pearson", "none")


# ------------------------------------------------------------------------------ acc_eq (Deutsch et al. 2023)

# Worked by hand. Human: systems 0 and 1 tie. Metric: binary fractions, so every difference is exact.
#   pair   human   metric distance   at epsilon 0
#   (0,1)  tie     0.0625            metric orders a human tie: disagrees
#   (0,2)  <       0.5               agrees        (0,3) <  0.375  agrees
#   (1,2)  <       0.4375            agrees        (1,3) <  0.3125 agrees
#   (2,3)  <       0.125 (reversed)  disagrees
# epsilon 0: 4/6. epsilon 0.0625 ties (0,1) as the humans do: 5/6. epsilon 0.125 ties (2,3), which the humans
# order: still wrong, 5/6. epsilon 0.3125 ties (1,3), which was right: 4/6. The calibrated epsilon is 0.0625.
WORKED_HUMAN = np.array([1.0, 1.0, 2.0, 3.0])
WORKED_METRIC = np.array([0.5, 0.5625, 1.0, 0.875])


def test_acc_eq_of_the_worked_example_at_fixed_thresholds():
    assert meta.acc_eq(WORKED_METRIC, WORKED_HUMAN, epsilon=0.0) == (4 / 6, 0.0)
    assert meta.acc_eq(WORKED_METRIC, WORKED_HUMAN, epsilon=0.125) == (5 / 6, 0.125)
    assert meta.acc_eq(WORKED_METRIC, WORKED_HUMAN, epsilon=0.375) == (3 / 6, 0.375)


def test_acc_eq_calibration_picks_the_smallest_best_threshold_of_the_worked_example():
    assert meta.acc_eq(WORKED_METRIC, WORKED_HUMAN) == (5 / 6, 0.0625)


def test_tau_eq_of_the_worked_example():
    """tau_eq = (concordant + tied in both - discordant - tied in one only) / pairs = (4 + 1 - 1 - 0) / 6 at the
    calibrated epsilon 0.0625; with epsilon 0: (4 - 1 - 1) / 6."""
    metric, human = WORKED_METRIC[:, None], WORKED_HUMAN[:, None]
    assert meta.segment_correlation(metric, human, "kendall_wmt23", "none") == pytest.approx(4 / 6)
    assert meta.segment_correlation(metric, human, "kendall_wmt23", "none", epsilon=0.0) == pytest.approx(2 / 6)


def agreeing_share(m: np.ndarray, h: np.ndarray, epsilon: float) -> float:
    """acc_eq by its definition, pair by pair."""
    agree = [
        (abs(m[a] - m[b]) <= epsilon and h[a] == h[b])
        or (abs(m[a] - m[b]) > epsilon and np.sign(m[a] - m[b]) == np.sign(h[a] - h[b]) != 0)
        for a, b in itertools.combinations(range(len(m)), 2)
    ]
    return float(np.mean(agree)) if agree else np.nan


def brute_force_acc_eq(metric, human, grouping, epsilon):
    values = []
    for m, h in zip(groups(metric, grouping), groups(human, grouping), strict=True):
        ok = ~np.isnan(m) & ~np.isnan(h)
        values.append(agreeing_share(m[ok], h[ok], epsilon))
    return float(np.nanmean(values))


def brute_force_calibration(metric, human, grouping):
    """Every candidate threshold (0 and every metric distance within a group), the best accuracy, the smallest
    threshold reaching it."""
    candidates = {0.0}
    for m, h in zip(groups(metric, grouping), groups(human, grouping), strict=True):
        ok = ~np.isnan(m) & ~np.isnan(h)
        candidates |= {abs(x - y) for x, y in itertools.combinations(m[ok], 2)}
    scored_candidates = [(brute_force_acc_eq(metric, human, grouping, e), e) for e in sorted(candidates)]
    best = max(acc for acc, _ in scored_candidates)
    return best, min(e for acc, e in scored_candidates if acc >= best - 1e-12)


@pytest.mark.parametrize("grouping", GROUPINGS)
def test_acc_eq_at_a_fixed_threshold_equals_its_definition(grouping):
    metric, human = discrete(systems=5, items=8)
    human[0, 0] = np.nan
    assert meta.acc_eq(metric, human, grouping, epsilon=0.25)[0] == pytest.approx(
        brute_force_acc_eq(metric, human, grouping, 0.25), abs=1e-12
    )


@pytest.mark.parametrize("missing", [False, True], ids=["complete", "missing"])
@pytest.mark.parametrize("grouping", GROUPINGS)
def test_acc_eq_calibration_equals_a_search_over_every_threshold(grouping, missing):
    rng = np.random.default_rng(3)
    human = np.round(rng.normal(size=(5, 6)))  # many human ties: tying pairs pays
    metric = human + rng.normal(size=human.shape) * 0.6
    if missing:
        human[rng.random(human.shape) < 0.2] = np.nan  # unequal group sizes: the weighted search
    accuracy, epsilon = meta.acc_eq(metric, human, grouping)
    best, smallest = brute_force_calibration(metric, human, grouping)
    assert accuracy == pytest.approx(best, abs=1e-12)
    assert epsilon == smallest
    assert epsilon > 0  # the example is one where ties matter


def tau_optimization_acc23(metric: np.ndarray, human: np.ndarray) -> tuple[float, float]:
    """mt-metrics-eval's tau_optimization.tau_optimization(tau_fn=acc_23, sample_rate=1), restated: rows are the
    groups; start at threshold 0 with each row's (agreeing, pairs); walk the pairs by increasing metric distance,
    re-counting each as a metric tie; the row-averaged accuracy after each distinct distance; the first maximum."""
    rows, pairs = [], []
    for r, (m, h) in enumerate(zip(metric, human, strict=True)):
        counts = [0, 0]
        for a, b in itertools.combinations(range(len(m)), 2):
            agrees = np.sign(m[a] - m[b]) == np.sign(h[a] - h[b])
            agrees_tied = h[a] == h[b]
            counts[0] += agrees
            counts[1] += 1
            pairs.append((abs(m[a] - m[b]), r, agrees, agrees_tied))
        rows.append(counts)
    thresholds, accs = [0.0], [np.mean([c[0] / c[1] for c in rows])]
    for dist, r, agrees, agrees_tied in sorted(pairs, key=lambda p: p[0]):
        rows[r][0] += int(agrees_tied) - int(agrees)
        acc = np.mean([c[0] / c[1] for c in rows])
        if thresholds[-1] == dist:
            accs[-1] = acc
        else:
            thresholds.append(dist)
            accs.append(acc)
    best = int(np.nanargmax(accs))
    return accs[best], thresholds[best]


@pytest.mark.parametrize("grouping", ["none", "item"])
def test_acc_eq_calibration_agrees_with_mt_metrics_eval_tau_optimization(grouping):
    rng = np.random.default_rng(7)
    human = np.round(rng.normal(size=(6, 12)) * 1.5)
    metric = human + rng.normal(size=human.shape) * 0.8
    theirs, their_epsilon = tau_optimization_acc23(*(meta._groups(x, grouping) for x in (metric, human)))
    accuracy, epsilon = meta.acc_eq(metric, human, grouping)
    assert accuracy == pytest.approx(theirs, abs=1e-12)
    assert epsilon <= their_epsilon  # theirs sums floats: on a plateau it may stop at a later, equal threshold
    assert meta.acc_eq(metric, human, grouping, epsilon=their_epsilon)[0] == pytest.approx(theirs, abs=1e-12)


def test_acc_eq_calibration_of_too_many_pairs_is_refused(monkeypatch):
    monkeypatch.setattr(meta, "MAX_CALIBRATION_PAIRS", 10)
    with pytest.raises(ValueError, match="group by item or system, or give epsilon"):
        meta.acc_eq(*discrete(systems=3, items=3))


def test_acc_eq_calibration_counts_only_the_scored_pairs(monkeypatch):
    """3 x 3 cells of which 5 are scored: 10 pairs to calibrate over (not the 36 of all 9 cells)."""
    metric, human = discrete(systems=3, items=3)
    human[0, :2] = np.nan
    human[1, :2] = np.nan
    monkeypatch.setattr(meta, "MAX_CALIBRATION_PAIRS", 10)
    assert 0 <= meta.acc_eq(metric, human)[0] <= 1
    monkeypatch.setattr(meta, "MAX_CALIBRATION_PAIRS", 9)
    with pytest.raises(meta.TooManyPairs, match="over 10 pairs"):
        meta.acc_eq(metric, human)


# ------------------------------------------------------------------------------------ system-level accuracy


def mt_metrics_eval_agreement(metric, human) -> float:
    """mt-metrics-eval's stats.Agreement: over all pairs, sign(human difference) == sign(metric difference)."""
    pairs = list(itertools.combinations(range(len(metric)), 2))
    return sum(np.sign(human[a] - human[b]) == np.sign(metric[a] - metric[b]) for a, b in pairs) / len(pairs)


def test_naive_pairwise_accuracy_equals_mt_metrics_eval_agreement_with_ties():
    metric = np.array([1.0, 2.0, 2.0, 3.0, 0.5, 4.0])
    human = np.array([0.1, 0.3, 0.2, 0.2, 0.0, 0.5])
    assert meta.pairwise_accuracy(metric, human) == pytest.approx(mt_metrics_eval_agreement(metric, human))


def test_naive_pairwise_accuracy_without_human_ties_equals_the_agreement_module():
    metric, human = scored(systems=9, items=1, seed=4)
    assert meta.pairwise_accuracy(metric[:, 0], human[:, 0]) == agreement_pairwise_accuracy(metric[:, 0], human[:, 0])


def test_tie_aware_pairwise_accuracy_calibrates_the_worked_example():
    assert meta.pairwise_accuracy(WORKED_METRIC, WORKED_HUMAN, ties="acc_eq") == 5 / 6
    assert meta.pairwise_accuracy(WORKED_METRIC, WORKED_HUMAN) == 4 / 6


# ---------------------------------------------------------------------------------- SPA (Thompson et al. 2024)


def test_spa_of_a_hand_worked_example():
    """Three systems, pairs (0,1), (0,2), (1,2): |0.01 - 0.03| + |0.20 - 0.40| + |0.50 - 0.50| = 0.22, so SPA =
    1 - 0.22 / 3. The lower triangles (here garbage) are not read."""
    human = np.array([[np.nan, 0.01, 0.20], [9.0, np.nan, 0.50], [9.0, 9.0, np.nan]])
    metric = np.array([[np.nan, 0.03, 0.40], [-9.0, np.nan, 0.50], [-9.0, -9.0, np.nan]])
    assert meta.soft_pairwise_accuracy(metric, human) == pytest.approx(1 - 0.22 / 3)


def test_spa_is_one_for_a_metric_as_confident_as_the_humans_and_zero_for_the_opposite():
    p = np.triu(np.full((4, 4), 0.0), 1)
    assert meta.soft_pairwise_accuracy(p, p) == 1.0
    assert meta.soft_pairwise_accuracy(np.triu(np.ones((4, 4)), 1), p) == 0.0


def compute_pairwise_p_values(seg_scores: np.ndarray, num_permutations: int, seed: int) -> np.ndarray:
    """mt-metrics-eval's pce.compute_pairwise_p_values, restated pair by pair: signs +-1 drawn as
    rint(uniform float32) * 2 - 1 from default_rng(seed), sums in float32, upper triangle only."""
    rng = np.random.default_rng(seed)
    signs = np.rint(rng.random(size=(num_permutations, seg_scores.shape[1]), dtype=np.float32)) * 2 - 1
    seg = seg_scores.astype(np.float32)
    n = len(seg)
    p = np.full((n, n), np.nan)
    for i, j in itertools.combinations(range(n), 2):
        null = signs @ seg[i] - signs @ seg[j]
        p[i, j] = np.mean(null >= seg[i].sum() - seg[j].sum())
    return p


def test_pairwise_pvalues_equal_mt_metrics_eval_for_the_same_seed():
    scores, _ = scored(systems=5, items=60, seed=2)
    scores[1] += 0.3  # some pairs clearly ordered
    p = meta.pairwise_pvalues(scores, resamples=300, seed=4)
    upper = np.triu_indices(5, 1)
    np.testing.assert_array_equal(p[upper], compute_pairwise_p_values(scores, 300, 4)[upper])


def test_pairwise_pvalues_lower_triangle_is_the_reverse_comparison():
    scores, _ = scored(systems=3, items=40, seed=5)
    p = meta.pairwise_pvalues(scores, resamples=200, seed=1)
    reversed_p = meta.pairwise_pvalues(scores[::-1], resamples=200, seed=1)
    assert p[2, 0] == reversed_p[0, 2] and p[1, 0] == reversed_p[1, 2]
    assert np.isnan(np.diag(p)).all()


def test_pairwise_pvalues_separate_a_better_system():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(2, 200))
    scores[0] += 1.0
    p = meta.pairwise_pvalues(scores, resamples=500, seed=0)
    assert p[0, 1] < 0.01 and p[1, 0] > 0.99


def test_pairwise_pvalues_leave_out_the_items_a_pair_lacks():
    scores, _ = scored(systems=3, items=30, seed=6)
    holey = scores.copy()
    holey[0, [3, 7]] = np.nan
    p = meta.pairwise_pvalues(holey, resamples=400, seed=2)
    signs = np.rint(np.random.default_rng(2).random(size=(400, 30), dtype=np.float32)) * 2 - 1
    keep = np.ones(30, bool)
    keep[[3, 7]] = False
    diff = (scores[0] - scores[1])[keep].astype(np.float32)
    assert p[0, 1] == np.mean(signs[:, keep] @ diff >= diff.sum())
    assert p[1, 2] == compute_pairwise_p_values(scores, 400, 2)[1, 2]


def test_pairwise_pvalues_of_systems_without_a_common_item_are_nan():
    scores = np.array([[1.0, np.nan, 2.0], [np.nan, 3.0, np.nan], [0.5, 0.5, 0.5]])
    p = meta.pairwise_pvalues(scores, resamples=50, seed=0)
    assert np.isnan(p[0, 1]) and np.isnan(p[1, 0])
    assert not np.isnan(p[0, 2]) and not np.isnan(p[1, 2])


# ------------------------------------------------------------------------------ PERM-BOTH (Deutsch et al. 2021)


def permutation_sig_diff(metric_a, metric_b, human, correlation, grouping, resamples, seed) -> float:
    """mt-metrics-eval's stats.PermutationSigDiff (corr2 = a, corr1 = b, no early stop), restated: lay out the
    cells by group, drop those without a human score, z-score each metric over the rest, keep a's and b's score in
    a cell or swap them, count resamples whose averaged correlation difference is >= the observed one. Its draws
    (np.random.binomial) are replaced by perm_both's: one stream of uniform doubles from default_rng(seed), < 0.5
    swaps, systems x items per resample."""
    swaps = np.random.default_rng(seed).random((resamples, *human.shape)) < 0.5
    layout = {"none": lambda x: [x.ravel()], "item": lambda x: list(x.T), "system": lambda x: list(x)}[grouping]
    ok = [~np.isnan(h) for h in layout(human)]
    gold = [h[k] for h, k in zip(layout(human), ok, strict=True)]

    def flat(x):
        return np.concatenate([g[k] for g, k in zip(layout(x), ok, strict=True)])

    za, zb = sstats.zscore(flat(metric_a)), sstats.zscore(flat(metric_b))
    bounds = np.cumsum([0] + [len(g) for g in gold])

    def corr(scores):
        values = [correlation(scores[b:e], g) for b, e, g in zip(bounds[:-1], bounds[1:], gold, strict=True)]
        values = [v for v in values if not np.isnan(v)]
        return np.mean(values)

    delta = corr(za) - corr(zb)
    larger = 0
    for swap in swaps:
        keep = ~flat(swap.astype(float)).astype(bool)
        a, b = np.where(keep, za, zb), np.where(keep, zb, za)
        larger += corr(a) - corr(b) >= delta
    return larger / resamples


@pytest.mark.parametrize("grouping", GROUPINGS)
def test_perm_both_equals_mt_metrics_eval_permutation_sig_diff_for_the_same_draws(grouping):
    metric_a, human = scored(systems=5, items=8, seed=8, missing=0.1)
    metric_b = human + np.random.default_rng(9).normal(size=human.shape) * 1.2
    statistic = meta.CorrelationStatistic("pearson", grouping)
    p = meta.perm_both(metric_a, metric_b, human, statistic, resamples=100, seed=3)
    expected = permutation_sig_diff(metric_a, metric_b, human, SCIPY["pearson"], grouping, 100, 3)
    assert p == expected
    assert 0.0 < p < 1.0


def test_perm_both_system_level_equals_mt_metrics_eval_on_system_scores():
    """1-D arrays are system scores: the swaps are per system, as mt-metrics-eval's system-level test."""
    rng = np.random.default_rng(10)
    human = rng.normal(size=12)
    metric_a, metric_b = human + rng.normal(size=12) * 0.7, human + rng.normal(size=12)
    p = meta.perm_both(metric_a, metric_b, human, meta.CorrelationStatistic("pearson"), resamples=300, seed=5)
    expected = permutation_sig_diff(
        metric_a[:, None], metric_b[:, None], human[:, None], SCIPY["pearson"], "none", 300, 5
    )
    assert p == expected


def test_a_system_level_statistic_of_grouped_items_is_refused():
    with pytest.raises(ValueError, match="grouping 'none'"):
        meta.CorrelationStatistic("pearson", "item", level="system")


def test_perm_both_of_identical_metrics_finds_no_difference():
    metric, human = scored()
    assert meta.perm_both(metric, metric, human, meta.CorrelationStatistic("pearson"), resamples=100, seed=1) == 1.0


@pytest.mark.parametrize("statistic", ["pearson", "kendall_b", "acc_eq"])
def test_perm_both_separates_the_human_scores_from_noise(statistic):
    rng = np.random.default_rng(11)
    human = np.round(rng.normal(size=(6, 30)) * 2)
    noise = rng.normal(size=human.shape)
    stat = meta.CorrelationStatistic(statistic, "item")
    assert meta.perm_both(human + 0.01 * noise, noise, human, stat, resamples=200, seed=2) < 0.01
    assert meta.perm_both(noise, human + 0.01 * noise, human, stat, resamples=200, seed=2) > 0.99


def test_perm_both_is_seeded():
    metric_a, human = scored(seed=12)
    metric_b = human + np.random.default_rng(13).normal(size=human.shape)
    stat = meta.CorrelationStatistic("kendall_b", "item")
    first = meta.perm_both(metric_a, metric_b, human, stat, resamples=150, seed=21)
    assert meta.perm_both(metric_a, metric_b, human, stat, resamples=150, seed=21) == first


@pytest.mark.parametrize(("statistic", "grouping"), [("pearson", "none"), ("kendall_b", "item"), ("acc_eq", "item")])
def test_perm_both_pair_gives_both_directions_of_perm_both_from_one_test(statistic, grouping):
    """perm_both(b, a) draws the same swaps as perm_both(a, b): its p is the other count of the same draws."""
    metric_a, human = scored(systems=5, items=10, seed=16, missing=0.1)
    metric_b = human + np.random.default_rng(17).normal(size=human.shape) * 1.2
    stat = meta.CorrelationStatistic(statistic, grouping)
    both = meta.perm_both_pair(metric_a, metric_b, human, stat, resamples=130, seed=6)
    assert both == (
        meta.perm_both(metric_a, metric_b, human, stat, resamples=130, seed=6),
        meta.perm_both(metric_b, metric_a, human, stat, resamples=130, seed=6),
    )


def test_perm_both_with_a_plain_callable_equals_the_batched_statistic():
    """System level from segment scores: the statistic of the per-system means (the swaps are per cell)."""
    metric_a, human = scored(systems=7, items=20, seed=14, missing=0.1)
    metric_b = human + np.random.default_rng(15).normal(size=human.shape) * 1.5
    batched = meta.CorrelationStatistic("kendall_b", level="system")

    def plain(metric: np.ndarray, human: np.ndarray) -> float:
        return sstats.kendalltau(np.nanmean(metric, axis=1), np.nanmean(human, axis=1)).statistic

    p = meta.perm_both(metric_a, metric_b, human, batched, resamples=120, seed=4)
    assert meta.perm_both(metric_a, metric_b, human, plain, resamples=120, seed=4) == p


# ------------------------------------------------------------------------------------------------- clusters


def assign_ranks(sig_matrix: np.ndarray, alpha: float) -> list[int]:
    """mt-metrics-eval's data.AssignRanks, restated: metrics sorted by decreasing correlation; a metric starts a
    new rank when a metric since the start of the current rank beats it with p <= alpha."""
    ranks, rank, start = [], 1, 0
    for i in range(len(sig_matrix)):
        if any(sig_matrix[k, i] <= alpha for k in range(start, i)):
            rank, start = rank + 1, i
        ranks.append(rank)
    return ranks


def test_metric_clusters_of_a_worked_example():
    """Sorted: A 0.9, B 0.8, C 0.7, D 0.6. B is not significantly worse than A: cluster 1. A beats C (p 0.01):
    C opens cluster 2. D is compared with C only (p 0.3), though A beats it too: cluster 2. Given out of order."""
    names = ["C", "A", "D", "B"]
    values = np.array([0.7, 0.9, 0.6, 0.8])
    index = {n: k for k, n in enumerate(names)}
    p = np.full((4, 4), 0.5)
    for better, worse, value in [("A", "B", 0.2), ("A", "C", 0.01), ("A", "D", 0.001), ("B", "C", 0.06)]:
        p[index[better], index[worse]] = value
    p[index["B"], index["D"]], p[index["C"], index["D"]] = 0.04, 0.3
    assert meta.metric_clusters(names, values, p) == [2, 1, 2, 1]


def test_metric_clusters_equal_mt_metrics_eval_assign_ranks():
    rng = np.random.default_rng(16)
    for _ in range(20):
        n = 6
        values = np.sort(rng.random(n))[::-1]
        p = rng.random((n, n)) * 0.2
        names = [f"m{k}" for k in range(n)]
        assert meta.metric_clusters(names, values, p) == assign_ranks(p, 0.05)


def test_metric_clusters_break_equal_values_by_name():
    p = np.full((2, 2), 0.01)
    assert meta.metric_clusters(["b", "a"], np.array([0.5, 0.5]), p) == [2, 1]


# ------------------------------------------------------------------------------------------------ BOOT-BOTH


def test_boot_both_draws_systems_and_items_with_replacement():
    """The interval restated: systems then items drawn from default_rng(seed).integers, sacrebleu's percentile
    rule (sorted values at N // 40 and N - N // 40 - 1)."""
    metric, human = scored(systems=6, items=10, seed=17)
    statistic = meta.CorrelationStatistic("pearson", level="system")
    rng = np.random.default_rng(9)
    values = []
    for _ in range(80):
        rows, cols = rng.integers(0, 6, 6), rng.integers(0, 10, 10)
        m, h = metric[rows][:, cols].mean(axis=1), human[rows][:, cols].mean(axis=1)
        values.append(sstats.pearsonr(m, h).statistic)
    values.sort()
    low, high = meta.boot_both(metric, human, statistic, resamples=80, seed=9)
    assert (low, high) == pytest.approx((values[2], values[77]), abs=1e-12)


def test_boot_both_of_a_monotone_metric_is_a_point():
    human = np.arange(8.0)
    assert meta.boot_both(np.exp(human), human, meta.CorrelationStatistic("kendall_b"), resamples=50) == (1.0, 1.0)


def test_boot_both_resampling_systems_widens_a_system_level_interval():
    metric, human = scored(systems=6, items=40, seed=18)
    statistic = meta.CorrelationStatistic("kendall_b", level="system")
    items_low, items_high = meta.boot_both(metric, human, statistic, resamples=200, seed=1, resample="items")
    both_low, both_high = meta.boot_both(metric, human, statistic, resamples=200, seed=1)
    assert both_high - both_low > items_high - items_low


def test_perm_both_with_spa_separates_a_metric_that_orders_systems_as_the_humans_do():
    rng = np.random.default_rng(19)
    human = rng.normal(size=(5, 40)) + np.array([0.0, 0.4, 0.8, 1.2, 1.6])[:, None]
    good, noise = human + 0.1 * rng.normal(size=human.shape), rng.normal(size=human.shape)
    statistic = meta.SpaStatistic(meta.pairwise_pvalues(human, 200, 4), permutations=200)
    assert statistic(good, human) > statistic(noise, human)
    assert meta.perm_both(good, noise, human, statistic, resamples=60, seed=1) < 0.05
    assert meta.perm_both(good, good, human, statistic, resamples=20, seed=1) == 1.0
