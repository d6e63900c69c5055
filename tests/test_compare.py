"""Run-level comparison: paired significance against the configured baseline equals sacrebleu's PairedTest."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from evalharness.textio import read_lines
from sacrebleu.metrics import BLEU
from sacrebleu.significance import PairedTest

from conftest import run_cli_here, wmt22_path

N = 200
SYSTEMS = ["Online-B", "LT22", "PROMT"]


def de_en_run(
    folder: Path, name: str, systems: list[str], metrics: str, statistics: str, segments: int | None = N
) -> Path:
    """Run N segments (`segments`; None: all) of WMT22 de-en submissions (`outputs` engine) through the real
    command line; the results folder."""
    hyp = {s: wmt22_path("system-outputs", f"generaltest2022.de-en.hyp.{s}.en") for s in systems}
    (folder / f"{name}.yaml").write_text(
        f"""
datasets:
  - name: de-en
    kind: parallel
    langpair: de-en
    source: "{wmt22_path("sources", "generaltest2022.de-en.src.de")}"
    references: ["{wmt22_path("references", "generaltest2022.de-en.ref.A.en")}"]
    max_segments: {"null" if segments is None else segments}
systems:
"""
        + "".join(f'  - {{name: {s}, engine: outputs, path: "{hyp[s]}"}}\n' for s in systems)
        + f"metrics: {metrics}\nstatistics: {statistics}\n",
        encoding="utf-8",
    )
    run_cli_here("run", folder / f"{name}.yaml", "--output-dir", folder / "results", check=True)
    return folder / "results" / name


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    out = de_en_run(
        tmp_path_factory.mktemp("compare"), "cmp", SYSTEMS, "[bleu]", "{baseline: Online-B, all_pairs: true}"
    )
    return pd.read_csv(out / "scores.csv").set_index("system")


def test_p_values_against_the_baseline_equal_sacrebleus_paired_bootstrap(compared):
    refs = [read_lines(wmt22_path("references", "generaltest2022.de-en.ref.A.en"))[:N]]
    named = [(s, read_lines(wmt22_path("system-outputs", f"generaltest2022.de-en.hyp.{s}.en"))[:N]) for s in SYSTEMS]
    _, results = PairedTest(named, {"BLEU": BLEU(references=refs)}, references=None, test_type="bs", n_samples=1000)()
    for name, result in zip(SYSTEMS[1:], results["BLEU"][1:], strict=True):
        assert compared.loc[name, "p_value"] == pytest.approx(result.p_value, abs=0)
    assert compared.loc["Online-B", "p_value"] != compared.loc["Online-B", "p_value"]  # NaN: the baseline itself
    assert set(compared.baseline) == {"Online-B"}


def test_all_pairs_put_systems_into_ranks(compared):
    assert compared["rank"].min() == 1
    assert compared.loc["LT22", "rank"] > compared.loc["Online-B", "rank"]  # LT22 is ~7 BLEU behind


def test_unknown_baseline_is_one_clear_error(tmp_path):
    (tmp_path / "c.yaml").write_text(
        f"""
datasets:
  - {{name: d, kind: parallel, langpair: de-en, source: "{wmt22_path("sources", "generaltest2022.de-en.src.de")}",
      references: ["{wmt22_path("references", "generaltest2022.de-en.ref.A.en")}"], max_segments: 5}}
systems:
  - {{name: copy, engine: identity}}
statistics: {{baseline: nope}}
""",
        encoding="utf-8",
    )
    proc = run_cli_here("run", tmp_path / "c.yaml", "--output-dir", tmp_path / "results")
    assert proc.returncode == 2 and "statistics.baseline: no system named 'nope'" in proc.stderr


def _files(tmp_path):
    ref = tmp_path / "ref.en"
    ref.write_text("\n".join(read_lines(wmt22_path("references", "generaltest2022.de-en.ref.A.en"))[:N]) + "\n")
    hyps = []
    for s in SYSTEMS:
        path = tmp_path / f"{s}.en"
        path.write_text(
            "\n".join(read_lines(wmt22_path("system-outputs", f"generaltest2022.de-en.hyp.{s}.en"))[:N]) + "\n"
        )
        hyps.append(path)
    return ref, hyps


def test_score_paired_bootstrap_json_with_chrf_equals_sacrebleu(tmp_path):
    """sacrebleu's own CLI crashes on --paired-bs -f json with chrF; ours gives its p-values."""
    import json

    from sacrebleu.metrics import CHRF

    ref, hyps = _files(tmp_path)
    proc = run_cli_here("score", "--ref", ref, "--hyp", *hyps, "-m", "chrf", "--paired-bs", "-f", "json", check=True)
    records = {r["system"]: r for r in json.loads(proc.stdout)}
    refs = [read_lines(ref)]
    named = [(p.name, read_lines(p)) for p in hyps]
    _, results = PairedTest(named, {"chrF2": CHRF(references=refs)}, references=None, test_type="bs", n_samples=1000)()
    for (name, _), result in zip(named[1:], results["chrF2"][1:], strict=True):
        assert records[name]["p_value"] == result.p_value
        assert records[name]["baseline"] == hyps[0].name


def test_score_paired_randomization_names_the_baseline(tmp_path):
    ref, hyps = _files(tmp_path)
    proc = run_cli_here(
        "score",
        "--ref",
        ref,
        "--hyp",
        *hyps,
        "-m",
        "bleu",
        "--paired-ar",
        "--n-samples",
        "500",
        "--baseline",
        hyps[1].name,
        check=True,
    )
    scores = pd.read_csv(__import__("io").StringIO(proc.stdout)).set_index("system")
    assert pd.isna(scores.loc[hyps[1].name, "p_value"])
    assert scores.loc[hyps[0].name, "p_value"] < 0.05  # Online-B vs LT22: ~8 BLEU apart
    assert set(scores.baseline) == {hyps[1].name}


def test_markdown_bolds_the_best_score_respecting_direction():
    from evalharness.reporting.tables import render

    frame = pd.DataFrame(
        {
            "dataset": ["d", "d"],
            "system": ["a", "b"],
            "level": ["segment", "segment"],
            "BLEU": [30.0, 20.0],
            "TER": [60.0, 50.0],
        }
    )
    text = render(frame, "md", [], {"BLEU": True, "TER": False})
    assert "**30.00**" in text and "**50.00**" in text  # TER: lower is better
    assert "**20.00**" not in text and "**60.00**" not in text


def test_dagger_marks_only_significant_wins_over_the_baseline():
    from evalharness.reporting.tables import render

    frame = pd.DataFrame(
        {
            "dataset": ["d"] * 3,
            "system": ["base", "win", "loss"],
            "level": ["segment"] * 3,
            "BLEU": [25.0, 30.0, 20.0],
            "BLEU significant": [None, True, False],
            "BLEU significantly_worse": [None, False, True],
            "baseline": ["base"] * 3,
        }
    )
    latex = render(frame, "latex", [], {"BLEU": True})
    assert r"\textbf{30.00}$^\dagger$" in latex
    assert r"20.00$^\ddagger$" in latex and r"20.00$^\dagger$" not in latex  # a loss is marked as one
    assert r"\toprule" in latex and "significantly better/worse than base" in latex


# ---------------------------------------------------------------- all pairs: pairwise.csv, rank ranges, deltas

RANKED = ["Online-B", "PROMT", "LT22", "Online-W"]


@pytest.fixture(scope="module")
def ranked(tmp_path_factory):
    """Four WMT22 de-en systems (200 segments), BLEU and TER, tested against PROMT and all against all."""
    folder = tmp_path_factory.mktemp("ranked")
    return de_en_run(folder, "ranked", RANKED, "[bleu, ter]", "{baseline: PROMT, all_pairs: true}")


def _segment_stats(metric, system: str) -> list:
    refs = [read_lines(wmt22_path("references", "generaltest2022.de-en.ref.A.en"))[:N]]
    hyps = read_lines(wmt22_path("system-outputs", f"generaltest2022.de-en.hyp.{system}.en"))[:N]
    return metric._extract_corpus_statistics(hyps, refs)


def test_pairwise_csv_holds_every_pair_once_per_metric(ranked):
    pairs = pd.read_csv(ranked / "pairwise.csv")
    assert len(pairs) == 2 * 6  # BLEU and TER, 4 systems: 6 pairs each
    for _, rows in pairs.groupby("metric"):
        assert {frozenset(p) for p in zip(rows.system_a, rows.system_b, strict=True)} == {
            frozenset((a, b)) for i, a in enumerate(RANKED) for b in RANKED[i + 1 :]
        }
    assert set(pairs.test) == {"bs"} and set(pairs.n_samples) == {1000}


def test_pairwise_p_values_equal_sacrebleus_paired_bootstrap_with_either_system_as_baseline(ranked):
    pairs = pd.read_csv(ranked / "pairwise.csv")
    bleu = pairs[(pairs.metric == "BLEU")].set_index(["system_a", "system_b"])
    refs = [read_lines(wmt22_path("references", "generaltest2022.de-en.ref.A.en"))[:N]]
    named = [(s, read_lines(wmt22_path("system-outputs", f"generaltest2022.de-en.hyp.{s}.en"))[:N]) for s in RANKED]
    # sacrebleu's PairedTest with LT22 (not our baseline) as its baseline
    order = [named[2], named[0], named[1], named[3]]
    _, results = PairedTest(order, {"BLEU": BLEU(references=refs)}, references=None, test_type="bs", n_samples=1000)()
    for (name, _), result in zip(order[1:], results["BLEU"][1:], strict=True):
        key = ("LT22", name) if ("LT22", name) in bleu.index else (name, "LT22")
        assert bleu.loc[key, "p_value"] == result.p_value


def test_pairs_with_the_baseline_have_the_p_values_of_scores_csv(ranked):
    pairs = pd.read_csv(ranked / "pairwise.csv")
    scores = pd.read_csv(ranked / "scores.csv")
    for row in scores[scores.system != "PROMT"].itertuples():
        pair = pairs[
            (pairs.metric == row.metric)
            & (
                ((pairs.system_a == row.system) & (pairs.system_b == "PROMT"))
                | ((pairs.system_b == row.system) & (pairs.system_a == "PROMT"))
            )
        ]
        assert len(pair) == 1 and pair.p_value.iloc[0] == row.p_value


def test_rank_ranges_are_the_wmt_findings_ranges_from_the_pairs(ranked):
    """rank_low = 1 + systems significantly better; rank_high = systems not significantly worse (itself included)."""
    pairs = pd.read_csv(ranked / "pairwise.csv", keep_default_na=False, na_values=[""])
    scores = pd.read_csv(ranked / "scores.csv")
    for row in scores.itertuples():
        mine = pairs[(pairs.metric == row.metric) & ((pairs.system_a == row.system) | (pairs.system_b == row.system))]
        side = ["a" if a == row.system else "b" for a in mine.system_a]
        wins = sum(better == s for better, s in zip(mine.better, side, strict=True))
        losses = sum(isinstance(better, str) and better != s for better, s in zip(mine.better, side, strict=True))
        assert (row.rank_low, row.rank_high) == (1 + losses, len(RANKED) - wins)


def test_significant_means_better_and_losses_are_marked_separately(ranked):
    scores = pd.read_csv(ranked / "scores.csv").set_index(["system", "metric"])
    win, loss = scores.loc[("Online-B", "BLEU")], scores.loc[("LT22", "BLEU")]
    assert win.significant and not win.significantly_worse and win.delta > 0
    assert loss.significantly_worse and not loss.significant and loss.delta < 0
    ter = scores.loc[("LT22", "TER")]  # lower is better: a higher TER is the loss
    assert ter.significantly_worse and not ter.significant and ter.delta > 0


def test_delta_to_the_baseline_has_the_paired_bootstrap_interval_of_the_difference(ranked):
    """Independently: sacrebleu's draws (default_rng(12345).choice), each resample scored by sacrebleu's BLEU, the
    2.5/97.5 percentiles of system minus baseline (sorted values at n // 40 and n - n // 40 - 1)."""
    import numpy as np

    scores = pd.read_csv(ranked / "scores.csv").set_index(["system", "metric"])
    row = scores.loc[("Online-B", "BLEU")]
    assert row.delta == pytest.approx(row.score - scores.loc[("PROMT", "BLEU"), "score"], abs=1e-12)
    bleu = BLEU()
    stats = {s: np.array(_segment_stats(bleu, s), dtype="float32") for s in ("Online-B", "PROMT")}
    idxs = np.random.default_rng(12345).choice(N, size=(1000, N), replace=True)
    resampled = {
        s: np.array([bleu._compute_score_from_stats(list(stats[s][i].sum(0))).score for i in idxs]) for s in stats
    }
    diffs = np.sort(resampled["Online-B"] - resampled["PROMT"])
    assert row.delta_ci_low == pytest.approx(diffs[25], abs=1e-9)
    assert row.delta_ci_high == pytest.approx(diffs[1000 - 25 - 1], abs=1e-9)
    assert row.delta_ci_low < row.delta < row.delta_ci_high
    assert pd.isna(scores.loc[("PROMT", "BLEU"), "delta"])  # the baseline itself


# ------------------------------------------------------- a WMT cluster is not a tie: the rank range says who is


CLUSTERED = ["Online-G", "JDExploreAcademy", "Online-B", "Online-Y", "PROMT", "Online-W"]


@pytest.fixture(scope="module")
def clustered(tmp_path_factory):
    """Six WMT22 de-en submissions on the whole test set (reference A), chrF, all pairs, baseline Online-B."""
    folder = tmp_path_factory.mktemp("clustered")
    return de_en_run(folder, "clustered", CLUSTERED, "[chrf]", "{baseline: Online-B, all_pairs: true}", None)


def test_one_cluster_can_hold_systems_significantly_different_from_each_other(clustered):
    """WMT clusters: a boundary only where every system above is significantly better than every system below.
    Here no such boundary exists (neighbours are never separable), so all six share cluster 1, and yet Online-G
    is significantly better than the baseline Online-B, which is significantly better than PROMT and Online-W;
    the rank ranges say so."""
    summary = pd.read_csv(clustered / "summary.csv").set_index("system")
    assert set(summary["chrF2 rank"]) == {1}
    assert summary.at["Online-G", "chrF2 significant"] is True
    assert summary.at["PROMT", "chrF2 significantly_worse"] is True
    assert summary.at["Online-W", "chrF2 significantly_worse"] is True
    pairs = pd.read_csv(clustered / "pairwise.csv", keep_default_na=False, na_values=[""])
    winners = {
        frozenset((a, b)): (a if better == "a" else b)
        for a, b, better in zip(pairs.system_a, pairs.system_b, pairs.better, strict=True)
        if isinstance(better, str)
    }
    assert winners[frozenset(("Online-G", "Online-B"))] == "Online-G"
    assert winners[frozenset(("Online-B", "PROMT"))] == winners[frozenset(("Online-B", "Online-W"))] == "Online-B"
    # The rank ranges are what tells them apart: from 1-2 for Online-G down to 5-6 for Online-W.
    ranges = summary[["chrF2 rank_low", "chrF2 rank_high"]].astype(int)
    assert {system: (low, high) for system, low, high in ranges.itertuples()} == {
        "Online-G": (1, 2),
        "JDExploreAcademy": (1, 3),
        "Online-B": (2, 4),
        "Online-Y": (3, 5),
        "PROMT": (4, 6),
        "Online-W": (5, 6),
    }
