"""Names are data: system names taken from file names (`{system}`, `score --hyp PATH`) or given as `NAME=PATH`
never run as a spreadsheet formula from a CSV, never become HTML or split a row in Markdown, and a name with a
control character is refused."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import evalharness
import pandas as pd
import pytest
from evalharness.errors import UserError
from evalharness.results import read_csv, to_csv

from conftest import ENGLISH, GERMAN, error_lines, run_cli_here

# What a spreadsheet would run (OWASP's CSV injection list), and an HTML payload.
FORMULAS = ["=1+2", "+SUM(1;2)", "-2+3", "@SUM(1;2)"]
HTML = "<img src=x onerror=alert(1)>"
WORSE = ["The train is late.", "The city wants money.", "It will be sunny."]


def write_run(folder: Path, names: list[str]) -> Path:
    """GERMAN -> ENGLISH with one system per name, discovered from the files hyp.<name>.en; the first is perfect
    and the baseline, so every other system has a negative delta."""
    (folder / "src.de").write_text("\n".join(GERMAN) + "\n", encoding="utf-8")
    (folder / "ref.en").write_text("\n".join(ENGLISH) + "\n", encoding="utf-8")
    for i, name in enumerate(names):
        (folder / f"hyp.{name}.en").write_text("\n".join(ENGLISH if i == 0 else WORSE) + "\n", encoding="utf-8")
    config = folder / "run.yaml"
    baseline = names[0].replace("'", "''")
    config.write_text(
        f"""
datasets:
  - {{name: three, kind: parallel, langpair: de-en, source: src.de, references: [ref.en]}}
systems:
  - {{name: mt, engine: outputs, path: 'hyp.{{system}}.en'}}
metrics: [bleu, chrf]
statistics: {{bootstrap: 50, n_samples: 50, baseline: '{baseline}'}}
""",
        encoding="utf-8",
    )
    return config


def cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def dangerous(cell: str) -> bool:
    """A cell a spreadsheet would take for a formula (a number such as -1.5 is a number)."""
    return cell[:1] in ("=", "+", "-", "@", "\t", "\r") and not is_number(cell)


@pytest.fixture(scope="module")
def formula_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("formulas")
    config = write_run(folder, FORMULAS)
    run_cli_here("run", config, "--output-dir", folder / "out", cwd=folder, check=True)
    return folder / "out" / "run"


# ------------------------------------------------------------------------------------------ CSV injection


def test_no_csv_a_run_writes_has_a_cell_a_spreadsheet_would_run(formula_run):
    written = sorted(formula_run.rglob("*.csv"))
    assert {"scores.csv", "summary.csv", "pairwise.csv"} <= {p.name for p in written}
    for path in written:
        for row in cells(path.read_text(encoding="utf-8")):
            assert not [cell for cell in row if dangerous(cell)], path


def test_formula_names_are_written_behind_a_single_quote(formula_run):
    systems = {row[1] for row in cells((formula_run / "scores.csv").read_text(encoding="utf-8"))[1:]}
    assert systems == {"'" + name for name in FORMULAS}


def test_negative_numbers_stay_numbers(formula_run):
    rows = cells((formula_run / "pairwise.csv").read_text(encoding="utf-8"))
    delta = rows[0].index("delta")
    assert any(re.fullmatch(r"-[0-9.e-]+", row[delta]) for row in rows[1:])


def test_reading_a_run_back_gives_the_names_as_they_were(formula_run):
    results = evalharness.load(formula_run)
    assert set(results.scores["system"]) == set(FORMULAS)
    assert set(results.summary["baseline"].dropna()) == {FORMULAS[0]}
    table = run_cli_here("table", formula_run, "--format", "json", check=True).stdout
    assert all(f'"system": "{name}"' in table for name in FORMULAS)


def test_table_csv_of_a_run_is_its_summary_csv(formula_run):
    table = run_cli_here("table", formula_run, "--format", "csv", check=True).stdout
    assert table == (formula_run / "summary.csv").read_text(encoding="utf-8")


def test_every_text_reads_back_exactly_from_a_csv_the_harness_wrote(tmp_path):
    names = ["=1+2", "'=1+2", "''@x", "'plain", "-1.5", "+", "\tTab", "-", "a=b", "NA"]
    n = len(names)
    frame = pd.DataFrame(
        {"dataset": ["d"] * n, "system": names, "level": ["segment"] * n, "metric": ["BLEU"] * n, "score": [-1.5] * n}
    )
    path = tmp_path / "scores.csv"
    path.write_text(to_csv(frame), encoding="utf-8")
    back = read_csv(path)
    assert list(back["system"]) == names and list(back["score"]) == [-1.5] * n


def test_score_csv_quotes_names_from_file_names_and_from_name_equals_path(tmp_path):
    (tmp_path / "ref.en").write_text("\n".join(ENGLISH) + "\n", encoding="utf-8")
    (tmp_path / "=1+2").write_text("\n".join(WORSE) + "\n", encoding="utf-8")
    proc = run_cli_here(
        "score", "--ref", "ref.en", "--hyp", "=1+2", "@SUM(1;2)==1+2", "--bootstrap", "0",
        "--format", "csv", cwd=tmp_path, check=True,
    )  # fmt: skip
    rows = cells(proc.stdout)
    assert {row[1] for row in rows[1:]} == {"'=1+2", "'@SUM(1;2)"}
    assert not [cell for row in rows for cell in row if dangerous(cell)]


# ------------------------------------------------------------------------------------------ Markdown


@pytest.fixture(scope="module")
def html_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("html")
    config = write_run(folder, ["base", HTML, "a|b", "back\\slash&co"])
    proc = run_cli_here("run", config, "--output-dir", folder / "out", cwd=folder, check=True)
    return proc.stdout, (folder / "out" / "run" / "summary.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("which", ["terminal", "summary.md"])
def test_html_in_a_system_name_is_text_in_markdown(html_run, which):
    text = html_run[0] if which == "terminal" else html_run[1]
    assert "<img" not in text and "&lt;img src=x onerror=alert(1)&gt;" in text
    assert "back&#92;slash&amp;co" in text


@pytest.mark.parametrize("which", ["terminal", "summary.md"])
def test_a_pipe_in_a_system_name_keeps_its_markdown_row_whole(html_run, which):
    text = html_run[0] if which == "terminal" else html_run[1]
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("| dataset"))
    [row] = [line for line in lines if "a&#124;b" in line]
    assert row.count("|") == header.count("|")


# ------------------------------------------------------------------------------------------ control characters


def test_a_control_character_in_a_discovered_system_name_is_refused(tmp_path):
    config = write_run(tmp_path, ["base", "new\nline"])
    proc = run_cli_here("run", config, "--output-dir", tmp_path / "out", cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    [line] = error_lines(proc.stderr)
    assert "system mt" in line and "'new\\nline'" in line and "control character" in line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", ["tab\there", "bell\x07", "c1\x85"])
def test_a_control_character_in_a_hyp_name_is_refused(tmp_path, name):
    (tmp_path / "ref.en").write_text("\n".join(ENGLISH) + "\n", encoding="utf-8")
    (tmp_path / "hyp.en").write_text("\n".join(WORSE) + "\n", encoding="utf-8")
    proc = run_cli_here("score", "--ref", "ref.en", "--hyp", f"{name}=hyp.en", cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    [line] = error_lines(proc.stderr)
    assert line.startswith("evalharness: error: --hyp") and "control character" in line


def test_the_api_refuses_a_control_character_in_a_system_name():
    with pytest.raises(UserError, match=r"hypotheses: system name: 'a\\nb' holds a control character"):
        evalharness.score({"a\nb": WORSE}, ENGLISH, metrics=["bleu"], langpair="de-en")


def test_the_api_refuses_a_control_character_in_a_dataset_name():
    with pytest.raises(UserError, match=r"dataset: 'a\\rb' holds a control character"):
        evalharness.score(WORSE, ENGLISH, metrics=["bleu"], langpair="de-en", dataset="a\rb")
