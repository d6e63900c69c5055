"""meta.csv: how well each metric of a run agrees with the human scores, as google-research's mt-metrics-eval and
the WMT metrics tasks report it, and which metrics agree significantly better than which.

The statistics themselves are pure functions of arrays (`evalharness.statistics.meta`); this module gathers one
dataset's numbers (the metrics' corpus scores, per-segment statistics and sentence scores, the human judgments of
`datasets.humanscores`), calls them and lays out the rows (`META_COLUMNS`, long format; README "meta.csv"):

- System level (every dataset with human scores), over the systems that have a human score and a cell (the copy-
  source floor is left out, as in agreement.csv; a lower-is-better metric is negated, so +1 is agreement):
  Pearson, Spearman, Kendall tau-b with a bootstrap 95% CI that resamples the *systems and the segments jointly*
  (each resample: the run's segment resample, `statistics.seed`, and a draw of the systems with replacement from a
  second generator seeded by (seed, 1); percentile bounds by sacrebleu's rule); pairwise accuracy (mt-metrics-eval's
  `Agreement`: over all pairs, a tie agreeing only where both tie; agreement.csv's leaves the pairs the humans tie
  out), tie-aware pairwise accuracy (acc_eq) and soft pairwise accuracy (SPA).
- SPA compares one-sided p-values "system i is better than system j" of the metric and of the humans. The metric's:
  a paired approximate randomization of the two systems' segment statistics (`statistics.n_samples` swaps, 1000 by
  default), the corpus score recomputed by the metric. The humans': a paired permutation of the segment scores
  (`meta.pairwise_pvalues`) when there are segment-level human scores; else, for WMT's DA files, a normal
  approximation: the mean of N standardized (z) judgments has a standard error of about 1/sqrt(N), so
  p = 1 - Phi((z_i - z_j) / sqrt(1/N_i + 1/N_j)); a plain system,score CSV gives no SPA (the `method` says why).
- Segment level (with `human_segment_scores`): Pearson, Kendall tau-b, tau-c, WMT23's tau and acc_eq, with no
  grouping (all system-segment pairs) and grouped by item (across systems within each segment, averaged). tau
  and acc_eq calibrate a tie threshold over all scored pairs; with no grouping a WMT test set has more of them
  than `meta.MAX_CALIBRATION_PAIRS`: that row's value is empty and its `method` says so (grouping item has it).
- Metric comparisons (`section` pair): for every ordered pair of metrics and each tested statistic, the PERM-BOTH
  p-value (Deutsch et al. 2021) that `metric` agrees better than `metric_b`, seeded by `statistics.seed`. At the
  system level the corpus scores are what is swapped (z-scored per metric by `meta.perm_both`, which changes none
  of the tested statistics): a corpus metric (BLEU) has no per-segment scores whose mean is its system score, so
  the swaps are per system, as mt-metrics-eval's system-level test does. From those p-values each metric's
  `cluster` (WMT metrics-task tables, `meta.metric_clusters`) and `rank` (by value, 1 = best).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from evalharness.statistics import meta
from evalharness.statistics.agreement import cells_by_system, correlations
from evalharness.statistics.resampling import indices, map_tasks, percentiles, python_rows, resampled_scores
from evalharness.statistics.significance import _ar_draws, _Swaps

if TYPE_CHECKING:
    from evalharness.metrics.base import Metric
    from evalharness.metrics.scoring import MetricResult
    from evalharness.plan import Cell, CellId

META_COLUMNS = [
    "dataset",
    "level",  # system or segment
    "grouping",  # none or item (segment level)
    "section",  # metric: one metric's statistic; pair: metric vs metric_b
    "statistic",
    "metric",
    "metric_b",
    "value",  # the statistic, or (pair) the p-value that metric agrees better than metric_b
    "ci_low",
    "ci_high",
    "rank",
    "cluster",
    "n_systems",
    "n_items",
    "human",  # which human score: z, raw, score, da, mqm, esa ("(negated)": the file is lower-is-better)
    "method",
]
SYSTEM_CORRELATIONS = ("pearson", "spearman", "kendall")
SYSTEM_TESTED = ("pearson", "kendall", "accuracy")  # PERM-BOTH p-values, ranks and clusters at the system level
SEGMENT_STATISTICS = ("pearson", "kendall_b", "kendall_c", "kendall_wmt23", "acc_eq")
SEGMENT_GROUPINGS = ("none", "item")
SEGMENT_TESTED = (("pearson", "none"), ("kendall_b", "item"))
P_SAMPLES = 1000  # swaps of the SPA and PERM-BOTH tests without `statistics.n_samples`
NAN = float("nan")


JOINT_CI = "bootstrap 95% CI, systems and segments resampled jointly (percentile)"
NAIVE = "all system pairs; agreeing when both order the pair alike (a tie only where both tie)"
ACC_EQ = "Deutsch et al. 2023 tie calibration (epsilon chosen on these data)"
PERM_BOTH = "PERM-BOTH (Deutsch et al. 2021), {n} permutations, seed {seed}"
METRIC_P = "metric p-values: paired approximate randomization of segment statistics ({n} swaps)"
NORMAL_P = "human p-values: normal approximation from the z means (unit variance) and N judgments"
PERM_P = "human p-values: paired permutation of the segment scores ({n} permutations)"
TOO_MANY_PAIRS = "too many pairs to calibrate ties ({n}); see grouping item"
NO_SPA = "no SPA: a system,score file has no judgments to test the human ranking with"


# ------------------------------------------------------------------------------------- system-level pieces


def rowwise_correlations(x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """Pearson, Spearman and Kendall tau-b of every row of ``x`` with the same row of ``y`` (both resamples x
    systems), by their definitions (scipy's, up to rounding: the tests compare); NaN for a constant row."""
    from scipy import stats as sstats  # here: importing scipy.stats costs ~1 s per command

    def pearson(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        a = a - a.mean(axis=1, keepdims=True)
        b = b - b.mean(axis=1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            r = (a * b).sum(axis=1) / np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
        return np.clip(r, -1.0, 1.0)

    i, j = np.triu_indices(x.shape[1], k=1)
    sx, sy = np.sign(x[:, i] - x[:, j]), np.sign(y[:, i] - y[:, j])
    with np.errstate(divide="ignore", invalid="ignore"):
        tau = (sx * sy).sum(axis=1) / np.sqrt(np.count_nonzero(sx, axis=1) * np.count_nonzero(sy, axis=1))
    return {
        "pearson": pearson(x, y),
        "spearman": pearson(sstats.rankdata(x, axis=1), sstats.rankdata(y, axis=1)),
        "kendall": np.clip(tau, -1.0, 1.0),
    }


def joint_intervals(resampled: np.ndarray, human: np.ndarray, seed: int) -> dict[str, tuple[float, float]]:
    """95% intervals of the system-level correlations, resampling systems and segments jointly: row b of
    ``resampled`` (resamples x systems: the metric's oriented corpus scores on segment resample b) is taken at a
    draw of the systems with replacement (generator seeded by (seed, 1)), with the same systems' human scores.
    A resample whose systems or scores are all equal has no correlation and is left out."""
    n_samples, n_systems = resampled.shape
    draws = np.random.default_rng([seed, 1]).choice(n_systems, size=(n_samples, n_systems), replace=True)
    x = np.take_along_axis(resampled, draws, axis=1)
    y = np.asarray(human, dtype=np.float64)[draws]
    out = {}
    for name, values in rowwise_correlations(x, y).items():
        values = values[~np.isnan(values)]
        low, high = percentiles(values) if len(values) else (NAN, NAN)
        out[name] = (float(low), float(high))
    return out


def metric_pvalues(
    scorer, stats: Sequence[Sequence], sign: float, n_samples: int, seed: int, workers: int = 1
) -> np.ndarray:
    """Systems x systems one-sided p-values that the metric scores system i better than system j: a paired
    approximate randomization (each segment's statistics swapped between the two systems with probability 1/2,
    the corpus scores recomputed), p = #{swapped difference >= observed} / n_samples (as mt-metrics-eval's
    pairwise p-values for SPA count them). The draws and swaps of `significance.pairwise_pvalues`' AR test; the
    pairs in a process pool as there (``workers``) when the metric scores resamples in Python."""
    n = len(stats[0])
    pos, _ = _ar_draws(seed, n, n_samples, -1)
    swaps = _Swaps(pos, {k: np.asarray(s) for k, s in enumerate(stats)})
    scores = [sign * float(scorer.corpus_score(s)) for s in stats]
    pairs = [(a, b) for a in range(len(stats)) for b in range(a + 1, len(stats))]
    tasks = [(scorer, sign, *swaps.pair(a, b)) for a, b in pairs]
    deltas = map_tasks(_swapped_difference, tasks, workers, python_rows(scorer, 2 * n_samples * len(tasks)))
    p = np.full((len(stats), len(stats)), NAN)
    for (a, b), delta in zip(pairs, deltas, strict=True):
        observed = scores[a] - scores[b]
        p[a, b] = np.count_nonzero(delta >= observed) / n_samples
        p[b, a] = np.count_nonzero(delta <= observed) / n_samples
    return p


def _swapped_difference(scorer, sign: float, shuf_a: np.ndarray, shuf_b: np.ndarray) -> np.ndarray:
    """The oriented score difference of two swapped pseudo-systems on every swap (a task of the process pool)."""
    return sign * (np.asarray(scorer.resample_scores(shuf_a), np.float64) - scorer.resample_scores(shuf_b))


def normal_pvalues(z: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Systems x systems one-sided p-values that system i's mean z score is above system j's, by the normal
    approximation (unit-variance judgments): 1 - Phi((z_i - z_j) / sqrt(1/N_i + 1/N_j))."""
    from scipy import stats as sstats

    se = np.sqrt(1.0 / counts[:, None] + 1.0 / counts[None, :])
    p = sstats.norm.sf((z[:, None] - z[None, :]) / se)
    np.fill_diagonal(p, NAN)
    return p


def system_statistic(name: str):
    """The system-level statistic PERM-BOTH recomputes for every permutation (of the per-system scores): Pearson,
    Kendall tau-b, or pairwise accuracy (acc_eq with epsilon 0: a tie agrees only when both tie)."""
    if name == "accuracy":
        return meta.CorrelationStatistic("acc_eq", "none", level="system", epsilon=0.0)
    return meta.CorrelationStatistic("kendall_b" if name == "kendall" else name, "none", level="system")


def segment_statistic(name: str, grouping: str):
    """A segment-level statistic for PERM-BOTH (systems x segments)."""
    return meta.CorrelationStatistic(name, grouping, level="segment")


# ----------------------------------------------------------------------------------------------- rows


def _row(dataset: str, level: str, grouping: str, statistic: str, metric: str, value: float, **extra: Any) -> dict:
    row = dict.fromkeys(META_COLUMNS)
    row.update(dataset=dataset, level=level, grouping=grouping, section="metric", statistic=statistic)
    row.update(metric=metric, value=float(value), **extra)
    return row


def compared(
    rows: list[dict],
    labels: list[str],
    matrices: Mapping[str, np.ndarray],
    human: np.ndarray,
    statistic: Callable[[np.ndarray, np.ndarray], float],
    key: tuple[str, str, str],
    n_samples: int,
    seed: int,
    alpha: float,
) -> list[dict]:
    """PERM-BOTH p-values of every ordered pair of metrics for one statistic (rows of section `pair`), and the
    rank and cluster of each metric on its `metric` row of that statistic (``key``: level, grouping, statistic)."""
    level, grouping, name = key
    mine = {r["metric"]: r for r in rows if (r["level"], r["grouping"], r["statistic"]) == key}
    values = np.array([mine[label]["value"] for label in labels], dtype=np.float64)
    p = np.full((len(labels), len(labels)), NAN)
    for a, first in enumerate(labels):
        for b in range(a + 1, len(labels)):
            both = meta.perm_both_pair(matrices[first], matrices[labels[b]], human, statistic, n_samples, seed)
            p[a, b], p[b, a] = both
    pairs = []
    for a, first in enumerate(labels):
        for b, second in enumerate(labels):
            if a == b:
                continue
            pairs.append(
                {
                    **mine[first],
                    "section": "pair",
                    "metric_b": second,
                    "value": float(p[a, b]),
                    "ci_low": None,
                    "ci_high": None,
                    "method": PERM_BOTH.format(n=n_samples, seed=seed),
                }
            )
    if np.isfinite(values).all():
        clusters = meta.metric_clusters(labels, values, p, alpha)
        for k, label in enumerate(labels):
            mine[label]["rank"] = 1 + int(np.count_nonzero(values > values[k]))
            mine[label]["cluster"] = int(clusters[k])
    return pairs


def _judged(dataset, cells: Mapping[CellId, Cell]) -> dict[str, CellId]:
    by_name = cells_by_system(dataset, cells)
    return {name: cell_id for name, cell_id in by_name.items() if name in dataset.human.systems}


def system_rows(
    dataset,
    names: list[str],
    found: Mapping[str, Mapping[str, MetricResult]],
    metrics: Sequence[Metric],
    statistics,
    workers: int,
    advance: Callable[[int], None],
    resampled: Mapping[str, Mapping[str, np.ndarray]] | None = None,
) -> tuple[list[dict], dict[str, np.ndarray], np.ndarray]:
    """The system-level `metric` rows of one dataset; also each metric's oriented corpus scores (for PERM-BOTH)
    and the human scores, both in the order of ``names``. ``resampled``: the systems' resample scores per metric
    (`agreement.human_resamples`, the ones agreement.csv's intervals use), if computed."""
    human = dataset.human
    y = np.array([human.systems[name] for name in names], dtype=np.float64)
    n = len(found[metrics[0].label][names[0]].stats)
    p_samples = statistics.n_samples or P_SAMPLES
    human_p, spa_method = human_pvalues(human, names, p_samples, statistics.seed)
    common = {"n_systems": len(names), "n_items": n, "human": human.kind}
    rows, corpus = [], {}
    for metric in metrics:
        scorer = metric.scorer(dataset.target_lang, len(dataset.references))
        sign = 1.0 if scorer.higher_is_better else -1.0
        results = found[metric.label]
        x = np.array([sign * results[name].score for name in names], dtype=np.float64)
        corpus[metric.label] = x
        ci: dict[str, tuple[float, float]] = {}
        if statistics.bootstrap and len(names) >= 3:
            known = (resampled or {}).get(metric.label)
            if known is None or any(k not in known for k in names):
                idxs = indices(statistics.seed, n, statistics.bootstrap)
                known = resampled_scores(scorer, {k: results[k].stats for k in names}, idxs, workers)
            matrix = sign * np.column_stack([np.asarray(known[k], dtype=np.float64) for k in names])
            ci = joint_intervals(matrix, y, statistics.seed)
        point = correlations(x, y)
        for name in SYSTEM_CORRELATIONS:
            low, high = ci.get(name, (None, None))
            extra = {"ci_low": low, "ci_high": high, "method": JOINT_CI if ci else None}
            rows.append(_row(dataset.name, "system", "none", name, metric.label, point[name], **common, **extra))
        naive = meta.pairwise_accuracy(x, y, ties="naive")
        rows.append(_row(dataset.name, "system", "none", "accuracy", metric.label, naive, **common, method=NAIVE))
        acc = meta.pairwise_accuracy(x, y, ties="acc_eq")
        rows.append(_row(dataset.name, "system", "none", "acc_eq", metric.label, acc, **common, method=ACC_EQ))
        spa = NAN
        method = spa_method
        if human_p is not None:
            all_stats = [results[k].stats for k in names]
            metric_p = metric_pvalues(scorer, all_stats, sign, p_samples, statistics.seed, workers)
            spa = meta.soft_pairwise_accuracy(metric_p, human_p)
            method = f"{METRIC_P.format(n=p_samples)}; {spa_method}"
        rows.append(_row(dataset.name, "system", "none", "spa", metric.label, spa, **common, method=method))
        advance(1)
    return rows, corpus, y


def human_pvalues(human, names: list[str], n_samples: int, seed: int) -> tuple[np.ndarray | None, str]:
    """The humans' systems x systems one-sided p-values for SPA, and how they were computed."""
    if human.segments is not None and all(name in human.segments for name in names):
        matrix = segment_matrix(human.segments, names)
        return meta.pairwise_pvalues(matrix, n_samples, seed), PERM_P.format(n=n_samples)
    if human.z is not None and human.counts is not None:
        z = np.array([human.z[name] for name in names], dtype=np.float64)
        counts = np.array([human.counts[name] for name in names], dtype=np.float64)
        return normal_pvalues(z, counts), NORMAL_P
    return None, NO_SPA


def segment_matrix(segments: Mapping[str, Mapping[int, float]], names: list[str], n: int | None = None) -> np.ndarray:
    """Systems x segments, NaN where a system has no score for a segment."""
    n = n if n is not None else 1 + max(i for name in names for i in segments[name])
    out = np.full((len(names), n), NAN)
    for k, name in enumerate(names):
        for i, value in segments[name].items():
            if i < n:
                out[k, i] = value
    return out


def sentence_matrix(metric: Metric, dataset, results: Mapping[str, MetricResult], names: list[str]) -> np.ndarray:
    """Systems x segments of the metric's sentence scores, oriented (higher is better)."""
    sent = metric.sentence_scorer(dataset.target_lang, len(dataset.references))
    sign = 1.0 if metric.scorer(dataset.target_lang, len(dataset.references)).higher_is_better else -1.0
    rows = []
    for name in names:
        scores = results[name].sentence_scores
        if scores is None:
            scores = [float(sent.score_from_stats(s)) for s in results[name].stats]
        rows.append(sign * np.asarray(scores, dtype=np.float64))
    return np.vstack(rows)


def segment_rows(
    dataset, names: list[str], found: Mapping[str, Mapping[str, MetricResult]], metrics: Sequence[Metric]
) -> tuple[list[dict], dict[str, np.ndarray], np.ndarray]:
    """The segment-level `metric` rows; also each metric's and the humans' systems x segments matrices."""
    n = len(found[metrics[0].label][names[0]].stats)
    human = segment_matrix(dataset.human.segments, names, n)
    items = int(np.count_nonzero(np.isfinite(human).any(axis=0)))
    common = {"n_systems": len(names), "n_items": items, "human": dataset.human.segment_kind}
    rows, matrices = [], {}
    for metric in metrics:
        matrix = sentence_matrix(metric, dataset, found[metric.label], names)
        matrices[metric.label] = matrix
        for grouping in SEGMENT_GROUPINGS:
            for name in SEGMENT_STATISTICS:
                try:
                    value = meta.segment_correlation(matrix, human, name, grouping)
                    method = ACC_EQ if name == "acc_eq" else None
                except meta.TooManyPairs as err:  # all system-segment pairs of a WMT test set: the row says so
                    value, method = NAN, TOO_MANY_PAIRS.format(n=err.pairs)
                rows.append(_row(dataset.name, "segment", grouping, name, metric.label, value, **common, method=method))
    return rows, matrices, human


def dataset_meta(
    dataset,
    cells: Mapping[CellId, Cell],
    results: Mapping[tuple[CellId, str], MetricResult],
    metrics: Sequence[Metric],
    statistics,
    workers: int = 1,
    advance: Callable[[int], None] = lambda units: None,
    resampled: Mapping[str, Mapping[str, np.ndarray]] | None = None,
) -> list[dict]:
    """The meta.csv rows of one dataset of a run (none without human scores). ``resampled``: per metric, the
    systems' resample scores (`agreement.human_resamples`), if already computed."""
    if dataset.human is None or not metrics:
        return []
    judged = _judged(dataset, cells)
    names = list(judged)
    if len(names) < 2:
        advance(len(metrics))
        return []
    found = {m.label: {name: results[(cell_id, m.label)] for name, cell_id in judged.items()} for m in metrics}
    labels = [m.label for m in metrics]
    n_p = statistics.n_samples or P_SAMPLES
    seed, alpha = statistics.seed, statistics.alpha
    rows, corpus, y = system_rows(dataset, names, found, metrics, statistics, workers, advance, resampled)
    pairs: list[dict] = []
    if len(labels) > 1:
        for name in SYSTEM_TESTED:
            key = ("system", "none", name)
            pairs += compared(rows, labels, corpus, y, system_statistic(name), key, n_p, seed, alpha)
    if dataset.human.segments is not None:
        seg_names = [name for name in names if name in dataset.human.segments]
        if len(seg_names) >= 2:
            more, matrices, human = segment_rows(dataset, seg_names, found, metrics)
            rows += more
            if len(labels) > 1:
                for name, grouping in SEGMENT_TESTED:
                    key = ("segment", grouping, name)
                    statistic = segment_statistic(name, grouping)
                    pairs += compared(rows, labels, matrices, human, statistic, key, n_p, seed, alpha)
    return rows + pairs


def meta_frame(records: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(records, columns=META_COLUMNS)
    for column in ("rank", "cluster", "n_systems", "n_items"):
        frame[column] = frame[column].astype("Int64")
    for column in ("value", "ci_low", "ci_high"):
        frame[column] = frame[column].astype("float64")
    return frame


__all__ = [
    "META_COLUMNS",
    "dataset_meta",
    "joint_intervals",
    "meta_frame",
    "metric_pvalues",
    "normal_pvalues",
    "rowwise_correlations",
]
