"""Bootstrap CIs and paired tests from precomputed statistics are sacrebleu's, bit for bit, on WMT22 de-en."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
import sacrebleu
from evalharness.errors import UserError
from evalharness.metrics import make_metric
from evalharness.metrics.bleu import BleuConfig
from evalharness.metrics.chrf import ChrfConfig
from evalharness.metrics.scoring import score_systems
from evalharness.metrics.ter import TerConfig
from evalharness.statistics import resampling as R
from evalharness.statistics import significance as S
from evalharness.textio import read_lines
from sacrebleu.significance import PairedTest, Result, _bootstrap_resample, _paired_ar_test, _paired_bs_test

from conftest import sacrebleu_ter_remembered, wmt22_path

N = 300  # segments
SYSTEMS = ("JDExploreAcademy", "LT22", "Online-B", "PROMT")  # the first is the baseline
METRICS = {  # label: (our metric, a fresh sacrebleu metric)
    "BLEU": (make_metric(BleuConfig(name="bleu")), lambda: sacrebleu.BLEU()),
    "chrF2": (make_metric(ChrfConfig(name="chrf")), lambda: sacrebleu.CHRF()),
    "TER": (make_metric(TerConfig(name="ter")), lambda: sacrebleu.TER()),
}


def lines(*parts, n=N):
    return read_lines(wmt22_path(*parts))[:n]


@pytest.fixture(autouse=True)
def default_seed(monkeypatch):
    """sacrebleu reads its seed from SACREBLEU_SEED; its default, 12345, is ours."""
    monkeypatch.delenv("SACREBLEU_SEED", raising=False)


@pytest.fixture(scope="module", autouse=True)
def remembered_ter():
    """The CIs and the paired tests below give sacrebleu the same 1200 TER segments four times: computed once."""
    with sacrebleu_ter_remembered():
        yield


@pytest.fixture(scope="module")
def de_en():
    refs = [lines("references", "generaltest2022.de-en.ref.A.en")]
    systems = {name: lines("system-outputs", f"generaltest2022.de-en.hyp.{name}.en") for name in SYSTEMS}
    return refs, systems


@pytest.fixture(scope="module")
def stats(de_en):
    """{label: {system: per-segment statistics}}, computed once by evalharness."""
    refs, systems = de_en
    results = score_systems([m for m, _ in METRICS.values()], "en", refs, systems, workers=2)
    return {label: {name: results[(name, label)].stats for name in systems} for label in METRICS}


def same(ours, theirs) -> bool:
    """Equal values (sacrebleu's numpy scalars compared as Python floats), None with None."""
    if theirs is None or ours is None:
        return ours is None and theirs is None
    return ours == float(theirs)


# ------------------------------------------------------------------------------- bootstrap CI = corpus_score


@pytest.mark.parametrize("label", list(METRICS))
def test_bootstrap_ci_equals_corpus_score_n_bootstrap(de_en, stats, label):
    refs, systems = de_en
    metric, sacre = METRICS[label]
    for name, hyps in systems.items():
        theirs = sacre().corpus_score(hyps, refs, n_bootstrap=1000)
        ours = S.bootstrap(metric, "en", len(refs), stats[label][name], n_samples=1000)
        assert ours.score == theirs.score, name
        assert ours.mean == float(theirs._mean), name  # statistics.mean over the resampled scores
        assert ours.half_width == float(theirs._ci), name  # the "+-" sacrebleu prints
        assert ours.ci_low <= ours.mean <= ours.ci_high
        assert math.isclose(0.5 * (ours.ci_high - ours.ci_low), ours.half_width, rel_tol=1e-6)
        assert S.bootstrap_ci(metric, "en", len(refs), stats[label][name]) == (ours.mean, ours.ci_low, ours.ci_high)


@pytest.mark.parametrize("label", list(METRICS))
def test_resampled_scores_equal_sacrebleus_one_by_one(stats, label):
    """Not only the summary: every one of the 1000 resampled scores, and the array's dtype."""
    metric, sacre = METRICS[label]
    corpus = stats[label]["LT22"]
    _, theirs = _bootstrap_resample(corpus, sacre(), 1000)
    theirs = np.array([s.score for s in theirs])
    sums = R.bootstrap_sums(R.indices(S.SEED, len(corpus), 1000), [np.array(corpus, dtype="float32")])[0]
    ours = S.resample_scores(metric.build("en"), sums)
    assert ours.dtype == theirs.dtype
    np.testing.assert_array_equal(ours, theirs)


def test_seed_and_number_of_samples_are_sacrebleus(de_en, stats, monkeypatch):
    refs, systems = de_en
    metric, sacre = METRICS["chrF2"]
    monkeypatch.setenv("SACREBLEU_SEED", "7")
    theirs = sacre().corpus_score(systems["PROMT"], refs, n_bootstrap=200)
    ours = S.bootstrap(metric, "en", 1, stats["chrF2"]["PROMT"], n_samples=200, seed=7)
    assert (ours.mean, ours.half_width) == (float(theirs._mean), float(theirs._ci))
    other = S.bootstrap(metric, "en", 1, stats["chrF2"]["PROMT"], n_samples=200)
    assert other.mean != ours.mean


# --------------------------------------------------------------------------- paired tests = sacrebleu PairedTest


def paired_test(de_en, test_type, **kwargs):
    refs, systems = de_en
    metrics = {label: sacre() for label, (_, sacre) in METRICS.items()}
    _, scores = PairedTest(list(systems.items()), metrics, refs, test_type=test_type, **kwargs)()
    return scores


def assert_same_rows(ours: dict, theirs: list, names: list[str]):
    assert list(ours) == names
    for name, row in zip(names, theirs, strict=True):
        mine = ours[name]
        assert mine.score == row.score, name
        assert same(mine.p_value, row.p_value), (name, mine.p_value, row.p_value)
        assert same(mine.mean, row.mean), name
        assert same(mine.ci, row.ci), name


def test_paired_bootstrap_equals_PairedTest(de_en, stats):
    theirs = paired_test(de_en, "bs", n_samples=1000)
    baseline, *others = SYSTEMS
    for label, (metric, _) in METRICS.items():
        per_system = stats[label]
        ours = S.paired_bootstrap(
            per_system[baseline],
            {n: per_system[n] for n in others},
            metric,
            "en",
            1,
            n_samples=1000,
            baseline_name=baseline,
        )
        assert_same_rows(ours, theirs[label], list(SYSTEMS))
        for name in others:
            row = ours[name]
            assert row.ci_low <= row.mean <= row.ci_high
            assert math.isclose(0.5 * (row.ci_high - row.ci_low), row.ci, rel_tol=1e-6)
            assert row.delta == row.score - ours[baseline].score
        assert ours["LT22"].significant(0.05)  # LT22 is far behind on every metric
        if label == "TER":
            assert ours["LT22"].delta > 0  # and TER is an error rate


def test_paired_randomization_equals_PairedTest(de_en, stats):
    theirs = paired_test(de_en, "ar", n_samples=2000, n_ar_confidence=300)
    plain = paired_test(de_en, "ar", n_samples=500)  # no confidence estimate: mean and ci are None
    baseline, *others = SYSTEMS
    for label, (metric, _) in METRICS.items():
        per_system = stats[label]
        rest = {n: per_system[n] for n in others}
        ours = S.paired_randomization(
            per_system[baseline], rest, metric, "en", 1, n_samples=2000, n_ar_confidence=300, baseline_name=baseline
        )
        assert_same_rows(ours, theirs[label], list(SYSTEMS))
        ours = S.paired_randomization(
            per_system[baseline], rest, metric, "en", 1, n_samples=500, baseline_name=baseline
        )
        assert_same_rows(ours, plain[label], list(SYSTEMS))
        assert ours["LT22"].mean is None


@pytest.mark.parametrize("test_type", ["bs", "ar"])
def test_all_pairs_equal_PairedTest_with_either_system_as_baseline(de_en, stats, test_type):
    refs, systems = de_en
    n_samples = 1000
    label = "BLEU"
    _, p_values = S.pairwise_pvalues(stats[label], METRICS[label][0], "en", 1, test=test_type, n_samples=n_samples)
    for baseline in ("Online-B", "PROMT"):
        order = [baseline] + [n for n in SYSTEMS if n != baseline]
        _, theirs = PairedTest(
            [(n, systems[n]) for n in order], {label: sacrebleu.BLEU()}, refs, test_type=test_type, n_samples=n_samples
        )()
        for name, row in zip(order[1:], theirs[label][1:], strict=True):
            assert p_values[(baseline, name)] == row.p_value == p_values[(name, baseline)], (baseline, name)


# ------------------------------------------------- the fast paths against sacrebleu's code on synthetic statistics


def random_sums(rng, kind: str, rows: int, dtype) -> np.ndarray:
    """Aggregated statistics with the corner cases: zero counts, empty references, all-zero rows."""
    if kind == "bleu":
        total = rng.integers(0, 4000, size=(rows, 4))
        correct = (total * rng.random((rows, 4))).astype(np.int64)
        correct[rng.random((rows, 4)) < 0.1] = 0
        lens = rng.integers(0, 5000, size=(rows, 2))
        out = np.hstack([lens, correct, total])
    elif kind == "chrf":
        hyp = rng.integers(0, 9000, size=(rows, 8))
        ref = rng.integers(0, 9000, size=(rows, 8))
        match = (np.minimum(hyp, ref) * rng.random((rows, 8))).astype(np.int64)
        hyp[rng.random((rows, 8)) < 0.05] = 0
        ref[rng.random((rows, 8)) < 0.05] = 0
        match[rng.random((rows, 8)) < 0.05] = 0
        out = np.stack([hyp, ref, match], axis=2).reshape(rows, 24)
    else:
        out = np.stack([rng.integers(0, 900, size=rows), rng.integers(0, 1000, size=rows) / 2], axis=1)
        out[rng.random(rows) < 0.1, 1] = 0
    out[:3] = 0
    return out.astype(dtype)


SCORERS = [
    ("bleu", lambda: sacrebleu.BLEU()),
    ("bleu", lambda: sacrebleu.BLEU(smooth_method="none")),
    ("bleu", lambda: sacrebleu.BLEU(smooth_method="floor", smooth_value=0.1)),
    ("bleu", lambda: sacrebleu.BLEU(smooth_method="add-k")),
    ("bleu", lambda: sacrebleu.BLEU(effective_order=True)),
    ("chrf", lambda: sacrebleu.CHRF()),
    ("chrf", lambda: sacrebleu.CHRF(word_order=2)),
    ("chrf", lambda: sacrebleu.CHRF(beta=1, char_order=4, word_order=4)),
    ("chrf", lambda: sacrebleu.CHRF(eps_smoothing=True)),
    ("ter", lambda: sacrebleu.TER()),
]


@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.float64])
@pytest.mark.parametrize("kind,make", SCORERS)
def test_vectorised_scores_equal_sacrebleu_row_by_row(kind, make, dtype):
    """float32: the bootstrap's sums; int64 / float64: the AR pseudo-systems of counts / of TER statistics."""
    scorer = make()
    if kind == "chrf" and scorer.order != 8:
        return
    sums = random_sums(np.random.default_rng(3), kind, 3000, dtype)
    theirs = np.array([scorer._compute_score_from_stats(row.copy()).score for row in sums])
    ours = S.resample_scores(scorer, sums)
    assert ours.dtype == theirs.dtype
    np.testing.assert_array_equal(ours, theirs)


def segment_stats(rng, kind: str, n: int, scale: float = 1.0) -> list:
    """Per-segment statistics as sacrebleu makes them (lists of Python numbers)."""
    if kind == "ter-3refs":  # the average of three reference lengths: not a float32-exact sum
        return [[int(rng.integers(0, 30)), float(rng.integers(3, 90)) / 3] for _ in range(n)]
    rows = random_sums(rng, "bleu", n, np.int64)
    rows[:3] = rows[3:6]
    return [[int(x * scale) for x in row] for row in rows]


@pytest.mark.parametrize("kind,scale", [("ter-3refs", 1.0), ("bleu", 1.0), ("bleu", 5000.0)])
def test_sums_exact_or_done_as_sacrebleu_does(kind, scale):
    """Thirds (TER with 3 references) and totals past 2^24 (float32 sums round): sacrebleu's own summation."""
    rng = np.random.default_rng(5)
    corpus = segment_stats(rng, kind, 400, scale)
    scorer = sacrebleu.TER() if kind.startswith("ter") else sacrebleu.BLEU()
    _, theirs = _bootstrap_resample(corpus, scorer, 300)
    sums = R.bootstrap_sums(R.indices(S.SEED, len(corpus), 300), [np.array(corpus, dtype="float32")])[0]
    np.testing.assert_array_equal(S.resample_scores(scorer, sums), np.array([s.score for s in theirs]))
    assert S.bootstrap(scorer, "", 1, corpus, n_samples=300).mean == sacrebleu_mean(corpus, scorer, 300)


def sacrebleu_mean(corpus, scorer, n):
    _, scores = _bootstrap_resample(corpus, scorer, n)
    score = scorer._aggregate_and_compute(corpus)
    score.estimate_ci(scores)
    return float(score._mean)


def sacrebleu_paired(fn, scorer, baseline: list, system: list, n_samples: int):
    """sacrebleu's _paired_bs_test / _paired_ar_test on given statistics (no text to extract them from)."""
    scorer._extract_corpus_statistics = lambda hyps, refs: system
    info = {"M": (baseline, Result(scorer._aggregate_and_compute(baseline).score))}
    _, results = fn(info, "sys", [""] * len(system), None, {"M": scorer}, n_samples, -1, S.SEED)
    return results["M"]


@pytest.mark.parametrize("kind", ["ter-3refs", "bleu"])
def test_paired_tests_on_awkward_statistics(kind):
    rng = np.random.default_rng(11)
    baseline, system = segment_stats(rng, kind, 300), segment_stats(rng, kind, 300)
    make = sacrebleu.TER if kind.startswith("ter") else sacrebleu.BLEU
    theirs = sacrebleu_paired(_paired_bs_test, make(), baseline, system, 500)
    ours = S.paired_bootstrap(baseline, {"sys": system}, make(), n_samples=500)["sys"]
    assert (ours.p_value, ours.mean, ours.ci) == (theirs.p_value, float(theirs.mean), float(theirs.ci))
    theirs = sacrebleu_paired(_paired_ar_test, make(), baseline, system, 1000)
    ours = S.paired_randomization(baseline, {"sys": system}, make(), n_samples=1000)["sys"]
    assert ours.p_value == theirs.p_value


def test_parallel_and_serial_agree(stats, monkeypatch):
    per_system = stats["BLEU"]
    baseline, *others = SYSTEMS
    rest = {n: per_system[n] for n in others}
    serial = S.paired_randomization(per_system[baseline], rest, METRICS["BLEU"][0], n_samples=1000, workers=1)
    monkeypatch.setattr(R, "PARALLEL_ROWS", 0)
    parallel = S.paired_randomization(per_system[baseline], rest, METRICS["BLEU"][0], n_samples=1000, workers=2)
    assert serial == parallel


# --------------------------------------------------------------------------------------------------- ranks


def test_clusters_follow_significance_and_direction():
    scores = {"A": 30.0, "B": 29.8, "C": 25.0, "D": 24.9}
    p = {("A", "B"): 0.4, ("C", "D"): 0.6, ("A", "C"): 0.001, ("A", "D"): 0.001, ("B", "C"): 0.01, ("B", "D"): 0.002}
    ranked = S.clusters_from_pvalues(scores, p)
    assert [(s.name, s.cluster) for s in ranked] == [("A", 1), ("B", 1), ("C", 2), ("D", 2)]
    assert [(s.rank_best, s.rank_worst) for s in ranked] == [(1, 2), (1, 2), (3, 4), (3, 4)]
    assert ranked[0].better_than == ("C", "D") and ranked[2].worse_than == ("A", "B")
    # Lower is better (TER): the same p-values, the order reversed.
    ranked = S.clusters_from_pvalues(scores, p, higher_is_better=False)
    assert [(s.name, s.cluster) for s in ranked] == [("D", 1), ("C", 1), ("B", 2), ("A", 2)]
    # A stricter alpha: B-C (p = 0.01) no longer significant, so no boundary between the groups.
    assert {s.cluster for s in S.clusters_from_pvalues(scores, p, alpha=0.005)} == {1}


def test_clusters_do_not_chain_the_top_with_the_bottom():
    """A ~ B ~ C but A > C: one cluster (nothing separates B from either), with rank ranges telling more."""
    scores = {"A": 3.0, "B": 2.0, "C": 1.0, "D": 0.0}
    p = {("A", "B"): 0.3, ("B", "C"): 0.3, ("A", "C"): 0.01, ("A", "D"): 0.01, ("B", "D"): 0.01, ("C", "D"): 0.01}
    ranked = S.clusters_from_pvalues(scores, p)
    assert [(s.name, s.cluster, s.rank_best, s.rank_worst) for s in ranked] == [
        ("A", 1, 1, 2),
        ("B", 1, 1, 3),
        ("C", 1, 2, 3),
        ("D", 2, 4, 4),
    ]
    # An identical pair has sacrebleu's smallest p-value but no difference: never "better", always tied.
    ranked = S.clusters_from_pvalues({"X": 5.0, "Y": 5.0}, {("X", "Y"): 0.001})
    assert [s.cluster for s in ranked] == [1, 1]


@pytest.mark.parametrize("label", ["BLEU", "TER"])
def test_rank_clusters_on_constructed_systems(de_en, label):
    """The reference itself, a system and its exact copy, a weaker system, and the system cut to half its
    words: four clusters in that order, for BLEU (higher is better) and TER (lower is better)."""
    refs, systems = de_en
    n = 150
    jd = systems["JDExploreAcademy"][:n]
    constructed = {
        "oracle": refs[0][:n],
        "JD": jd,
        "JD-copy": list(jd),
        "LT22": systems["LT22"][:n],
        "JD-half": [" ".join(h.split()[: len(h.split()) // 2]) for h in jd],
    }
    metric = METRICS[label][0]
    per_system = {
        name: r.stats for (name, _), r in score_systems([metric], "en", [refs[0][:n]], constructed, workers=2).items()
    }
    for test_type in ("bs", "ar"):
        ranking = S.rank_clusters(per_system, metric, "en", test=test_type, n_samples=1000)
        assert ranking.clusters == [["oracle"], ["JD", "JD-copy"], ["LT22"], ["JD-half"]], test_type
        assert ranking.higher_is_better == (label != "TER")
        assert ranking.rank("JD-copy") == 2
        oracle = ranking.systems[0]
        assert math.isclose(oracle.score, 100.0 if label == "BLEU" else 0.0, abs_tol=1e-9)
        assert oracle.rank_best == oracle.rank_worst == 1


# --------------------------------------------------------------------------------------------- the edges


def test_results_are_plain_json_serialisable_floats(stats):
    """sacrebleu's CLI crashes on `--paired-bs -f json` with chrF (float32 scores); ours are Python floats."""
    per_system = stats["chrF2"]
    results = S.paired_bootstrap(
        per_system["JDExploreAcademy"],
        {"LT22": per_system["LT22"]},
        METRICS["chrF2"][0],
        n_samples=100,
        baseline_name="JDExploreAcademy",
    )
    text = json.dumps({name: dataclasses.asdict(r) for name, r in results.items()})
    assert json.loads(text)["LT22"]["p_value"] == results["LT22"].p_value
    boot = S.bootstrap(METRICS["chrF2"][0], "en", 1, per_system["LT22"], n_samples=100)
    assert all(type(v) is float for v in (boot.score, boot.mean, boot.ci_low, boot.ci_high, boot.half_width))


def test_bad_input_is_a_clear_error(stats):
    metric = METRICS["BLEU"][0]
    per_system = stats["BLEU"]
    with pytest.raises(UserError, match="segment statistics"):
        S.paired_bootstrap(per_system["LT22"], {"short": per_system["PROMT"][:10]}, metric)
    with pytest.raises(UserError, match="positive integer"):
        S.bootstrap(metric, "en", 1, per_system["LT22"], n_samples=0)
    with pytest.raises(UserError, match="no segments"):
        S.bootstrap(metric, "en", 1, [])
    with pytest.raises(UserError, match="'bs' or 'ar'"):
        S.rank_clusters(per_system, metric, test="t-test")
    with pytest.raises(UserError, match="two systems"):
        S.rank_clusters({"LT22": per_system["LT22"]}, metric)
    with pytest.raises(TypeError, match="metric"):
        S.bootstrap("bleu", "en", 1, per_system["LT22"])
