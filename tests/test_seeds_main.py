"""The main job (configs/seeds.yaml): Gemma against the copy-source floor on the user's seeds, reproducibly."""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import ROOT, run_cli


@pytest.fixture(scope="module")
def seeds_runs(tmp_path_factory):
    """The shipped config twice: cold, then with no cache at all (translating again)."""
    out = tmp_path_factory.mktemp("seeds")
    config = ROOT / "configs" / "seeds.yaml"
    run_cli("run", config, "--output-dir", out / "first", env={"EVALHARNESS_CACHE_DIR": str(out / "cache")}, check=True)
    run_cli("run", config, "--output-dir", out / "second", "--no-cache", check=True)
    return out / "first" / "seeds", out / "second" / "seeds"


@pytest.mark.slow
def test_rerun_reproduces_scores_csv_byte_for_byte(seeds_runs):
    first, second = seeds_runs
    assert (first / "scores.csv").read_bytes() == (second / "scores.csv").read_bytes()
    assert (first / "summary.csv").read_bytes() == (second / "summary.csv").read_bytes()


@pytest.mark.slow
def test_gemma_beats_the_identity_baseline_on_the_german_seed(seeds_runs):
    summary = pd.read_csv(seeds_runs[0] / "summary.csv")
    de = summary[summary.dataset == "seeds-de-en"].set_index(["system", "level"])
    for level in ("segment", "document"):
        assert de.loc[("gemma-270m", level), "BLEU"] > de.loc[("copy-source", level), "BLEU"]
        assert de.loc[("gemma-270m", level), "chrF2"] > de.loc[("copy-source", level), "chrF2"]


@pytest.mark.slow
def test_round_trip_rows_carry_their_pivot_on_target_rate(seeds_runs):
    summary = pd.read_csv(seeds_runs[0] / "summary.csv")
    rt = summary[summary.dataset == "seeds-zh-origin"].set_index(["system", "level"])
    assert rt["pivot_on_target_rate"].notna().all()
    assert rt.loc[("copy-source", "segment"), "valid"] == False  # noqa: E712 (a numpy bool)
    assert rt.loc[("gemma-270m", "segment"), "pivot_on_target_rate"] > 0.5


@pytest.mark.slow
def test_committed_results_have_the_same_rows_as_a_fresh_run(seeds_runs):
    fresh = pd.read_csv(seeds_runs[0] / "scores.csv")
    committed = pd.read_csv(ROOT / "results" / "seeds" / "scores.csv")
    keys = ["dataset", "system", "level", "metric"]
    assert fresh[keys].equals(committed[keys])
