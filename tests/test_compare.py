"""Run-level comparison: paired significance against the configured baseline equals sacrebleu's PairedTest."""

from __future__ import annotations

import pandas as pd
import pytest
from evalharness.textio import read_lines
from sacrebleu.metrics import BLEU
from sacrebleu.significance import PairedTest

from conftest import run_cli, wmt22_path

N = 200
SYSTEMS = ["Online-B", "LT22", "PROMT"]


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    folder = tmp_path_factory.mktemp("compare")
    hyp = {s: wmt22_path("system-outputs", f"generaltest2022.de-en.hyp.{s}.en") for s in SYSTEMS}
    (folder / "cmp.yaml").write_text(
        f"""
datasets:
  - name: de-en
    kind: parallel
    langpair: de-en
    source: "{wmt22_path("sources", "generaltest2022.de-en.src.de")}"
    references: ["{wmt22_path("references", "generaltest2022.de-en.ref.A.en")}"]
    max_segments: {N}
systems:
"""
        + "".join(f'  - {{name: {s}, engine: outputs, path: "{hyp[s]}"}}\n' for s in SYSTEMS)
        + """
metrics: [bleu]
statistics: {baseline: Online-B, all_pairs: true}
""",
        encoding="utf-8",
    )
    run_cli("run", folder / "cmp.yaml", "--output-dir", folder / "results", check=True)
    return pd.read_csv(folder / "results" / "cmp" / "scores.csv").set_index("system")


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
    proc = run_cli("run", tmp_path / "c.yaml", "--output-dir", tmp_path / "results")
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
    proc = run_cli("score", "--ref", ref, "--hyp", *hyps, "-m", "chrf", "--paired-bs", "-f", "json", check=True)
    records = {r["system"]: r for r in json.loads(proc.stdout)}
    refs = [read_lines(ref)]
    named = [(p.name, read_lines(p)) for p in hyps]
    _, results = PairedTest(named, {"chrF2": CHRF(references=refs)}, references=None, test_type="bs", n_samples=1000)()
    for (name, _), result in zip(named[1:], results["chrF2"][1:], strict=True):
        assert records[name]["p_value"] == result.p_value
        assert records[name]["baseline"] == hyps[0].name


def test_score_paired_randomization_names_the_baseline(tmp_path):
    ref, hyps = _files(tmp_path)
    proc = run_cli(
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
    from evalharness.tables import render

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
    from evalharness.tables import render

    frame = pd.DataFrame(
        {
            "dataset": ["d"] * 3,
            "system": ["base", "win", "loss"],
            "level": ["segment"] * 3,
            "BLEU": [25.0, 30.0, 20.0],
            "BLEU significant": [None, True, True],
            "baseline": ["base"] * 3,
        }
    )
    latex = render(frame, "latex", [], {"BLEU": True})
    assert r"\textbf{30.00}$^\dagger$" in latex
    assert r"20.00$^\dagger$" not in latex  # significantly worse is not a win
    assert r"\toprule" in latex and "significantly better than base" in latex
