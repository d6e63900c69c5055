"""Deltas in human terms (Kocmi et al. 2024): `human_agreement` in scores.csv (against the baseline) and
pairwise.csv is `mt_thresholds.accuracy` of the delta, for the metrics the package has a curve of, and empty for
the others. The tests on a whole run (one module fixture) are `slow`; the quick tier checks the pieces."""

from __future__ import annotations

import math
from types import SimpleNamespace

import mt_thresholds
import pandas as pd
import pytest
from evalharness import api
from evalharness.api import metric_configs
from evalharness.reporting.plots import MAX_SETTING, setting_text
from evalharness.reporting.report import human_terms_rows
from evalharness.results import PairRow, pairwise_frame, read_folder
from evalharness.statistics.humanterms import human_agreement

from conftest import ENGLISH, GERMAN

GOOD = ["The train to Berlin is twenty minutes late today.", "The city wants more money for schools.", "Sunny."]
WEAK = ["Train Berlin late.", "City money schools year.", "Weekend sunny warm."]
OTHER_REFERENCE = ["Today the Berlin train runs twenty minutes late.", "Next year the city spends more.", "Warm."]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One run: a dataset with one reference and one with two, systems `good`, `weak` and the baseline `copy`,
    metrics with and without curves."""
    folder = tmp_path_factory.mktemp("human-terms")
    for name, lines in {"src.de": GERMAN, "ref.en": ENGLISH, "ref2.en": OTHER_REFERENCE, "good.en": GOOD}.items():
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "weak.en").write_text("\n".join(WEAK) + "\n", encoding="utf-8")
    (folder / "run.yaml").write_text(
        """
datasets:
  - {name: one-ref, kind: parallel, langpair: de-en, source: src.de, references: [ref.en]}
  - {name: two-refs, kind: parallel, langpair: de-en, source: src.de, references: [ref.en, ref2.en]}
systems:
  - {name: good, engine: outputs, path: good.en}
  - {name: weak, engine: outputs, path: weak.en}
  - {name: copy, engine: identity}
metrics: [bleu, chrf, chrf++, ter, {name: bleu, tokenize: char, label: BLEU-char}]
statistics: {baseline: copy, bootstrap: 100}
""",
        encoding="utf-8",
    )
    api.run(folder / "run.yaml", output_dir=folder / "results", workers=1)
    out = folder / "results" / "run"
    return SimpleNamespace(folder=out, scores=read_folder(out).scores, pairs=pd.read_csv(out / "pairwise.csv"))


CURVES = {"BLEU": "bleu", "chrF2": "chrf"}


@pytest.mark.slow
def test_a_delta_against_the_baseline_in_human_terms(run):
    scores = run.scores[(run.scores["dataset"] == "one-ref") & run.scores["delta"].notna()]
    checked = scores[scores["metric"].isin(CURVES)]
    assert len(checked) == 4  # good and weak, BLEU and chrF2
    for row in checked.itertuples():
        assert row.human_agreement == mt_thresholds.accuracy(abs(row.delta), CURVES[row.metric])


@pytest.mark.slow
def test_a_tested_pair_in_human_terms(run):
    pairs = run.pairs
    checked = pairs[(pairs["dataset"] == "one-ref") & pairs["metric"].isin(CURVES)]
    assert len(checked) == 4  # good and weak against the baseline, BLEU and chrF2
    for row in checked.itertuples():
        assert row.human_agreement == mt_thresholds.accuracy(abs(row.delta), CURVES[row.metric])


@pytest.mark.slow
@pytest.mark.parametrize("metric", ["chrF2++", "TER", "BLEU-char"])
def test_a_metric_without_a_curve_has_no_value(run, metric):
    scores = run.scores[(run.scores["metric"] == metric) & run.scores["delta"].notna()]
    assert len(scores) == 4 and scores["human_agreement"].isna().all()


@pytest.mark.slow
def test_several_references_have_no_value(run):
    scores = run.scores[(run.scores["dataset"] == "two-refs") & run.scores["delta"].notna()]
    assert len(scores) and scores["human_agreement"].isna().all()


def test_pairwise_frame_writes_the_pair_in_human_terms():
    """pairwise.csv's rows as the run writes them: a pair of a metric with a curve, and one without."""
    rows = [
        PairRow("d", "a", {}, "b", {}, "BLEU", 30.0, 27.5, 0.01, "a", "bs", 1000, curve="bleu"),
        PairRow("d", "a", {}, "b", {}, "chrF2++", 50.0, 51.0, 0.2, None, "bs", 1000, curve=None),
    ]
    frame = pairwise_frame(rows, [])
    assert frame["human_agreement"][0] == mt_thresholds.accuracy(2.5, "bleu")
    assert pd.isna(frame["human_agreement"][1])
    assert list(frame.columns).index("human_agreement") == list(frame.columns).index("delta") + 1


def test_the_sign_of_the_delta_does_not_matter():
    """The curve reads how large the delta is: -2 BLEU says as much about which system is better as +2."""
    assert human_agreement(-2.0, "bleu") == human_agreement(2.0, "bleu") == mt_thresholds.accuracy(2.0, "bleu")


def test_the_value_is_a_percentage():
    assert human_agreement(1.0, "bleu") == pytest.approx(63.989, abs=0.001)  # the package's own example
    assert human_agreement(0.0, "chrf") == pytest.approx(93.0 / 2)


def test_no_delta_or_no_curve_is_empty():
    assert human_agreement(None, "bleu") is None
    assert human_agreement(math.nan, "bleu") is None
    assert human_agreement(1.0, None) is None


@pytest.mark.parametrize(
    ("config", "target", "curve"),
    [
        ("bleu", "en", "bleu"),
        ("bleu", "zh", "bleu"),  # sacreBLEU's default for Chinese: tok zh
        ({"name": "bleu", "tokenize": "13a"}, "en", "bleu"),
        ({"name": "bleu", "tokenize": "13a"}, "zh", None),  # not sacreBLEU's default for Chinese
        ({"name": "bleu", "tokenize": "flores101"}, "de", "spbleu101"),
        ({"name": "bleu", "tokenize": "flores200"}, "de", "spbleu200"),
        ({"name": "bleu", "tokenize": "char"}, "en", None),
        ({"name": "bleu", "lowercase": True}, "en", None),
        ({"name": "bleu", "max_ngram_order": 2}, "en", None),
        ({"name": "bleu", "smooth_method": "floor"}, "en", None),
        ("chrf", "en", "chrf"),
        ({"name": "chrf", "beta": 1}, "en", None),
        ({"name": "chrf", "word_order": 2}, "en", None),
        ("chrf++", "en", None),
        ("ter", "en", None),
    ],
)
def test_which_metric_has_which_curve(config, target, curve):
    (metric,) = metric_configs([config])
    assert metric.human_curve(target) == curve
    assert curve is None or curve in mt_thresholds.METRICS


@pytest.mark.slow
def test_the_table_shows_it_with_its_legend(run):
    text = api.load(run.folder).table(columns=["delta", "agreement"], datasets=["one-ref"], width=400)
    assert "humans agree" in text
    assert "Kocmi et al. 2024" in text
    good = run.scores.query("dataset == 'one-ref' and system == 'good' and metric == 'BLEU'").iloc[0]
    assert f"{good.human_agreement:.0f}%" in text


@pytest.mark.slow
def test_the_report_has_deltas_in_human_terms(run):
    html = (run.folder / "report.html").read_text(encoding="utf-8")
    assert "Deltas in human terms" in html
    good = run.scores.query("dataset == 'one-ref' and system == 'good' and metric == 'chrF2'").iloc[0]
    assert f'<td>chrF2</td><td class="num">{good.delta:+.2f}</td><td class="num">{good.human_agreement:.0f}%' in html


def test_the_reports_rows_shorten_a_long_setting_as_the_rest_of_the_report_does():
    """A swept path in the rows of deltas in human terms is cut from the left (`plots.setting_text`), as in the
    report's plots and segment tables; a short value and an empty one are as elsewhere (shown, left out)."""
    path = "/data/models/opus-mt-de-en/checkpoints/step-40000"
    scores = pd.DataFrame(
        {
            "dataset": ["d", "d"],
            "system": ["good", "good"],
            "model": [path, "small"],
            "beam": pd.Series([4, None], dtype=object),
            "level": ["corpus", "corpus"],
            "metric": ["BLEU", "BLEU"],
            "delta": [2.5, 1.0],
            "human_agreement": [70.0, 64.0],
        }
    )
    rows = human_terms_rows(scores)
    assert [row["system"] for row in rows] == [
        f"good (model={setting_text(path)}, beam=4)",
        "good (model=small)",
    ]
    assert setting_text(path) == "…" + path[-(MAX_SETTING - 1) :]
