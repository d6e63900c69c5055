"""meta.csv: the meta-evaluation of a run's metrics against human scores (system and segment level, SPA, PERM-BOTH
p-values between metrics, ranks and clusters), checked against scipy and direct recomputations; a small run with a
synthetic segment-level human file; WMT22 de-en and zh-en with their system-level DA files."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import sacrebleu
from evalharness import api
from evalharness.results import META_COLUMNS
from evalharness.statistics import meta
from evalharness.statistics.metaeval import (
    joint_intervals,
    metric_pvalues,
    normal_pvalues,
    rowwise_correlations,
    system_statistic,
)
from evalharness.statistics.resampling import percentiles, resampled_scores
from evalharness.textio import read_lines
from scipy import stats as sstats

from conftest import ROOT, wmt22_path

# --------------------------------------------------------------------------------------------- the pieces


def test_rowwise_correlations_equal_scipy_row_by_row():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 7))
    y = rng.normal(size=(6, 7))
    x[1, 2] = x[1, 3]  # a metric tie
    y[2, :3] = y[2, 0]  # human ties (a system drawn three times)
    got = rowwise_correlations(x, y)
    for k in range(len(x)):
        assert got["pearson"][k] == pytest.approx(sstats.pearsonr(x[k], y[k]).statistic, abs=1e-12)
        assert got["spearman"][k] == pytest.approx(sstats.spearmanr(x[k], y[k]).statistic, abs=1e-12)
        assert got["kendall"][k] == pytest.approx(sstats.kendalltau(x[k], y[k]).statistic, abs=1e-12)


def test_joint_intervals_resample_the_systems_of_each_segment_resample():
    """Row b of the resampled scores is taken at systems drawn by default_rng([seed, 1]); the bounds are the
    percentiles (sacrebleu's rule) of scipy's correlations of those rows."""
    rng = np.random.default_rng(1)
    resampled = rng.normal(size=(80, 6))
    human = rng.normal(size=6)
    got = joint_intervals(resampled, human, seed=5)
    draws = np.random.default_rng([5, 1]).choice(6, size=(80, 6), replace=True)
    values = []
    for row, drawn in zip(resampled, draws, strict=True):
        if len(set(drawn)) > 1:
            values.append(sstats.pearsonr(row[drawn], human[drawn]).statistic)
    low, high = percentiles(np.array(values))
    assert got["pearson"] == pytest.approx((low, high), abs=1e-12)
    assert joint_intervals(resampled, human, seed=5) == got
    assert joint_intervals(resampled, human, seed=6) != got


def test_metric_pvalues_swap_segments_between_two_systems():
    """p[a, b]: the share of swaps (each segment's two hypotheses exchanged where the AR matrix says so) whose BLEU
    difference a - b is at least the observed one, recomputed here with sacrebleu on the swapped texts."""
    n, samples, seed = 12, 30, 3
    ref = read_lines(wmt22_path("references", "generaltest2022.de-en.ref.A.en"))[:n]
    hyps = [
        read_lines(wmt22_path("system-outputs", f"generaltest2022.de-en.hyp.{s}.en"))[:n] for s in ("LT22", "Online-W")
    ]
    bleu = sacrebleu.BLEU()
    stats = [
        [list(map(float, bleu._extract_corpus_statistics([h], [[r]])[0])) for h, r in zip(hyp, ref, strict=True)]
        for hyp in hyps
    ]
    from evalharness.metrics import scorer_for

    p = metric_pvalues(scorer_for(bleu, "en", 1), stats, 1.0, samples, seed)
    pos = np.random.default_rng(seed).integers(2, size=(samples, n), dtype=bool)
    observed = bleu.corpus_score(hyps[0], [ref]).score - bleu.corpus_score(hyps[1], [ref]).score
    deltas = []
    for row in pos:
        a = [hyps[0][i] if keep else hyps[1][i] for i, keep in enumerate(row)]
        b = [hyps[1][i] if keep else hyps[0][i] for i, keep in enumerate(row)]
        deltas.append(bleu.corpus_score(a, [ref]).score - bleu.corpus_score(b, [ref]).score)
    deltas = np.array(deltas)
    assert p[0, 1] == pytest.approx(np.mean(deltas >= observed - 1e-9))
    assert p[1, 0] == pytest.approx(np.mean(deltas <= observed + 1e-9))
    assert math.isnan(p[0, 0])


def test_metric_pvalues_in_a_process_pool_equal_the_serial_ones(monkeypatch):
    from evalharness.metrics import scorer_for
    from evalharness.statistics import resampling

    n = 10
    ref = read_lines(wmt22_path("references", "generaltest2022.de-en.ref.A.en"))[:n]
    bleu = sacrebleu.BLEU()
    stats = []
    for system in ("LT22", "Online-W", "Online-A"):
        hyp = read_lines(wmt22_path("system-outputs", f"generaltest2022.de-en.hyp.{system}.en"))[:n]
        pairs = zip(hyp, ref, strict=True)
        stats.append([list(map(float, bleu._extract_corpus_statistics([h], [[r]])[0])) for h, r in pairs])
    scorer = scorer_for(bleu, "en", 1)
    serial = metric_pvalues(scorer, stats, 1.0, 40, 2, workers=1)
    monkeypatch.setattr(resampling, "PARALLEL_ROWS", 0)
    np.testing.assert_array_equal(metric_pvalues(scorer, stats, 1.0, 40, 2, workers=2), serial)


def test_normal_pvalues_worked_example():
    """z 0.10 and 0.00 over 100 judgments each: (0.1 - 0) / sqrt(2/100) = 0.7071; 1 - Phi(0.7071) = 0.2398."""
    p = normal_pvalues(np.array([0.10, 0.0]), np.array([100.0, 100.0]))
    assert p[0, 1] == pytest.approx(0.23975, abs=1e-5)
    assert p[1, 0] == pytest.approx(1 - 0.23975, abs=1e-5)
    assert math.isnan(p[0, 0])


# --------------------------------------------------------------------------- a small run, segment-level file

SYSTEMS = ["JDExploreAcademy", "LT22", "Lan-Bridge", "Online-A", "Online-W"]
N = 8
SAMPLES = 60


def human_score(system: int, segment: int) -> float:
    return float((segment * 37 + system * 11) % 100)


@pytest.fixture(scope="module")
def small_config(tmp_path_factory) -> dict:
    """WMT22 de-en, 8 segments, five submissions and the copy-source floor; a synthetic DA file (one score
    missing: LT22 on segment 5)."""
    folder = tmp_path_factory.mktemp("meta")
    human = folder / "da.tsv"
    lines = ["system\tsegment\tscore"]
    for k, name in enumerate(SYSTEMS):
        lines += [f"{name}\t{i}\t{human_score(k, i)}" for i in range(1, N + 1) if (name, i) != ("LT22", 5)]
    human.write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = {
        "run_name": "small",
        "datasets": [
            {
                "name": "d",
                "kind": "parallel",
                "langpair": "de-en",
                "source": str(wmt22_path("sources", "generaltest2022.de-en.src.de")),
                "references": [str(wmt22_path("references", "generaltest2022.de-en.ref.A.en"))],
                "max_segments": N,
                "human_segment_scores": str(human),
            }
        ],
        "systems": [
            *(
                {
                    "name": s,
                    "engine": "outputs",
                    "path": str(wmt22_path("system-outputs", f"generaltest2022.de-en.hyp.{s}.en")),
                }
                for s in SYSTEMS
            ),
            {"name": "copy", "engine": "identity"},
        ],
        "metrics": ["bleu", "chrf"],
        "statistics": {"bootstrap": SAMPLES, "n_samples": SAMPLES, "seed": 7},
    }
    return config


@pytest.fixture(scope="module")
def small_run(small_config):
    """The run in memory (no folder, no plots: what meta.csv would hold is `Results.meta`)."""
    return api.run(small_config, write=False)


def table(run) -> pd.DataFrame:
    """meta.csv's rows: of a run in memory (`Results`) or of a results folder."""
    if isinstance(run, api.Results):
        assert run.meta is not None
        return run.meta
    return pd.read_csv(run / "meta.csv", keep_default_na=False, na_values=[""])


def human_matrix() -> np.ndarray:
    h = np.array([[human_score(k, i) for i in range(1, N + 1)] for k in range(len(SYSTEMS))])
    h[SYSTEMS.index("LT22"), 4] = np.nan
    return h


def sentence_matrix(run, metric: str) -> np.ndarray:
    """Systems x segments of the sentence scores (segments.jsonl's)."""
    out = np.full((len(SYSTEMS), N), np.nan)
    for r in run.segments.to_dict("records"):
        if r["system"] in SYSTEMS:
            out[SYSTEMS.index(r["system"]), r["segment"] - 1] = r[metric]
    return out


def corpus(run, metric: str) -> np.ndarray:
    scores = run.scores
    rows = scores[(scores.metric == metric) & (scores.level == "segment")].set_index("system")
    return np.array([rows.loc[s, "score"] for s in SYSTEMS])


def value(frame: pd.DataFrame, level: str, grouping: str, statistic: str, metric: str) -> float:
    rows = frame[
        (frame.section == "metric")
        & (frame.level == level)
        & (frame.grouping == grouping)
        & (frame.statistic == statistic)
        & (frame.metric == metric)
    ]
    assert len(rows) == 1
    return float(rows.value.iloc[0])


def test_meta_csv_has_the_documented_columns_and_rows(small_run):
    frame = table(small_run)
    assert list(frame.columns) == META_COLUMNS
    metric_rows = frame[frame.section == "metric"]
    assert set(metric_rows[metric_rows.level == "system"].statistic) == {
        "pearson",
        "spearman",
        "kendall",
        "accuracy",
        "acc_eq",
        "spa",
    }
    segment = metric_rows[metric_rows.level == "segment"]
    assert set(zip(segment.grouping, segment.statistic, strict=True)) == {
        (g, s) for g in ("none", "item") for s in ("pearson", "kendall_b", "kendall_c", "kendall_wmt23", "acc_eq")
    }
    assert set(frame.metric) == {"BLEU", "chrF2"}
    assert set(frame.human) == {"da"}


def test_the_copy_source_floor_is_left_out(small_run):
    frame = table(small_run)
    assert set(frame.n_systems) == {len(SYSTEMS)}
    assert set(frame[frame.level == "segment"].n_items) == {N}


def test_system_level_statistics_equal_scipy(small_run):
    """The human system score is the mean of the system's segment scores; the metric's is its corpus score."""
    frame = table(small_run)
    y = np.nanmean(human_matrix(), axis=1)
    x = corpus(small_run, "BLEU")
    assert value(frame, "system", "none", "pearson", "BLEU") == pytest.approx(sstats.pearsonr(x, y).statistic)
    assert value(frame, "system", "none", "spearman", "BLEU") == pytest.approx(sstats.spearmanr(x, y).statistic)
    assert value(frame, "system", "none", "kendall", "BLEU") == pytest.approx(sstats.kendalltau(x, y).statistic)
    i, j = np.triu_indices(len(x), 1)
    naive = np.mean(np.sign(x[i] - x[j]) == np.sign(y[i] - y[j]))
    assert value(frame, "system", "none", "accuracy", "BLEU") == pytest.approx(naive)
    assert value(frame, "system", "none", "acc_eq", "BLEU") == pytest.approx(meta.pairwise_accuracy(x, y, "acc_eq"))


def test_system_level_correlations_have_joint_intervals(small_run):
    frame = table(small_run)
    rows = frame[(frame.section == "metric") & frame.statistic.isin(["pearson", "spearman", "kendall"])]
    rows = rows[rows.level == "system"]
    assert (rows.ci_low <= rows.value).all() and (rows.value <= rows.ci_high).all()
    assert set(rows.method) == {"bootstrap 95% CI, systems and segments resampled jointly (percentile)"}


def test_segment_level_statistics_equal_scipy(small_run):
    frame = table(small_run)
    h = human_matrix()
    m = sentence_matrix(small_run, "chrF2")
    ok = ~np.isnan(h)
    pearson = sstats.pearsonr(m[ok], h[ok]).statistic
    assert value(frame, "segment", "none", "pearson", "chrF2") == pytest.approx(pearson)
    tau_c = sstats.kendalltau(m[ok], h[ok], variant="c").statistic
    assert value(frame, "segment", "none", "kendall_c", "chrF2") == pytest.approx(tau_c)
    per_item = [
        sstats.kendalltau(m[ok[:, i], i], h[ok[:, i], i]).statistic for i in range(N)
    ]  # item grouping: across the systems of each segment, averaged
    expected = np.nanmean(per_item)
    assert value(frame, "segment", "item", "kendall_b", "chrF2") == pytest.approx(expected)


def test_spa_compares_metric_and_human_segment_permutations(small_run):
    frame = table(small_run)
    spa = frame[(frame.statistic == "spa") & (frame.metric == "BLEU")]
    method = spa.method.iloc[0]
    assert "paired approximate randomization" in method and "paired permutation of the segment scores" in method
    assert 0 <= spa.value.iloc[0] <= 1


def test_pairs_are_perm_both_p_values_of_every_ordered_pair(small_run):
    frame = table(small_run)
    pairs = frame[frame.section == "pair"]
    tested = {("system", "none", s) for s in ("pearson", "kendall", "accuracy")}
    tested |= {("segment", "none", "pearson"), ("segment", "item", "kendall_b")}
    assert set(zip(pairs.level, pairs.grouping, pairs.statistic, strict=True)) == tested
    assert len(pairs) == 2 * len(tested)  # BLEU vs chrF2 and chrF2 vs BLEU
    assert pairs.value.between(0, 1).all()
    row = pairs[(pairs.level == "system") & (pairs.statistic == "pearson") & (pairs.metric == "BLEU")]
    y = np.nanmean(human_matrix(), axis=1)
    expected = meta.perm_both(
        corpus(small_run, "BLEU"), corpus(small_run, "chrF2"), y, system_statistic("pearson"), SAMPLES, 7
    )
    assert row.metric_b.iloc[0] == "chrF2" and row.value.iloc[0] == pytest.approx(expected)


def test_ranks_and_clusters_only_on_tested_statistics(small_run):
    frame = table(small_run)
    rows = frame[frame.section == "metric"]
    tested = rows.statistic.isin(["pearson", "kendall", "accuracy"]) & (rows.level == "system")
    tested |= (rows.level == "segment") & (
        ((rows.grouping == "none") & (rows.statistic == "pearson"))
        | ((rows.grouping == "item") & (rows.statistic == "kendall_b"))
    )
    assert rows[tested].cluster.notna().all() and rows[tested]["rank"].notna().all()
    assert rows[~tested].cluster.isna().all()
    for _, group in rows[tested].groupby(["level", "grouping", "statistic"]):
        best = group.sort_values("value", ascending=False)
        assert best["rank"].iloc[0] == 1 and best.cluster.iloc[0] == 1


def test_too_many_pairs_to_calibrate_is_a_row_not_a_crash(small_config, small_run, monkeypatch):
    """Tie calibration over all system-segment pairs (grouping none) is refused above MAX_CALIBRATION_PAIRS (at
    WMT sizes: 12 systems x 1875 segments); the run goes on, the row says why, grouping item is computed as
    before. Here the limit is lowered: 39 scored cells make 741 pairs, each segment's 5 systems 10."""
    monkeypatch.setattr(meta, "MAX_CALIBRATION_PAIRS", 100)
    frame, before = table(api.run(small_config, write=False)), table(small_run)
    rows = frame[(frame.section == "metric") & (frame.level == "segment")]
    for statistic in ("acc_eq", "kendall_wmt23"):
        row = rows[(rows.grouping == "none") & (rows.statistic == statistic) & (rows.metric == "BLEU")].iloc[0]
        assert math.isnan(row.value)
        assert row.method == "too many pairs to calibrate ties (741); see grouping item"
        item = value(before, "segment", "item", statistic, "BLEU")
        assert value(frame, "segment", "item", statistic, "BLEU") == item
    assert value(frame, "segment", "none", "pearson", "BLEU") == value(before, "segment", "none", "pearson", "BLEU")


def test_agreement_and_meta_share_each_metrics_resample_scores(small_config, small_run, monkeypatch):
    """agreement.csv's intervals and meta.csv's joint intervals resample the same corpus scores: computed once per
    metric (BLEU, chrF), the rows unchanged."""
    from evalharness.statistics import agreement, metaeval

    calls = []

    def counted(*args, **kwargs):
        calls.append(args[0])
        return resampled_scores(*args, **kwargs)

    monkeypatch.setattr(agreement, "resampled_scores", counted)
    monkeypatch.setattr(metaeval, "resampled_scores", counted)
    run = api.run(small_config, write=False)
    assert len(calls) == 2
    pd.testing.assert_frame_equal(run.meta, small_run.meta)
    pd.testing.assert_frame_equal(run.agreement, small_run.agreement)


@pytest.mark.slow
def test_meta_csv_is_written_read_back_typed_and_shown_in_the_report(small_config, small_run, tmp_path):
    api.run(small_config, output_dir=tmp_path)
    folder = tmp_path / "small"
    written = pd.read_csv(folder / "meta.csv", keep_default_na=False, na_values=[""])
    pd.testing.assert_frame_equal(written, small_run.meta, check_dtype=False)
    loaded = api.load(folder)
    assert loaded.meta is not None and list(loaded.meta.columns) == META_COLUMNS
    assert str(loaded.meta["cluster"].dtype) == "Int64" and str(loaded.meta["value"].dtype) == "float64"
    assert "Metric ranking: d" in (folder / "report.html").read_text(encoding="utf-8")


def test_no_human_scores_no_meta(small_config):
    plain = {**small_config, "datasets": [{k: v for k, v in small_config["datasets"][0].items() if "human" not in k}]}
    assert api.run(plain, write=False).meta is None


# ------------------------------------------------------------------------------------------------- WMT22


@pytest.fixture(scope="module")
def wmt22_run(tmp_path_factory):
    """configs/wmt22-meta.yaml with BLEU and chrF only (the embedding metrics take most of its 45 cold minutes)."""
    folder = tmp_path_factory.mktemp("wmt22")
    text = (ROOT / "configs" / "wmt22-meta.yaml").read_text(encoding="utf-8")
    start, end = text.index("metrics:"), text.index("statistics:")
    text = text[:start] + "metrics: [bleu, chrf]\n\n" + text[end:]
    text = text.replace("${WMT22_DIR:-../data/wmt22}", str(wmt22_path()))
    config = folder / "wmt22-meta.yaml"
    config.write_text(text, encoding="utf-8")
    api.run(config, output_dir=folder / "results")
    return folder / "results" / "wmt22-meta"


@pytest.mark.slow
def test_wmt22_meta_csv_reports_the_system_level_statistics(wmt22_run):
    frame = table(wmt22_run)
    assert set(frame.level) == {"system"}  # WMT22 has no segment-level human scores in the repository
    rows = frame[frame.section == "metric"]
    for dataset in ("wmt22-de-en", "wmt22-zh-en"):
        mine = rows[rows.dataset == dataset]
        assert set(zip(mine.statistic, mine.metric, strict=True)) == {
            (s, m) for s in ("pearson", "spearman", "kendall", "accuracy", "acc_eq", "spa") for m in ("BLEU", "chrF2")
        }
        assert mine.value.notna().all()
        spa = mine[mine.statistic == "spa"]
        assert spa.method.str.contains("normal approximation from the z means").all()
        pairs = frame[(frame.section == "pair") & (frame.dataset == dataset)]
        assert len(pairs) == 3 * 2 and pairs.value.between(0, 1).all()


@pytest.mark.slow
def test_wmt22_zh_en_bleu_spearman_lies_inside_its_joint_interval(wmt22_run):
    """Resampling segments alone gave zh-en BLEU's Spearman 0.725 in [0.60, 0.725] (agreement.csv); resampling
    the systems too puts it inside."""
    frame = table(wmt22_run)
    row = frame[(frame.dataset == "wmt22-zh-en") & (frame.metric == "BLEU") & (frame.statistic == "spearman")].iloc[0]
    assert row.value == pytest.approx(0.7250448947301882)
    assert row.ci_low < row.value < row.ci_high
    agreement = pd.read_csv(wmt22_run / "agreement.csv").set_index(["dataset", "metric"])
    assert agreement.loc[("wmt22-zh-en", "BLEU"), "spearman_ci_high"] == pytest.approx(row.value)
