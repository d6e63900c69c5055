"""The embedded default, for real: Gemma 3 270M from its PyPI package, offline, on three German sentences."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from conftest import ENGLISH, GERMAN, run_cli



@pytest.fixture(scope="module")
def gemma_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gemma")
    (folder / "src.de").write_text("\n".join(GERMAN) + "\n", encoding="utf-8")
    (folder / "ref.en").write_text("\n".join(ENGLISH) + "\n", encoding="utf-8")
    (folder / "gemma.yaml").write_text("""
datasets:
  - {name: three, kind: parallel, langpair: de-en, source: src.de, references: [ref.en]}
systems:
  - {name: gemma, engine: gemma-270m}
  - {name: copy, engine: identity}
metrics: [bleu, chrf]
""", encoding="utf-8")
    run_cli("run", folder / "gemma.yaml", "--output-dir", folder / "results", check=True)
    return folder / "results" / "gemma"


def test_gemma_default_translates_german_into_english(gemma_run):
    hyps = [json.loads(line) for line in (gemma_run / "segments.jsonl").read_text().splitlines()]
    gemma = [h for h in hyps if h["system"] == "gemma"]
    assert len(gemma) == 3 and all(h["hypothesis"] for h in gemma)
    assert sum(h["hypothesis_lang"] == "en" for h in gemma) >= 2
    assert all("\n" not in h["hypothesis"] for h in gemma)


def test_gemma_default_beats_copying_the_source_in_chrf(gemma_run):
    summary = pd.read_csv(gemma_run / "summary.csv").set_index("system")
    assert summary.loc["gemma", "chrF2"] > summary.loc["copy", "chrF2"]
    assert summary.loc["gemma", "off_target_rate"] < summary.loc["copy", "off_target_rate"]
