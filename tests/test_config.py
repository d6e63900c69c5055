"""Config loading: relative paths, ${ENV}, --set overrides, the sweep grid, and the plan."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from evalharness.config import load_config
from evalharness.errors import UserError
from evalharness.plan import build_plan
from evalharness.textio import read_lines

from conftest import run_cli_here, wmt22_path


@pytest.fixture
def data(tmp_path) -> Path:
    """Twenty WMT22 de-en segments and two systems' outputs in a data folder."""
    folder = tmp_path / "data"
    folder.mkdir()
    files = {
        "src.de": ("sources", "generaltest2022.de-en.src.de"),
        "ref.A.en": ("references", "generaltest2022.de-en.ref.A.en"),
        "hyp.Online-B.en": ("system-outputs", "generaltest2022.de-en.hyp.Online-B.en"),
        "hyp.LT22.en": ("system-outputs", "generaltest2022.de-en.hyp.LT22.en"),
    }
    for name, parts in files.items():
        (folder / name).write_text("\n".join(read_lines(wmt22_path(*parts))[:20]) + "\n", encoding="utf-8")
    return folder


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


CONFIG = """
datasets:
  - {name: news, kind: parallel, langpair: de-en, source: ../data/src.de, references: [../data/ref.A.en]}
systems:
  - {name: mt, engine: outputs, path: "../data/hyp.{system}.en"}
  - {name: copy, engine: identity}
metrics: [bleu, chrf]
"""


def test_relative_paths_resolve_against_the_config_folder(tmp_path, data, monkeypatch):
    cfg_path = write(tmp_path / "configs" / "exp.yaml", CONFIG)
    monkeypatch.chdir(tmp_path / "data")  # a different working directory must not matter
    loaded = load_config(cfg_path)
    assert loaded.config.datasets[0].source.resolve() == (data / "src.de").resolve()


def test_run_name_defaults_to_the_config_file_stem(tmp_path, data):
    loaded = load_config(write(tmp_path / "configs" / "my-exp.yaml", CONFIG))
    assert loaded.config.run_name == "my-exp"


def test_environment_variables_are_expanded_with_defaults(tmp_path, data, monkeypatch):
    text = CONFIG.replace("../data/src.de", "'${DATA_DIR}/src.de'").replace(
        "[../data/ref.A.en]", "['${NOT_SET_HERE:-../data}/ref.A.en']"
    )
    monkeypatch.setenv("DATA_DIR", str(data))
    loaded = load_config(write(tmp_path / "configs" / "env.yaml", text))
    assert loaded.config.datasets[0].source == data / "src.de"
    assert loaded.config.datasets[0].references[0].resolve() == (data / "ref.A.en").resolve()


def test_set_overrides_by_entry_name_and_parses_yaml_values(tmp_path, data):
    loaded = load_config(
        write(tmp_path / "configs" / "exp.yaml", CONFIG), ["datasets.news.max_segments=5", "metrics=[ter]", "workers=1"]
    )
    assert loaded.config.datasets[0].max_segments == 5
    assert [m.name for m in loaded.config.metrics] == ["ter"]
    assert loaded.config.workers == 1


def test_set_to_a_missing_entry_names_it(tmp_path, data):
    with pytest.raises(UserError, match="no entry 'nwes'.*did you mean 'news'"):
        load_config(write(tmp_path / "configs" / "exp.yaml", CONFIG), ["datasets.nwes.max_segments=5"])


def test_system_pattern_discovers_one_system_per_file(tmp_path, data):
    loaded = load_config(write(tmp_path / "configs" / "exp.yaml", CONFIG))
    plan = build_plan(loaded.config, loaded.base_dir)
    assert [cell.system.name for cell in plan.cells] == ["LT22", "Online-B", "copy"]


def test_sweep_multiplies_only_systems_that_have_the_setting(tmp_path, data):
    text = (
        CONFIG.replace('path: "../data/hyp.{system}.en"', "path: ../data/hyp.LT22.en")
        + "sweep:\n  path: [../data/hyp.LT22.en, ../data/hyp.Online-B.en]\n"
    )
    loaded = load_config(write(tmp_path / "configs" / "exp.yaml", text))
    plan = build_plan(loaded.config, loaded.base_dir)
    assert [(c.system.name, c.settings.get("path")) for c in plan.cells] == [
        ("mt", "../data/hyp.LT22.en"),
        ("mt", "../data/hyp.Online-B.en"),
        ("copy", None),
    ]


def test_sweep_values_become_a_column_in_the_tables(tmp_path, data):
    text = (
        CONFIG.replace('path: "../data/hyp.{system}.en"', "path: ../data/hyp.LT22.en")
        + "sweep:\n  path: [../data/hyp.LT22.en, ../data/hyp.Online-B.en]\n"
    )
    cfg = write(tmp_path / "configs" / "exp.yaml", text)
    run_cli_here("run", cfg, "--output-dir", tmp_path / "results", check=True)
    scores = pd.read_csv(tmp_path / "results" / "exp" / "scores.csv", keep_default_na=False)
    assert list(scores.columns[:3]) == ["dataset", "system", "path"]
    assert set(scores[scores.system == "mt"].path) == {"../data/hyp.LT22.en", "../data/hyp.Online-B.en"}
    assert set(scores[scores.system == "copy"].path) == {""}
    summary = pd.read_csv(tmp_path / "results" / "exp" / "summary.csv")
    assert len(summary) == 3


def test_sweep_key_that_no_system_has_is_an_error(tmp_path, data):
    text = CONFIG + "sweep:\n  num_beam: [1, 4]\n"
    with pytest.raises(UserError, match="sweep.num_beam: no system in this config has a setting"):
        load_config(write(tmp_path / "configs" / "exp.yaml", text))


def test_dry_run_prints_the_plan_and_writes_nothing(tmp_path, data):
    cfg = write(tmp_path / "configs" / "exp.yaml", CONFIG)
    proc = run_cli_here("run", cfg, "--dry-run", "--output-dir", tmp_path / "results", check=True)
    assert "3 cells" in proc.stdout and "LT22" in proc.stdout and "20 segments" in proc.stdout
    assert not (tmp_path / "results").exists()


def test_run_writes_every_result_file(tmp_path, data):
    cfg = write(tmp_path / "configs" / "exp.yaml", CONFIG)
    proc = run_cli_here("run", cfg, "--output-dir", tmp_path / "results", check=True)
    run_dir = tmp_path / "results" / "exp"
    names = {p.name for p in run_dir.iterdir()}
    assert names == {
        "scores.csv",
        "summary.csv",
        "summary.md",
        "summary.tex",
        "segments.jsonl",
        "config.yaml",
        "manifest.json",
        "run.json",
        "report.html",
        "plots",
        "analysis",
    }
    assert {p.name for p in (run_dir / "analysis").iterdir()} == {"length.csv", "frequency.csv", "ngrams.csv"}
    assert "| dataset" in proc.stdout  # the summary table is printed
    assert len((run_dir / "segments.jsonl").read_text().splitlines()) == 3 * 20
