"""The embedded default, for real: Gemma 3 270M from its PyPI package, offline, on three German sentences."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from conftest import run_cli_here, write_three_sentence_run


@pytest.fixture(scope="module")
def gemma_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gemma")
    config = write_three_sentence_run(
        folder, "  - {name: gemma, engine: gemma-270m}\n  - {name: copy, engine: identity}"
    )
    run_cli_here("run", config, "--output-dir", folder / "results", check=True)
    return folder / "results" / "run"


@pytest.mark.model
def test_gemma_default_translates_german_into_english(gemma_run):
    hyps = [json.loads(line) for line in (gemma_run / "segments.jsonl").read_text().splitlines()]
    gemma = [h for h in hyps if h["system"] == "gemma"]
    assert len(gemma) == 3 and all(h["hypothesis"] for h in gemma)
    assert sum(h["hypothesis_lang"] == "en" for h in gemma) >= 2
    assert all("\n" not in h["hypothesis"] for h in gemma)


@pytest.mark.model
def test_gemma_default_beats_copying_the_source_in_chrf(gemma_run):
    summary = pd.read_csv(gemma_run / "summary.csv").set_index("system")
    assert summary.loc["gemma", "chrF2"] > summary.loc["copy", "chrF2"]
    assert summary.loc["gemma", "off_target_rate"] < summary.loc["copy", "off_target_rate"]
