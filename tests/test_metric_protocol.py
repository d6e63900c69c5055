"""A metric is a `CorpusScorer` and nothing downstream asks which one: a metric defined in this module, registered
for the test only, runs through scoring, bootstrap CIs, both paired tests, ranks, agreement with human scores,
the analyses and the tables, with the numbers its own definition gives."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import evalharness
import numpy as np
import pytest
import sacrebleu
from evalharness.datasets.humanscores import load_human_scores
from evalharness.metrics import METRICS, CorpusScorer, Metric, make_metric, scorer_for
from evalharness.metrics.base import MetricConfigBase
from evalharness.metrics.protocol import SegmentInputs
from evalharness.metrics.scoring import score_systems
from evalharness.reporting import analysis
from evalharness.reporting.tables import directions_of, render
from evalharness.statistics import agreement as A
from evalharness.statistics import resampling as R
from evalharness.statistics import significance as S
from evalharness.textio import read_lines
from sacrebleu.significance import _compute_p_value
from scipy import stats as sstats

from conftest import wmt22_path

N = 60  # segments
SYSTEMS = ("JDExploreAcademy", "LT22", "Online-B", "PROMT", "Online-W")  # all with a WMT22 human score


# --------------------------------------------------------------------------------- the metric, defined here


class LengthConfig(MetricConfigBase):
    name: Literal["length"]


class LengthScorer:
    """Length agreement: per segment [hypothesis words, first reference's words]; the corpus score is
    100 * min(H, R) / max(H, R) of the sums (100: as long as the reference)."""

    higher_is_better = True
    vectorised = True

    def segment_statistics(
        self, references: list[list[str]], systems: Mapping, inputs: SegmentInputs
    ) -> dict[object, list]:
        ref_words = [len(ref.split()) for ref in references[0]]
        return {
            name: [[len(h.split()), r] for h, r in zip(hyps, ref_words, strict=True)] for name, hyps in systems.items()
        }

    def corpus_score(self, stats: Sequence) -> float:
        return self.score_from_stats(np.asarray(stats, dtype=np.float64).sum(axis=0))

    def score_from_stats(self, sums) -> float:
        hyp, ref = float(sums[0]), float(sums[1])
        return 100.0 * min(hyp, ref) / max(hyp, ref) if max(hyp, ref) else 0.0

    def resample_scores(self, sums: np.ndarray) -> np.ndarray:
        hyp, ref = sums[:, 0].astype(np.float64), sums[:, 1].astype(np.float64)
        high = np.maximum(hyp, ref)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(high > 0, 100.0 * np.minimum(hyp, ref) / high, 0.0)

    def signature(self) -> str:
        return "length:words|version:1"


class LengthMetric(Metric):
    def default_label(self) -> str:
        return "Length"

    def scorer(self, target_lang: str, n_refs: int = 1) -> LengthScorer:
        return LengthScorer()


@pytest.fixture
def registered(monkeypatch):
    """The metric in the registry, for this test only (a real metric adds one line to metrics/__init__.py)."""
    monkeypatch.setitem(METRICS, "length", (LengthConfig, LengthMetric))
    return make_metric(LengthConfig(name="length"))


def lines(*parts: str) -> list[str]:
    return read_lines(wmt22_path(*parts))[:N]


@pytest.fixture(scope="module")
def de_en():
    refs = [lines("references", "generaltest2022.de-en.ref.A.en")]
    systems = {name: lines("system-outputs", f"generaltest2022.de-en.hyp.{name}.en") for name in SYSTEMS}
    return refs, systems


@pytest.fixture(scope="module")
def stats(de_en):
    """Per system, the metric's per-segment statistics, through the scoring path of `run` and `score`."""
    refs, systems = de_en
    metric = LengthMetric(LengthConfig(name="length"))
    results = score_systems([metric], "en", refs, systems)
    return {name: results[(name, "Length")].stats for name in systems}


def by_hand(stats: Sequence) -> float:
    hyp = sum(s[0] for s in stats)
    ref = sum(s[1] for s in stats)
    return 100.0 * min(hyp, ref) / max(hyp, ref)


def resampled_by_hand(stats: Sequence, idxs: np.ndarray) -> np.ndarray:
    return np.array([by_hand([stats[i] for i in row]) for row in idxs])


# ------------------------------------------------------------------------------------------------- the tests


def test_the_metric_is_a_CorpusScorer_and_scores_as_defined(de_en, stats):
    refs, systems = de_en
    scorer = scorer_for(LengthMetric(LengthConfig(name="length")), "en")
    assert isinstance(scorer, CorpusScorer)
    for name, hyps in systems.items():
        assert stats[name][0] == [len(hyps[0].split()), len(refs[0][0].split())]
        assert scorer.corpus_score(stats[name]) == by_hand(stats[name])


def test_bootstrap_ci_resamples_the_metrics_statistics(stats):
    ours = S.bootstrap(LengthMetric(LengthConfig(name="length")), "en", 1, stats["LT22"], n_samples=200)
    expected = resampled_by_hand(stats["LT22"], R.indices(S.SEED, N, 200))
    np.testing.assert_array_equal(ours.samples, expected)
    assert (ours.ci_low, ours.ci_high) == tuple(float(x) for x in R.percentiles(expected))
    assert ours.score == by_hand(stats["LT22"])


def test_paired_bootstrap_p_values_are_sacrebleus_rule_on_the_metric(stats):
    metric = LengthMetric(LengthConfig(name="length"))
    baseline, *others = SYSTEMS
    ours = S.paired_bootstrap(stats[baseline], {n: stats[n] for n in others}, metric, n_samples=300)
    idxs = R.indices(S.SEED, N, 300)
    base = resampled_by_hand(stats[baseline], idxs)
    for name in others:
        diffs = np.abs(resampled_by_hand(stats[name], idxs) - base)
        real = abs(by_hand(stats[name]) - by_hand(stats[baseline]))
        assert ours[name].p_value == _compute_p_value(diffs - diffs.mean(), real), name


def test_approximate_randomization_swaps_the_metrics_statistics(stats):
    metric = LengthMetric(LengthConfig(name="length"))
    baseline, other = SYSTEMS[0], SYSTEMS[1]
    ours = S.paired_randomization(stats[baseline], {other: stats[other]}, metric, n_samples=200)
    swaps = np.random.default_rng(S.SEED).integers(2, size=(200, N), dtype=bool)
    a, b = np.array(stats[baseline]), np.array(stats[other])
    shuffled_a = [by_hand(np.where(row[:, None], a, b)) for row in swaps]
    shuffled_b = [by_hand(np.where(row[:, None], b, a)) for row in swaps]
    diffs = np.abs(np.array(shuffled_a) - np.array(shuffled_b))
    real = abs(by_hand(stats[baseline]) - by_hand(stats[other]))
    assert ours[other].p_value == _compute_p_value(diffs, real)


def test_ranks_follow_the_metrics_direction(stats):
    ranking = S.rank_clusters(stats, LengthMetric(LengthConfig(name="length")), n_samples=200)
    assert ranking.higher_is_better
    scores = [system.score for system in ranking.systems]
    assert scores == sorted(scores, reverse=True)


def test_agreement_with_human_scores(stats):
    human = load_human_scores(wmt22_path("humaneval", "ad-sys-ranking-de-en-z-names.csv"))
    result = A.agreement(LengthMetric(LengthConfig(name="length")), "en", 1, stats, human, n_samples=100)
    corpus = [by_hand(stats[name]) for name in SYSTEMS]
    assert result.systems == SYSTEMS
    assert result.pearson == pytest.approx(sstats.pearsonr(corpus, [human[n] for n in SYSTEMS]).statistic)
    assert result.ci is not None and result.ci["pearson"][0] <= result.ci["pearson"][1]


def test_analyses_score_buckets_with_the_metric(de_en, stats):
    refs, systems = de_en
    metric = LengthMetric(LengthConfig(name="length"))
    cells = [analysis.CellData(name, systems[name], {"Length": stats[name]}) for name in SYSTEMS]
    doc_ids = ["first"] * 20 + ["rest"] * (N - 20)
    data = analysis.DatasetData("news", "de", "en", [""] * N, refs, doc_ids, [metric], cells)
    rows = analysis.document_rows(data)
    first = next(row for row in rows if row["system"] == "LT22" and row["doc_id"] == "first")
    assert first["Length"] == by_hand(stats["LT22"][:20])


def test_score_and_the_tables_show_the_metric(registered, de_en):
    refs, systems = de_en
    results = evalharness.score(
        systems, refs, metrics=["length", "bleu"], langpair="de-en", statistics={"baseline": "LT22", "bootstrap": 100}
    )
    scores = results.scores.set_index("system")
    rows = scores[scores["metric"] == "Length"]
    assert rows.loc["PROMT", "score"] == by_hand(
        [[len(h.split()), len(r.split())] for h, r in zip(systems["PROMT"], refs[0], strict=True)]
    )
    assert rows.loc["PROMT", "signature"] == "length:words|version:1"
    assert rows["p_value"].notna().sum() == len(SYSTEMS) - 1  # every system against the baseline
    table = render(results.summary, "md", directions=directions_of(results.scores))
    assert "Length" in table.splitlines()[0]
    assert f"{rows.loc['PROMT', 'score']:.2f}" in table


def test_a_sacrebleu_object_gets_its_registered_metrics_direction_and_fast_path():
    ter, chrf_eps = scorer_for(sacrebleu.TER()), scorer_for(sacrebleu.CHRF(eps_smoothing=True))
    assert not ter.higher_is_better and ter.vectorised
    assert chrf_eps.higher_is_better and not chrf_eps.vectorised  # eps smoothing: sacrebleu's own arithmetic

    class OwnBLEU(sacrebleu.BLEU):  # a subclass may change the arithmetic: no fast path
        pass

    assert scorer_for(OwnBLEU()).fast is None and scorer_for(sacrebleu.BLEU()).fast is not None


def test_what_is_no_metric_is_refused():
    with pytest.raises(TypeError, match="got str"):
        scorer_for("bleu")
