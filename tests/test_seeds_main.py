"""The main job (configs/seeds.yaml): Gemma against the copy-source floor on the user's seeds, reproducibly."""

from __future__ import annotations

import json
import shutil
import subprocess

import pandas as pd
import pytest
from evalharness.results import RUN_FILE, RUN_KEYS

from conftest import ROOT, run_cli, shared_cache_held


@pytest.fixture(scope="module")
def seeds_runs(tmp_path_factory):
    """The shipped config twice: as `make run` runs it (from a copy of the repository's configs/ and seeds/, so
    every relative path is the one the committed results/seeds holds), with the test run's shared cache (the
    translations of whichever test ran the main job first: test_api's README example, or this run itself), then
    with no cache at all (translating again, so the byte-for-byte comparisons below cover a fresh translation
    whether or not the first run found the cache warm)."""
    out = tmp_path_factory.mktemp("seeds")
    clone = out / "clone"
    (clone / "configs").mkdir(parents=True)
    shutil.copy(ROOT / "configs" / "seeds.yaml", clone / "configs" / "seeds.yaml")
    shutil.copytree(ROOT / "seeds", clone / "seeds")
    with shared_cache_held() as cache:
        run_cli("run", "configs/seeds.yaml", cwd=clone, env={"EVALHARNESS_CACHE_DIR": str(cache)}, check=True)
    run_cli("run", clone / "configs" / "seeds.yaml", "--output-dir", out / "second", "--no-cache", check=True)
    return clone / "results" / "seeds", out / "second" / "seeds"


def tracked(folder: str) -> list[str]:
    listed = subprocess.run(["git", "ls-files", folder], cwd=ROOT, capture_output=True, text=True, check=True)
    return [line.removeprefix(folder + "/") for line in listed.stdout.splitlines()]


def test_the_run_facts_are_in_an_untracked_file_and_not_in_the_committed_manifest():
    manifest = json.loads((ROOT / "results" / "seeds" / "manifest.json").read_text(encoding="utf-8"))
    assert not set(manifest) & set(RUN_KEYS)  # no clock, machine, commit or cache counts: `make run` keeps it
    assert RUN_FILE not in tracked("results/seeds")
    ignored = subprocess.run(["git", "check-ignore", "-q", f"results/seeds/{RUN_FILE}"], cwd=ROOT)
    assert ignored.returncode == 0  # git status stays clean after `make run`


@pytest.mark.slow
def test_make_run_writes_the_committed_results_byte_for_byte(seeds_runs):
    fresh = seeds_runs[0]
    committed = tracked("results/seeds")
    written = sorted(str(p.relative_to(fresh)) for p in fresh.rglob("*") if p.is_file() and p.name != RUN_FILE)
    assert written == sorted(committed)
    different = [
        name for name in committed if (fresh / name).read_bytes() != (ROOT / "results/seeds" / name).read_bytes()
    ]
    assert different == []  # else regenerate: `make run` and commit results/seeds


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
