"""Meta-evaluation statistics of mt-metrics-eval and the WMT metrics tasks: how well a metric agrees with human
judgments, and whether one metric agrees significantly better than another.

Pure numpy (scipy only where named; sacrebleu's percentile rule from `resampling`), no I/O, no config. Score
arrays are float, ``NaN`` = missing, and oriented (higher is better: negate TER first). Segment-level arrays are
``systems x items``.

- :func:`segment_correlation`: Pearson, Kendall tau-b / tau-c (scipy's definitions), tau_eq and acc_eq (Deutsch
  et al. 2023, "Ties Matter", arXiv:2305.14324; mt-metrics-eval's ``KendallVariants`` '23' / 'acc23') with no
  grouping, grouped by item (the WMT23 "group by item") or by system, as mt-metrics-eval's ``AverageCorrelation``.
- :func:`acc_eq`: pairwise accuracy with tie calibration (Deutsch et al. 2023; mt-metrics-eval's
  ``tau_optimization`` / ``KendallWithTiesOpt``).
- :func:`pairwise_accuracy`: system-level pairwise accuracy (Kocmi et al. 2021; mt-metrics-eval's ``Agreement``),
  naive or tie-calibrated.
- :func:`pairwise_pvalues` and :func:`soft_pairwise_accuracy`: soft pairwise accuracy (SPA, Thompson et al. 2024,
  the WMT24 metrics task; mt-metrics-eval's ``pce.py``).
- :func:`perm_both`: the PERM-BOTH permutation test (Deutsch et al. 2021, arXiv:2104.00054; mt-metrics-eval's
  ``PermutationSigDiff``), vectorised over resamples; :func:`perm_both_pair` both directions from one test.
- :func:`metric_clusters`: significance clusters/ranks as in the WMT metrics task tables (mt-metrics-eval's
  ``AssignRanks``).
- :func:`boot_both`: a confidence interval resampling systems and items (BOOT-BOTH, Deutsch et al. 2021).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from evalharness.statistics.resampling import percentiles

STATISTICS = ("pearson", "kendall_b", "kendall_c", "kendall_wmt23", "acc_eq")
GROUPINGS = ("none", "item", "system")
# Kendall's tau of groups larger than this: scipy's O(n log n) kendalltau per group, not all n^2 / 2 pairs.
SCIPY_KENDALL_ABOVE = 256
# Tie calibration sorts every pair once: beyond this many pairs, group by item or system, or give epsilon.
MAX_CALIBRATION_PAIRS = 10_000_000
# Resamples drawn at once by perm_both (the draws do not depend on it: one stream of uniform doubles).
PERM_CHUNK = 64
NAN = float("nan")


# ------------------------------------------------------------------------------------------------- layout


def _matrix(values: np.ndarray, name: str) -> np.ndarray:
    """A float64 systems x items matrix; a 1-D array is one score per system (systems x 1)."""
    x = np.asarray(values, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise ValueError(f"{name}: need a 1-D or 2-D (systems x items) array, got shape {x.shape}")
    return x


def _pair(metric: np.ndarray, human: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    m, h = _matrix(metric, "metric"), _matrix(human, "human")
    if m.shape != h.shape:
        raise ValueError(f"metric and human scores differ in shape: {m.shape} and {h.shape}")
    return m, h


def _check(statistic: str, grouping: str) -> None:
    if statistic not in STATISTICS:
        raise ValueError(f"unknown statistic {statistic!r}, expected one of {', '.join(STATISTICS)}")
    if grouping not in GROUPINGS:
        raise ValueError(f"unknown grouping {grouping!r}, expected one of {', '.join(GROUPINGS)}")


def _groups(x: np.ndarray, grouping: str) -> np.ndarray:
    """(..., systems, items) -> (..., groups, members): one group of every cell ("none"), the systems of each
    item ("item", mt-metrics-eval's average_by='item'), or the items of each system ("system")."""
    if grouping == "none":
        return x.reshape(*x.shape[:-2], 1, x.shape[-2] * x.shape[-1])
    if grouping == "item":
        return np.swapaxes(x, -1, -2)
    return x


def _average(per_group: np.ndarray) -> np.ndarray:
    """Mean over groups (last axis) of the defined values, as mt-metrics-eval's AverageCorrelation (macro, NaNs
    removed); NaN where no group has a value (mt-metrics-eval returns 0 there)."""
    defined = ~np.isnan(per_group)
    count = defined.sum(axis=-1)
    total = np.where(defined, per_group, 0.0).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), NAN)


# ------------------------------------------------------------------------------------------------ pearson


def _pearson(m: np.ndarray, h: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Pearson's r per group: m (r, G, n), h and valid (G, n) -> (r, G). scipy.stats.pearsonr's value (up to the
    last bits); NaN for fewer than 2 pairs or constant input, as scipy."""
    w = valid.astype(np.float64)
    count = w.sum(axis=-1)
    mz = np.where(valid, m, 0.0)
    hz = np.where(valid, h, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        dm = (mz - (mz.sum(axis=-1) / count)[..., None]) * w
        dh = (hz - (hz.sum(axis=-1) / count)[..., None]) * w
        r = (dm * dh).sum(axis=-1) / np.sqrt((dm * dm).sum(axis=-1) * (dh * dh).sum(axis=-1))
    big = np.finfo(np.float64).max
    constant_m = np.where(valid, m, -big).max(axis=-1) == np.where(valid, m, big).min(axis=-1)
    constant_h = np.where(valid, h, -big).max(axis=-1) == np.where(valid, h, big).min(axis=-1)
    undefined = constant_m | constant_h | (count < 2)
    return np.where(undefined, NAN, np.clip(r, -1.0, 1.0))


# ------------------------------------------------------------------------------------------ pairs and ties


def _pair_counts(
    m: np.ndarray, h: np.ndarray, valid: np.ndarray, epsilon: float, agreement: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per group, over the pairs of members that both have scores: concordant minus discordant pairs, pairs
    untied in the metric, pairs untied in the humans, pairs that agree (tied in both, or ordered the same way;
    only with ``agreement``) and the number of pairs. A metric tie is |difference| <= epsilon, a human tie an
    exact one (mt-metrics-eval's _MatrixSufficientStatistics). m (r, G, n); h, valid (G, n) -> five (r, G)
    arrays. The pairs (a, b > a) are visited one member a at a time: contiguous slices, no pair index arrays."""
    r, g, n = m.shape
    complete = bool(valid.all())
    mf = m if complete else np.where(valid, m, 0.0)
    hf = h if complete else np.where(valid, h, 0.0)
    con_dis = np.zeros((r, g))
    untied_m = np.zeros((r, g), dtype=np.int64)
    agree = np.zeros((r, g), dtype=np.int64)
    untied_h = np.zeros(g, dtype=np.int64)
    pairs = np.zeros(g, dtype=np.int64)
    for a in range(n - 1):
        dm = mf[..., a + 1 :] - mf[..., a : a + 1]
        sm = np.sign(dm)
        sh = np.sign(hf[:, a + 1 :] - hf[:, a : a + 1])
        if epsilon > 0:
            sm *= np.abs(dm) > epsilon
        if complete:
            unscored = 0
            pairs += n - 1 - a
        else:
            ok = valid[:, a + 1 :] & valid[:, a : a + 1]
            sm *= ok
            sh *= ok
            unscored = (~ok).sum(axis=-1)
            pairs += ok.sum(axis=-1)
        con_dis += np.einsum("rgp,gp->rg", sm, sh)
        untied_m += np.count_nonzero(sm, axis=-1)
        untied_h += np.count_nonzero(sh, axis=-1)
        if agreement:  # unscored pairs are 0 in both: equal, and not pairs
            agree += (sm == sh).sum(axis=-1) - unscored
    return con_dis, untied_m, np.broadcast_to(untied_h, (r, g)), agree, np.broadcast_to(pairs, (r, g))


def _distinct(x: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Number of distinct scored values per group (last axis)."""
    ordered = np.sort(np.where(valid, x, np.inf), axis=-1)
    count = valid.sum(axis=-1)
    changes = (np.diff(ordered, axis=-1) != 0) & (np.arange(x.shape[-1] - 1) < (count - 1)[..., None])
    return np.where(count > 0, 1 + changes.sum(axis=-1), 0)


def _kendall(m: np.ndarray, h: np.ndarray, valid: np.ndarray, variant: str) -> np.ndarray:
    """scipy.stats.kendalltau (variant 'b' or 'c') per group, from the signs of all pairs: (r, G)."""
    con_dis, untied_m, untied_h, _, pairs = _pair_counts(m, h, valid, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        if variant == "b":
            tau = con_dis / np.sqrt(untied_m) / np.sqrt(untied_h)
        else:
            size = valid.sum(axis=-1).astype(np.float64)
            classes = np.minimum(_distinct(m, valid), _distinct(h, valid)).astype(np.float64)
            tau = 2 * con_dis / (size**2 * (classes - 1) / classes)
    undefined = (untied_m == 0) | (untied_h == 0) | (pairs == 0)
    return np.where(undefined, NAN, np.clip(tau, -1.0, 1.0))


def _kendall_scipy(m: np.ndarray, h: np.ndarray, valid: np.ndarray, variant: str) -> np.ndarray:
    """The same as :func:`_kendall` with scipy's O(n log n) kendalltau, group by group: for large groups."""
    from scipy import stats as sstats  # here: importing scipy.stats costs ~1 s per command

    out = np.full(m.shape[:2], NAN)
    for k in range(m.shape[0]):
        for g in range(m.shape[1]):
            ok = valid[g]
            if ok.sum() >= 2:
                out[k, g] = sstats.kendalltau(m[k, g, ok], h[g, ok], variant=variant).statistic
    return out


def _accuracy(m: np.ndarray, h: np.ndarray, valid: np.ndarray, epsilon: float) -> np.ndarray:
    """acc_eq per group at a fixed tie threshold (Deutsch et al. 2023; mt-metrics-eval's KendallVariants
    variant 'acc23'): the share of pairs that agree, (r, G); NaN for groups without a pair."""
    _, _, _, agree, pairs = _pair_counts(m, h, valid, epsilon, agreement=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(pairs > 0, agree / pairs, NAN)


@dataclass(frozen=True)
class _HumanPairs:
    """The pairs (a < b) of each group's members that both have scores, and what depends on the human scores
    only: computed once for every resample of a calibration. Arrays over the pairs are laid out pair-major
    (pairs x groups), flattened to the scored ones."""

    first: np.ndarray  # member a of every pair
    second: np.ndarray  # member b
    scored: np.ndarray | None  # (pairs, groups) mask, None when every pair is scored
    human_sign: np.ndarray
    group: np.ndarray
    per_group: np.ndarray


class TooManyPairs(ValueError):
    """Tie calibration over more than MAX_CALIBRATION_PAIRS pairs: refused (a caller may report it and go on)."""

    def __init__(self, pairs: int) -> None:
        super().__init__(
            f"acc_eq: tie calibration over {pairs} pairs is too large; group by item or system, or give epsilon"
        )
        self.pairs = pairs


def _human_pairs(h: np.ndarray, valid: np.ndarray) -> _HumanPairs:
    """The pairs of :func:`_calibrate`. One group (grouping none, every system-item cell): only the scored
    members are paired, so the limit counts the pairs that are calibrated over. Several groups: the pairs of
    every group are laid out, then the unscored ones masked, so the limit counts those arrays' length."""
    n_groups, n = h.shape
    members = np.flatnonzero(valid[0]) if n_groups == 1 else np.arange(n)
    n_pairs = n_groups * len(members) * (len(members) - 1) // 2
    if n_pairs > MAX_CALIBRATION_PAIRS:
        raise TooManyPairs(n_pairs)
    if n_groups == 1:  # the same pairs, in the same order, as the mask below would keep
        i, j = np.triu_indices(len(members), 1)
        first, second = members[i], members[j]
        human_sign = np.sign(h[0, first] - h[0, second])
        return _HumanPairs(first, second, None, human_sign, np.zeros(len(first), dtype=np.int64), np.array([len(i)]))
    i, j = np.triu_indices(n, 1)
    ht, vt = h.T, valid.T
    scored = vt[i] & vt[j]
    human_sign = np.sign(ht[i] - ht[j])
    group = np.broadcast_to(np.arange(n_groups), scored.shape)
    if scored.all():
        return _HumanPairs(i, j, None, human_sign.ravel(), group.ravel(), np.full(n_groups, len(i)))
    group = group[scored]
    return _HumanPairs(i, j, scored, human_sign[scored], group, np.bincount(group, minlength=n_groups))


def _calibrate(m: np.ndarray, pairs: _HumanPairs) -> tuple[float, float]:
    """Tie calibration (Deutsch et al. 2023, mt-metrics-eval's tau_optimization with sample_rate 1): the
    threshold epsilon among 0 and every |metric difference| of a pair that maximises the group-averaged acc_eq
    (the smallest such epsilon), and that accuracy. m (G, n); the pairs of :func:`_human_pairs`."""
    mt = m.T
    dm = mt[pairs.first] - mt[pairs.second]
    dm = dm.ravel() if pairs.scored is None else dm[pairs.scored]
    dist, sm = np.abs(dm), np.sign(dm)
    sh, group, per_group = pairs.human_sign, pairs.group, pairs.per_group
    n_groups = len(per_group)
    used = per_group > 0
    if not used.any():
        return NAN, 0.0
    # At epsilon = 0 a pair agrees when the signs are equal; tying a pair (epsilon >= its distance) makes it
    # agree if the humans tie it, and disagree if it was ordered as the humans order it.
    base = np.bincount(group, weights=(sm == sh), minlength=n_groups)
    gains = (sh == 0) & (dist > 0)
    losses = (sh != 0) & (sm == sh) & (dist > 0)
    if np.all(per_group[used] == per_group[used][0]):
        # Equal weights: exact integer counts. The accuracy only rises where a human-tied pair gets tied, so the
        # smallest best threshold is 0 or the distance of such a pair; two sorts instead of one sort of all pairs.
        total = per_group[used][0] * used.sum()
        rises = np.sort(dist[gains])
        falls = np.sort(dist[losses])
        agreeing = base.sum() + np.searchsorted(rises, rises, "right") - np.searchsorted(falls, rises, "right")
        thresholds = np.r_[0.0, rises]
        accuracies = np.r_[base.sum(), agreeing] / total
    else:
        change = gains.astype(np.float64) - losses
        order = np.argsort(dist, kind="stable")
        dist, change, group = dist[order], change[order], group[order]
        weight = 1.0 / (np.where(used, per_group, 1) * used.sum())
        start = float((base * weight).sum())
        steps = start + np.cumsum(change * weight[group])
        # The accuracy at each candidate threshold: after the last pair at that distance has been tied.
        last = np.r_[dist[1:] != dist[:-1], True] & (dist > 0)
        thresholds = np.r_[0.0, dist[last]]
        accuracies = np.r_[start, steps[last]]
    best = int(np.argmax(accuracies))
    return float(accuracies[best]), float(thresholds[best])


# -------------------------------------------------------------------------------------- grouped statistics


def _per_group(m: np.ndarray, h: np.ndarray, valid: np.ndarray, statistic: str, epsilon: float) -> np.ndarray:
    """The statistic in every group of every resample: m (r, G, n), h and valid (G, n) -> (r, G)."""
    if statistic == "pearson":
        return _pearson(m, h, valid)
    if statistic in ("kendall_b", "kendall_c"):
        variant = statistic[-1]
        if m.shape[-1] > SCIPY_KENDALL_ABOVE:
            return _kendall_scipy(m, h, valid, variant)
        return _kendall(m, h, valid, variant)
    accuracy = _accuracy(m, h, valid, epsilon)
    return accuracy if statistic == "acc_eq" else 2 * accuracy - 1


def _grouped(m: np.ndarray, h: np.ndarray, statistic: str, grouping: str, epsilon: float | None) -> np.ndarray:
    """The averaged statistic of each resample: m (r, systems, items), h (systems, items) -> (r,). Cells with a
    NaN in either are left out. epsilon None: acc_eq and tau_eq calibrate their tie threshold per resample."""
    gm, gh = _groups(m, grouping), _groups(h, grouping)
    valid = ~np.isnan(gh) & ~np.isnan(gm).any(axis=0)
    if statistic in ("acc_eq", "kendall_wmt23") and epsilon is None:
        pairs = _human_pairs(gh, valid)
        accuracies = np.array([_calibrate(gm[k], pairs)[0] for k in range(len(gm))])
        return accuracies if statistic == "acc_eq" else 2 * accuracies - 1
    return _average(_per_group(gm, gh, valid, statistic, 0.0 if epsilon is None else epsilon))


def segment_correlation(
    metric: np.ndarray, human: np.ndarray, statistic: str, grouping: str, epsilon: float | None = None
) -> float:
    """One meta-evaluation statistic of segment-level scores (systems x items; NaN pairs dropped):

    - "pearson": scipy.stats.pearsonr; "kendall_b", "kendall_c": scipy.stats.kendalltau(variant='b'|'c');
    - "kendall_wmt23": tau_eq of Deutsch et al. 2023 (mt-metrics-eval's KendallVariants variant '23':
      (concordant + tied in both - discordant - tied in one) / pairs), "acc_eq": acc_eq of the same paper
      ('acc23': (concordant + tied in both) / pairs); a metric tie is |difference| <= epsilon, and epsilon None
      calibrates it (:func:`acc_eq`), as the paper and WMT23 do.

    grouping "none" correlates all system-item pairs at once, "item" correlates the systems within each item and
    averages over items (the WMT23 "group by item"), "system" the items within each system; groups where the
    statistic is undefined (fewer than 2 pairs, constant scores) are left out of the average, as in
    mt-metrics-eval. NaN when no group has a value."""
    _check(statistic, grouping)
    m, h = _pair(metric, human)
    return float(_grouped(m[None], h, statistic, grouping, epsilon)[0])


def acc_eq(
    metric: np.ndarray, human: np.ndarray, grouping: str = "none", epsilon: float | None = None
) -> tuple[float, float]:
    """Pairwise accuracy with tie calibration (acc_eq, Deutsch et al. 2023, "Ties Matter"): a pair agrees when
    the metric and the humans order it the same way, or both tie it (a metric tie: |difference| <= epsilon).
    Averaged over groups as :func:`segment_correlation`. epsilon None calibrates: the smallest threshold among 0
    and the metric differences of all pairs that maximises the accuracy (mt-metrics-eval's tau_optimization,
    every pair). Returns (accuracy, epsilon used). 1-D arrays are one score per system."""
    _check("acc_eq", grouping)
    m, h = _pair(metric, human)
    gm, gh = _groups(m, grouping), _groups(h, grouping)
    valid = ~np.isnan(gm) & ~np.isnan(gh)
    if epsilon is None:
        return _calibrate(gm, _human_pairs(gh, valid))
    if epsilon < 0:
        raise ValueError(f"acc_eq: epsilon must be >= 0, got {epsilon}")
    return float(_average(_accuracy(gm[None], gh, valid, epsilon))[0]), float(epsilon)


def pairwise_accuracy(metric: np.ndarray, human: np.ndarray, ties: str = "naive") -> float:
    """System-level pairwise accuracy (Kocmi et al. 2021), over all pairs of systems with both scores:
    "naive" is mt-metrics-eval's ``Agreement``: a pair agrees when sign(metric difference) equals sign(human
    difference), a tie counting only when both tie (with no human ties, as for DA scores, this equals
    statistics.agreement.pairwise_accuracy); "acc_eq" calibrates a metric tie threshold first (:func:`acc_eq`)."""
    x, y = np.asarray(metric, dtype=np.float64), np.asarray(human, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"pairwise_accuracy: need two 1-D arrays of equal length, got {x.shape} and {y.shape}")
    if ties not in ("naive", "acc_eq"):
        raise ValueError(f"pairwise_accuracy: ties must be 'naive' or 'acc_eq', got {ties!r}")
    return acc_eq(x, y, "none", 0.0 if ties == "naive" else None)[0]


# ------------------------------------------------------------------------------------------------------ SPA


def pairwise_pvalues(scores: np.ndarray, resamples: int = 1000, seed: int = 4) -> np.ndarray:
    """One-sided p-values of a paired permutation test between every two systems (Thompson et al. 2024; the
    computation of mt-metrics-eval's pce.compute_pairwise_p_values, its random draws included for the same
    seed): systems x items segment scores -> systems x systems, [i, j] = the share of permutations (each item's
    two scores swapped with probability 1/2) whose difference in summed scores i - j is at least the observed
    one: small when i is significantly better. Both triangles are filled; the diagonal is NaN. Items where
    either system has no score (NaN) are left out of that pair (NaN for a pair without a common item)."""
    x = np.asarray(scores, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"pairwise_pvalues: need a systems x items matrix, got shape {x.shape}")
    n_sys, n_items = x.shape
    rng = np.random.default_rng(seed)
    signs = rng.random(size=(resamples, n_items), dtype=np.float32)
    np.rint(signs, out=signs, casting="same_kind")
    signs *= 2.0
    signs -= 1.0
    p = np.full((n_sys, n_sys), NAN)
    if not np.isnan(x).any():  # mt-metrics-eval's arithmetic, in float32
        seg = x.astype(np.float32)
        totals = seg.sum(axis=1)
        partial = signs @ seg.T
        for a in range(n_sys):
            for b in range(a + 1, n_sys):
                null, observed = partial[:, a] - partial[:, b], totals[a] - totals[b]
                p[a, b] = np.sum(null >= observed) / resamples
                p[b, a] = np.sum(-null >= -observed) / resamples
        return p
    for a in range(n_sys):
        for b in range(a + 1, n_sys):
            both = ~np.isnan(x[a]) & ~np.isnan(x[b])
            if not both.any():
                continue  # no item in common: no p-value
            diff = (x[a] - x[b])[both].astype(np.float32)
            null, observed = signs[:, both] @ diff, diff.sum()
            p[a, b] = np.sum(null >= observed) / resamples
            p[b, a] = np.sum(-null >= -observed) / resamples
    return p


def soft_pairwise_accuracy(metric_p: np.ndarray, human_p: np.ndarray) -> float:
    """Soft pairwise accuracy (SPA, Thompson et al. 2024, the WMT24 metrics task's system-level statistic;
    mt-metrics-eval's pce.compute_one_minus_pce): the mean over system pairs i < j of 1 - |p_h - p_m|, from two
    square matrices of one-sided pairwise p-values (:func:`pairwise_pvalues`, upper triangles used). Pairs
    with a NaN p-value are left out; NaN if none is left."""
    mp, hp = np.asarray(metric_p, dtype=np.float64), np.asarray(human_p, dtype=np.float64)
    if mp.ndim != 2 or mp.shape[0] != mp.shape[1] or mp.shape != hp.shape:
        raise ValueError(f"soft_pairwise_accuracy: need two equal square matrices, got {mp.shape} and {hp.shape}")
    upper = np.triu_indices(len(mp), 1)
    diff = np.abs(hp[upper] - mp[upper])
    diff = diff[~np.isnan(diff)]
    return float(1.0 - diff.mean()) if diff.size else NAN


@dataclass(frozen=True)
class SpaStatistic:
    """SPA as a :func:`perm_both` statistic, as mt-metrics-eval's CompareMetricsWithPairwiseConfidenceError
    compares metrics: the metric's pairwise p-values are recomputed from the (swapped) segment scores of each
    resample, the humans' are computed once (``human_p``: :func:`pairwise_pvalues` of the human segment scores,
    or any one-sided p-value matrix). Arrays systems x items; the human argument is not read."""

    human_p: np.ndarray
    permutations: int = 1000
    seed: int = 4

    def __call__(self, metric: np.ndarray, human: np.ndarray) -> float:
        return soft_pairwise_accuracy(pairwise_pvalues(metric, self.permutations, self.seed), self.human_p)


# -------------------------------------------------------------------------------------------- PERM-BOTH


@dataclass(frozen=True)
class CorrelationStatistic:
    """A statistic for :func:`perm_both` that it can evaluate for many resamples at once (``batch``).

    level "segment": :func:`segment_correlation` of the systems x items matrices; level "system": the same
    statistic ("pearson", "kendall_b", "kendall_c", "acc_eq", "kendall_wmt23"; grouping "none") of the
    per-system means over items (NaN cells left out)."""

    statistic: str
    grouping: str = "none"
    level: str = "segment"
    epsilon: float | None = None

    def __post_init__(self) -> None:
        _check(self.statistic, self.grouping)
        if self.level not in ("segment", "system"):
            raise ValueError(f"unknown level {self.level!r}, expected 'segment' or 'system'")
        if self.level == "system" and self.grouping != "none":
            raise ValueError(f"a system-level statistic takes grouping 'none', not {self.grouping!r}")

    def __call__(self, metric: np.ndarray, human: np.ndarray) -> float:
        m, h = _pair(metric, human)
        return float(self.batch(m[None], h)[0])

    def batch(self, metric: np.ndarray, human: np.ndarray) -> np.ndarray:
        """metric (resamples, systems, items), human (systems, items) -> one value per resample."""
        if self.level == "system":
            with warnings.catch_warnings():  # nanmean warns on a system without scores: NaN is the answer
                warnings.simplefilter("ignore", RuntimeWarning)
                metric = np.nanmean(metric, axis=-1)[..., None]
                human = np.nanmean(human, axis=-1)[:, None]
        return _grouped(metric, human, self.statistic, self.grouping, self.epsilon)


def _zscore(x: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """(x - mean) / std over the valid cells (scipy.stats.zscore, ddof 0), as mt-metrics-eval standardises both
    metrics before swapping; a constant metric is only centred."""
    mean = x[valid].mean()
    std = x[valid].std()
    return np.where(valid, (x - mean) / (std if std > 0 else 1.0), NAN)


def perm_both(
    metric_a: np.ndarray,
    metric_b: np.ndarray,
    human: np.ndarray,
    statistic: Callable[[np.ndarray, np.ndarray], float],
    resamples: int = 1000,
    seed: int = 12345,
) -> float:
    """p-value that metric_a agrees better with the humans than metric_b: the PERM-BOTH permutation test of
    Deutsch et al. 2021 as mt-metrics-eval's PermutationSigDiff runs it. Both metrics are z-scored over the
    cells that all three arrays score; each resample swaps a's and b's scores in every cell (system, item)
    independently with probability 1/2; p = the share of resamples whose statistic(a') - statistic(b') is at
    least the observed statistic(a) - statistic(b). Small p: a is significantly better.

    Arrays are systems x items (a 1-D array: one score per system, so the swaps are per system, as
    mt-metrics-eval's system-level test). ``statistic(metric, human) -> float`` gets 2-D arrays with NaN for
    cells left out; a :class:`CorrelationStatistic` is evaluated for many resamples at once. Seeded: the same
    inputs and seed give the same p. NaN if the statistic is undefined on the observed scores."""
    return perm_both_pair(metric_a, metric_b, human, statistic, resamples, seed)[0]


def perm_both_pair(
    metric_a: np.ndarray,
    metric_b: np.ndarray,
    human: np.ndarray,
    statistic: Callable[[np.ndarray, np.ndarray], float],
    resamples: int = 1000,
    seed: int = 12345,
) -> tuple[float, float]:
    """:func:`perm_both` in both directions from one set of draws: (p that a agrees better than b, p that b agrees
    better than a). perm_both(b, a) with the same seed draws the same swaps, so its resample differences are the
    negatives of perm_both(a, b)'s and its p is the share of those at most the observed difference: the second
    value is that p, float for float, at the cost of one test."""
    counts = _perm_counts(metric_a, metric_b, human, statistic, resamples, seed)
    if counts is None:
        return NAN, NAN
    return counts[0] / resamples, counts[1] / resamples


def _perm_counts(
    metric_a: np.ndarray,
    metric_b: np.ndarray,
    human: np.ndarray,
    statistic: Callable[[np.ndarray, np.ndarray], float],
    resamples: int,
    seed: int,
) -> tuple[int, int] | None:
    """The resamples of PERM-BOTH whose difference statistic(a') - statistic(b') is >= and <= the observed one;
    None where the observed difference is undefined."""
    a, h = _pair(metric_a, human)
    b, _ = _pair(metric_b, human)
    if resamples < 1:
        raise ValueError(f"perm_both: resamples must be >= 1, got {resamples}")
    valid = ~np.isnan(a) & ~np.isnan(b) & ~np.isnan(h)
    if not valid.any():
        return None
    za, zb = _zscore(a, valid), _zscore(b, valid)
    h = np.where(valid, h, NAN)
    batch = getattr(statistic, "batch", None)

    def evaluate(stack: np.ndarray) -> np.ndarray:
        if batch is not None:
            return np.asarray(batch(stack, h), dtype=np.float64)
        return np.array([statistic(s, h) for s in stack], dtype=np.float64)

    observed = evaluate(np.stack([za, zb]))
    delta = observed[0] - observed[1]
    if np.isnan(delta):
        return None
    rng = np.random.default_rng(seed)
    larger = smaller = 0
    for start in range(0, resamples, PERM_CHUNK):
        swap = rng.random((min(PERM_CHUNK, resamples - start), *a.shape)) < 0.5
        values = evaluate(np.concatenate([np.where(swap, zb, za), np.where(swap, za, zb)]))
        k = len(swap)
        differences = values[:k] - values[k:]
        larger += int(np.sum(differences >= delta))
        smaller += int(np.sum(differences <= delta))
    return larger, smaller


# ----------------------------------------------------------------------------------------------- clusters


def metric_clusters(names: Sequence[str], values: np.ndarray, pvalues: np.ndarray, alpha: float = 0.05) -> list[int]:
    """Significance clusters as in the WMT metrics task tables (mt-metrics-eval's AssignRanks): the metrics are
    ordered by decreasing value (name breaks ties, as mt-metrics-eval's CompareMetrics; NaN last); going down that
    order, a metric opens a new cluster (rank + 1) when some metric of the current cluster is significantly
    better than it: pvalues[better, it] <= alpha, where pvalues[i, j] is the p-value that metric i agrees better
    than metric j (:func:`perm_both`). Returns each metric's rank (1 = top cluster), in the order of names."""
    v = np.asarray(values, dtype=np.float64)
    p = np.asarray(pvalues, dtype=np.float64)
    n = len(names)
    if v.shape != (n,) or p.shape != (n, n):
        raise ValueError(f"metric_clusters: {n} names need {n} values and a {n}x{n} matrix, got {v.shape}, {p.shape}")
    order = sorted(range(n), key=lambda k: (np.isnan(v[k]), -v[k] if not np.isnan(v[k]) else 0.0, names[k]))
    ranks = [0] * n
    rank, start = 1, 0
    for pos, k in enumerate(order):
        if any(p[order[q], k] <= alpha for q in range(start, pos)):
            rank += 1
            start = pos
        ranks[k] = rank
    return ranks


# ------------------------------------------------------------------------------------------------ BOOT-BOTH


def boot_both(
    metric: np.ndarray,
    human: np.ndarray,
    statistic: Callable[[np.ndarray, np.ndarray], float],
    resamples: int = 1000,
    seed: int = 12345,
    resample: str = "both",
) -> tuple[float, float]:
    """95% confidence interval of statistic(metric, human) by the BOOT-BOTH bootstrap of Deutsch et al. 2021:
    each resample draws the systems with replacement and the items with replacement (resample "systems" or
    "items": only those) and evaluates the statistic on the drawn systems x items matrices. Resampling systems
    too is what keeps a system-level point estimate off its interval's bound when only the test set is resampled.
    Bounds by the project's percentile rule (sacrebleu's: sorted values at N // 40 and N - N // 40 - 1), over
    the resamples where the statistic is defined; (NaN, NaN) if none is. Seeded."""
    m, h = _pair(metric, human)
    if resample not in ("both", "systems", "items"):
        raise ValueError(f"boot_both: resample must be 'both', 'systems' or 'items', got {resample!r}")
    if resamples < 1:
        raise ValueError(f"boot_both: resamples must be >= 1, got {resamples}")
    n_sys, n_items = m.shape
    rng = np.random.default_rng(seed)
    values = np.empty(resamples)
    for k in range(resamples):
        rows = rng.integers(0, n_sys, n_sys) if resample != "items" else np.arange(n_sys)
        cols = rng.integers(0, n_items, n_items) if resample != "systems" else np.arange(n_items)
        values[k] = statistic(m[np.ix_(rows, cols)], h[np.ix_(rows, cols)])
    defined = values[~np.isnan(values)]
    if not defined.size:
        return NAN, NAN
    low, high = percentiles(defined)
    return float(low), float(high)
