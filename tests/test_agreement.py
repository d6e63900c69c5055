"""Agreement with human judgments: the DA ranking parser, correlations, direction, pairwise accuracy, bootstrap
CIs, and configs/wmt22-meta.yaml end to end."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import sacrebleu
from evalharness.datasets.humanscores import load_human_scores, parse_ranking
from evalharness.errors import UserError
from evalharness.metrics import make_metric
from evalharness.metrics.chrf import ChrfConfig
from evalharness.metrics.scoring import score_systems
from evalharness.metrics.ter import TerConfig
from evalharness.statistics.agreement import COLUMNS, agreement, correlations, pairwise_accuracy, row_correlations
from evalharness.statistics.resampling import indices
from evalharness.textio import read_lines
from scipy import stats as sstats

from conftest import ROOT, run_cli_here, wmt22_path

DE_EN = ["JDExploreAcademy", "LT22", "Lan-Bridge", "Online-A", "Online-B", "Online-G", "Online-W", "Online-Y", "PROMT"]


def ranking(pair: str):
    return wmt22_path("humaneval", f"ad-sys-ranking-{pair}-z-names.csv")


# ------------------------------------------------------------------------------------------------- parser


def test_parser_reads_every_line_of_the_wmt22_files():
    entries = parse_ranking(ranking("de-en"))
    assert len(entries) == 10
    first = entries[0]
    assert (first.name, first.system_id, first.raw, first.z, first.n_judged, first.n_all) == (
        "Lan-Bridge",
        "Lan-Bridge.1",
        68.8,
        0.004,
        1799,
        2181,
    )
    # de-en calls reference B "HUMAN" (id HUMAN-B), zh-en "HUMAN-B" (id HUMAN-B.12): both are human rows.
    assert [e.name for e in entries if e.is_human] == ["HUMAN"]
    assert [e.name for e in parse_ranking(ranking("zh-en")) if e.is_human] == ["HUMAN-B"]


def test_human_rows_are_excluded_unless_include_human():
    scores = load_human_scores(ranking("de-en"))
    assert sorted(scores) == sorted(DE_EN)  # exactly the submission files' names
    assert scores["Online-W"] == -0.023
    with_human = load_human_scores(ranking("de-en"), include_human=True)
    assert with_human["HUMAN"] == -0.086 and len(with_human) == 10
    zh = load_human_scores(ranking("zh-en"))
    assert len(zh) == 12 and "HUMAN-B" not in zh
    assert load_human_scores(ranking("zh-en"), include_human=True)["HUMAN-B"] == 0.134
    assert load_human_scores(ranking("de-en"), score="raw")["Online-W"] == 70.8


@pytest.mark.parametrize(
    "bad,message",
    [
        ("RAW.SCR Z.SCR N SYS N.ALL", "expected 6 space-separated fields"),
        ("66.5 high 1656 2052 Online-Y.3 Online-Y", "z mean is not a number: 'high'"),
        ("66.5 -0.08 1656.5 2052 Online-Y.3 Online-Y", "N judged is not an integer"),
        ("66.5 nan 1656 2052 Online-Y.3 Online-Y", "z mean is not a finite number"),
        ("66.5 -0.08 1656 2052 Lan-Bridge.9 Lan-Bridge", "system 'Lan-Bridge' appears twice (also line 1)"),
    ],
)
def test_malformed_line_is_one_line_error_with_file_and_line(tmp_path, bad, message):
    path = tmp_path / "ranking.csv"
    path.write_text(
        f"68.8 0.004 1799 2181 Lan-Bridge.1 Lan-Bridge\n{bad}\n70.8 -0.023 1825 2292 Online-W.2 Online-W\n",
        encoding="utf-8",
    )
    with pytest.raises(UserError) as err:
        parse_ranking(path)
    text = str(err.value)
    assert text.startswith(f"{path}:2: ") and message in text and "\n" not in text


def test_bad_human_file_in_a_run_is_one_clear_line(tmp_path):
    bad = tmp_path / "ranking.csv"
    bad.write_text(
        "68.8 0.004 1799 2181 Lan-Bridge.1 Lan-Bridge\n70.8,-0.023,1825,2292,Online-W.2,Online-W\n", encoding="utf-8"
    )
    config = tmp_path / "c.yaml"
    config.write_text(
        f"""
datasets:
  - {{name: d, kind: parallel, langpair: de-en, source: "{wmt22_path("sources", "generaltest2022.de-en.src.de")}",
      references: ["{wmt22_path("references", "generaltest2022.de-en.ref.A.en")}"], max_segments: 5,
      human_scores: ranking.csv}}
systems:
  - {{name: copy, engine: identity}}
metrics: [bleu]
""",
        encoding="utf-8",
    )
    proc = run_cli_here("run", config, "--output-dir", tmp_path / "results")
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and f"{bad}:2: expected 6 space-separated fields" in proc.stderr
    assert not (tmp_path / "results").exists()
    config.write_text(
        config.read_text(encoding="utf-8").replace("human_scores: ranking.csv", "include_human: true"), encoding="utf-8"
    )
    proc = run_cli_here("run", config, "--output-dir", tmp_path / "results")
    assert proc.returncode == 2 and "include_human need human_scores" in proc.stderr


# ------------------------------------------------------------------------------------------- correlations


def test_correlations_equal_scipys():
    metric = [30.1, 28.4, 31.0, 25.2, 27.7, 27.7, 33.5]
    human = [0.10, -0.05, 0.02, -0.20, -0.01, -0.12, 0.15]
    got = correlations(metric, human)
    assert got["pearson"] == sstats.pearsonr(metric, human).statistic
    # Spearman is Pearson of the ranks here; scipy's spearmanr goes through np.corrcoef: equal up to rounding.
    assert got["spearman"] == pytest.approx(sstats.spearmanr(metric, human).statistic, abs=1e-12)
    assert got["kendall"] == sstats.kendalltau(metric, human).statistic  # tau-b: the metric has a tie
    assert 0 < got["kendall"] < got["spearman"] < 1
    assert all(np.isnan(v) for v in correlations([1.0, 2.0], [2.0, 1.0]).values())  # fewer than 3 systems


def test_resample_correlations_equal_scipy_row_by_row():
    rng = np.random.default_rng(0)
    matrix = rng.integers(0, 6, size=(300, 9)).astype(float)  # many ties
    matrix[3] = 2.0  # a constant row: no correlation
    human = [0.1, 0.3, 0.3, -0.2, 0.0, 0.5, -0.1, 0.2, 0.4]
    got = row_correlations(matrix, human)
    for name, scipy_fn in [
        ("pearson", sstats.pearsonr),
        ("spearman", sstats.spearmanr),
        ("kendall", sstats.kendalltau),
    ]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the constant row
            expected = np.array([scipy_fn(row, human).statistic for row in matrix])
        np.testing.assert_allclose(got[name], expected, rtol=0, atol=1e-12)
        assert np.isnan(got[name][3])
        # every row is computed as a single list would be: a CI bound and its point estimate agree to the bit
        assert all(correlations(row, human)[name] == got[name][k] for k, row in enumerate(matrix[:50]) if k != 3)


def _ter_stats(ter: float, n: int = 20) -> list[list[float]]:
    """Per-segment TER statistics (edits, reference length) whose corpus TER is `ter`."""
    return [[ter / 10, 10.0]] * n


def test_ter_direction_lower_is_better():
    human = {"a": 0.3, "b": 0.1, "c": -0.1, "d": -0.4}
    ter = {"a": 40.0, "b": 50.0, "c": 60.0, "d": 75.0}  # the humans' best system has the lowest TER
    raw = correlations(list(ter.values()), list(human.values()))
    assert raw["pearson"] < -0.99 and raw["spearman"] == -1.0 and raw["kendall"] == -1.0
    stats = {name: _ter_stats(value) for name, value in ter.items()}
    for metric in (make_metric(TerConfig(name="ter")), sacrebleu.TER()):
        result = agreement(metric, "en", 1, stats, human, n_samples=50)
        assert result.pearson == pytest.approx(-raw["pearson"])
        assert (result.spearman, result.kendall, result.pairwise_accuracy) == (1.0, 1.0, 1.0)
        assert result.n_systems == 4


def test_pairwise_accuracy():
    assert pairwise_accuracy([1, 2, 3, 4], [1, 3, 2, 4]) == 5 / 6  # one of six pairs swapped
    assert pairwise_accuracy([1, 1, 3, 4], [1, 2, 3, 4]) == 5 / 6  # a metric tie is wrong
    assert pairwise_accuracy([1, 2, 3, 4], [1, 1, 3, 4]) == 1.0  # a human tie orders nothing: left out
    assert pairwise_accuracy([4, 3, 2, 1], [1, 2, 3, 4]) == 0.0
    assert np.isnan(pairwise_accuracy([1, 2], [5, 5]))


def test_systems_without_human_score_are_left_out():
    human = {"a": 0.3, "b": 0.1, "c": -0.1}
    stats = {name: _ter_stats(value) for name, value in {"a": 40.0, "b": 50.0, "c": 60.0, "copy": 99.0}.items()}
    result = agreement(sacrebleu.TER(), "en", 1, stats, human, n_samples=0)
    assert result.systems == ("a", "b", "c") and result.ci is None


# --------------------------------------------------------------------------------------- bootstrap CI


@pytest.fixture(scope="module")
def de_en_chrf():
    """chrF per-segment statistics of the 9 WMT22 de-en submissions on the first 60 segments."""
    n = 60
    refs = [read_lines(wmt22_path("references", "generaltest2022.de-en.ref.A.en"))[:n]]
    hyps = {s: read_lines(wmt22_path("system-outputs", f"generaltest2022.de-en.hyp.{s}.en"))[:n] for s in DE_EN}
    metric = make_metric(ChrfConfig(name="chrf"))
    results = score_systems([metric], "en", refs, hyps)
    return metric, refs, hyps, {s: results[(s, metric.label)].stats for s in DE_EN}


def test_ci_contains_the_estimate_and_is_reproducible(de_en_chrf):
    metric, _, _, stats = de_en_chrf
    human = load_human_scores(ranking("de-en"))
    first = agreement(metric, "en", 1, stats, human, n_samples=200, seed=7)
    again = agreement(metric, "en", 1, stats, human, n_samples=200, seed=7)
    other = agreement(metric, "en", 1, stats, human, n_samples=200, seed=8)
    assert first == again
    assert first.ci != other.ci
    for name in ("pearson", "spearman", "kendall"):
        low, high = first.ci[name]
        assert -1 <= low <= getattr(first, name) <= high <= 1


def test_ci_resamples_segments_and_rescores_every_system(de_en_chrf):
    """The bounds are the correlations of sacrebleu's own corpus scores on the resampled segments."""
    metric, refs, hyps, stats = de_en_chrf
    human = load_human_scores(ranking("de-en"))
    n_samples, seed = 40, 3
    result = agreement(metric, "en", 1, stats, human, n_samples=n_samples, seed=seed)
    y = [human[s] for s in DE_EN]
    pearsons = []
    for row in indices(seed, len(refs[0]), n_samples):
        scores = [
            sacrebleu.CHRF().corpus_score([hyps[s][i] for i in row], [[refs[0][i] for i in row]]).score for s in DE_EN
        ]
        pearsons.append(sstats.pearsonr(scores, y).statistic)
    pearsons.sort()
    assert result.ci["pearson"] == pytest.approx((pearsons[1], pearsons[-2]), rel=1e-5)  # N // 40 = 1


# ------------------------------------------------------------------------------------------ end to end

N = 40  # segments per dataset: what is checked is the table, not the size (the embeddings of 21 systems cost
# about a minute at 150)


@pytest.fixture(scope="module")
def meta_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("results")
    cache = tmp_path_factory.mktemp("meta-cache")  # a cold score cache: module fixtures run before private_cache
    cut = [arg for name in ("wmt22-de-en", "wmt22-zh-en") for arg in ("--set", f"datasets.{name}.max_segments={N}")]
    proc = run_cli_here(
        "run",
        ROOT / "configs" / "wmt22-meta.yaml",
        *cut,
        "--output-dir",
        out,
        env={"EVALHARNESS_CACHE_DIR": str(cache)},
        check=True,
    )
    return out / "wmt22-meta", proc


@pytest.mark.slow
def test_wmt22_meta_writes_the_agreement_table(meta_run):
    run_dir, proc = meta_run
    assert "warning" not in proc.stderr  # every submission matched its human score
    table = pd.read_csv(run_dir / "agreement.csv")
    assert (
        list(table.columns)
        == COLUMNS
        == [
            "dataset",
            "metric",
            "n_systems",
            "pearson",
            "pearson_ci_low",
            "pearson_ci_high",
            "spearman",
            "spearman_ci_low",
            "spearman_ci_high",
            "kendall",
            "kendall_ci_low",
            "kendall_ci_high",
            "pairwise_accuracy",
        ]
    )
    metrics = ("BLEU", "chrF2", "chrF2++", "TER", "Emb-e5", "Emb-e5-src", "Emb-minilm")
    assert len(table) == 2 * len(metrics)
    assert set(zip(table.dataset, table.metric, strict=True)) == {
        (d, m) for d in ("wmt22-de-en", "wmt22-zh-en") for m in metrics
    }
    assert dict(zip(table.dataset, table.n_systems, strict=True)) == {"wmt22-de-en": 9, "wmt22-zh-en": 12}
    for name in ("pearson", "spearman", "kendall"):
        assert table[name].between(-1, 1).all()
        assert (table[f"{name}_ci_low"] <= table[f"{name}_ci_high"]).all()
        assert table[f"{name}_ci_low"].between(-1, 1).all() and table[f"{name}_ci_high"].between(-1, 1).all()
    assert table.pairwise_accuracy.between(0, 1).all()


@pytest.mark.slow
def test_wmt22_meta_correlations_come_from_the_scores_table(meta_run):
    """Pearson of scores.csv (copy-source and HUMAN-B left out, TER negated) with the z-scores, by scipy."""
    run_dir, _ = meta_run
    scores = pd.read_csv(run_dir / "scores.csv")
    table = pd.read_csv(run_dir / "agreement.csv").set_index(["dataset", "metric"])
    for dataset, pair in [("wmt22-de-en", "de-en"), ("wmt22-zh-en", "zh-en")]:
        human = load_human_scores(ranking(pair))
        for metric, sign in [("BLEU", 1), ("TER", -1)]:
            rows = scores[(scores.dataset == dataset) & (scores.metric == metric) & (scores.level == "segment")]
            rows = rows[rows.system.isin(human)]
            expected = sstats.pearsonr(sign * rows.score, [human[s] for s in rows.system]).statistic
            assert table.loc[(dataset, metric), "pearson"] == pytest.approx(expected, abs=1e-12)
            assert table.loc[(dataset, metric), "n_systems"] == len(rows)


def test_no_human_scores_no_agreement_file(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(
        f"""
datasets:
  - {{name: d, kind: parallel, langpair: de-en, source: "{wmt22_path("sources", "generaltest2022.de-en.src.de")}",
      references: ["{wmt22_path("references", "generaltest2022.de-en.ref.A.en")}"], max_segments: 5}}
systems:
  - {{name: copy, engine: identity}}
metrics: [bleu]
""",
        encoding="utf-8",
    )
    run_cli_here("run", config, "--output-dir", tmp_path / "results", check=True)
    assert (tmp_path / "results" / "c" / "scores.csv").exists()
    assert not (tmp_path / "results" / "c" / "agreement.csv").exists()
