"""`evalharness table RUN RUN...`: several finished runs merged into one leaderboard when their scores are
comparable (same signature, references, segments and language pair), refused in one line otherwise.

The runs are real: tiny configs (five WMT22 de-en segments) run through the real CLI once per module."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest

from conftest import run_cli_here, wmt22_path

N = 5
FILES = {
    "src.de": "sources/generaltest2022.de-en.src.de",
    "ref.A.en": "references/generaltest2022.de-en.ref.A.en",
    "ref.B.en": "references/generaltest2022.de-en.ref.B.en",
    **{f"hyp.{s}.en": f"system-outputs/generaltest2022.de-en.hyp.{s}.en" for s in ("Online-B", "PROMT", "LT22")},
}


def dataset(name: str = "tiny", reference: str = "ref.A.en", extra: str = "") -> str:
    return (
        f"  - {{name: {name}, kind: parallel, langpair: de-en, source: data/src.de, "
        f"references: [data/{reference}]{extra}}}\n"
    )


def outputs(*systems: str) -> str:
    return "".join(f"  - {{name: {s}, engine: outputs, path: data/hyp.{s}.en}}\n" for s in systems)


def config(
    datasets: str, systems: str, metrics: str = "[bleu, ter]", baseline: str | None = None, extra: str = ""
) -> str:
    statistics = f"{{bootstrap: 100, baseline: {baseline}}}" if baseline else "{bootstrap: 100}"
    return f"datasets:\n{datasets}systems:\n{systems}metrics: {metrics}\nstatistics: {statistics}\n{extra}"


CONFIGS = {
    # Two runs of the same test set with different systems, each with its own baseline.
    "a": config(dataset(), outputs("Online-B") + "  - {name: copy, engine: identity}\n", baseline="copy"),
    "b": config(dataset(), outputs("PROMT", "LT22"), baseline="PROMT"),
    # TER first: the ranking metric is lower-is-better.
    "ter-first": config(dataset(), outputs("LT22") + "  - {name: copy, engine: identity}\n", metrics="[ter, bleu]"),
    # Not comparable with a: another BLEU tokenizer, fewer segments, another reference.
    "intl": config(dataset(), outputs("Online-B"), metrics="[{name: bleu, tokenize: intl}, ter]"),
    "short": config(dataset(extra=", max_segments: 4"), outputs("Online-B")),
    "ref-b": config(dataset(reference="ref.B.en"), outputs("Online-B")),
    # Same file name as a's reference, one word changed: only the texts' hashes in manifest.json tell.
    "edited": config(dataset(reference="../edited/ref.A.en"), outputs("Online-B")),
    # A dataset no other run has, scored with another tokenizer: just more rows.
    "other": config(dataset(name="other"), outputs("PROMT"), metrics="[{name: bleu, tokenize: intl}, ter]"),
    # A sweep over the hypothesis file: a `path` column that the other runs lack.
    "swept": config(
        dataset(),
        "  - {name: mt, engine: outputs, path: data/hyp.LT22.en}\n",
        extra="sweep:\n  path: [data/hyp.LT22.en, data/hyp.PROMT.en]\n",
    ),
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    """tmp/results/<name> for every config above, and tmp/elsewhere/a: run b again, in a folder named `a`."""
    root = tmp_path_factory.mktemp("leaderboard")
    (root / "data").mkdir()
    for name, path in FILES.items():
        lines = wmt22_path(path).read_text(encoding="utf-8").split("\n")[:N]
        (root / "data" / name).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    (root / "edited").mkdir()
    reference = (root / "data" / "ref.A.en").read_text(encoding="utf-8")
    (root / "edited" / "ref.A.en").write_text(reference.replace(" the ", " a ", 1), encoding="utf-8")
    jobs = []
    for name, text in CONFIGS.items():
        (root / f"{name}.yaml").write_text(text, encoding="utf-8")
        jobs.append((root / f"{name}.yaml", root / "results"))
    (root / "elsewhere.yaml").write_text(CONFIGS["b"] + "run_name: a\n", encoding="utf-8")
    jobs.append((root / "elsewhere.yaml", root / "elsewhere"))
    env = {"EVALHARNESS_CACHE_DIR": str(tmp_path_factory.mktemp("cache"))}
    for config_path, out in jobs:
        run_cli_here("run", config_path, "--output-dir", out, "--workers", "1", env=env, check=True)
    return root


def table(runs: Path, *args: str, check: bool = True):
    return run_cli_here("table", *args, cwd=runs, check=check)


def csv_table(runs: Path, *args: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(table(runs, *args, "--format", "csv").stdout))


def own_scores(runs: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(runs / "results" / name / "scores.csv")


def refused(proc, *fragments: str) -> str:
    """Exit 2, one line `evalharness: error: ...` holding every fragment, no traceback, nothing on stdout."""
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("evalharness: error: "), proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"
    return lines[0]


# ---------------------------------------------------------------- merging comparable runs


def test_two_runs_of_one_dataset_merge_into_one_table_with_a_run_column(runs):
    merged = csv_table(runs, "results/a", "results/b")
    assert list(merged.columns[:4]) == ["run", "dataset", "system", "level"]
    assert sorted(zip(merged.run, merged.system, strict=True)) == [
        ("a", "Online-B"),
        ("a", "copy"),
        ("b", "LT22"),
        ("b", "PROMT"),
    ]
    for run, system in zip(merged.run, merged.system, strict=True):
        own = own_scores(runs, run).set_index(["system", "metric"])
        row = merged[(merged.run == run) & (merged.system == system)].iloc[0]
        for metric in ("BLEU", "TER"):
            assert row[metric] == own.loc[(system, metric), "score"]
            assert row[f"{metric} ci_low"] == own.loc[(system, metric), "ci_low"]
            assert row[f"{metric} ci_high"] == own.loc[(system, metric), "ci_high"]


def test_rows_are_best_first_by_the_first_metric_across_runs(runs):
    merged = csv_table(runs, "results/a", "results/b")
    assert list(merged.BLEU) == sorted(merged.BLEU, reverse=True)
    assert merged.system.iloc[-1] == "copy"


def test_a_lower_is_better_first_metric_ranks_lowest_first(runs):
    merged = csv_table(runs, "results/ter-first", "results/b")
    assert list(merged.columns[4:6]) == ["TER", "TER ci_low"]
    assert list(merged.TER) == sorted(merged.TER)
    assert merged.system.iloc[-1] == "copy"  # copying the German source: the highest TER


def test_within_run_statistics_are_left_out_with_a_note(runs):
    own = pd.read_csv(runs / "results" / "a" / "summary.csv")
    assert {"BLEU p_value", "BLEU significant", "baseline"} <= set(own.columns)
    merged = csv_table(runs, "results/a", "results/b")
    within = ("p_value", "significant", "significantly_worse", "delta", "delta_ci_low", "rank", "rank_low", "rank_high")
    assert not [c for c in merged.columns if c.endswith(within) or c == "baseline"]
    md = table(runs, "results/a", "results/b").stdout
    assert "- p-values, significance, deltas, the baseline and ranks are left out: each run tests against its own" in md


def test_markdown_bolds_the_best_score_across_runs_and_lists_each_signature_once(runs):
    md = table(runs, "results/a", "results/b", "--format", "md").stdout
    rows = [[cell.strip() for cell in line.split("|")[1:-1]] for line in md.splitlines() if line.startswith("|")]
    header, body = rows[0], rows[2:]
    bleu = header.index("BLEU")
    assert [row[bleu].startswith("**") for row in body] == [True, False, False, False]  # best first, bold once
    best = csv_table(runs, "results/a", "results/b").iloc[0]
    assert body[0][:3] == [best.run, "tiny", best.system]
    assert md.count("- BLEU (higher is better): nrefs:1|case:mixed|eff:no|tok:13a") == 1
    assert md.count("- TER (lower is better): ") == 1


def test_tidy_is_the_runs_tidy_tables_one_after_the_other(runs):
    tidy = csv_table(runs, "results/a", "results/b", "--tidy")
    assert tidy.columns[0] == "run" and list(tidy.columns[1:]) == list(own_scores(runs, "a").columns)
    assert list(tidy.run) == ["a"] * 4 + ["b"] * 4
    pd.testing.assert_frame_equal(
        tidy[tidy.run == "b"].drop(columns="run").reset_index(drop=True), own_scores(runs, "b")
    )


def test_json_records_name_their_run(runs):
    records = json.loads(table(runs, "results/a", "results/b", "--format", "json").stdout)
    assert {r["run"] for r in records} == {"a", "b"} and len(records) == 4


def test_a_dataset_in_only_one_run_is_just_more_rows(runs):
    proc = table(runs, "results/a", "results/other", "--format", "md")
    merged = csv_table(runs, "results/a", "results/other")
    assert set(zip(merged.run, merged.dataset, strict=True)) == {("a", "tiny"), ("other", "other")}
    assert "tok:13a" in proc.stdout and "tok:intl" in proc.stdout  # both signatures noted


def test_sweep_settings_are_united_and_empty_where_a_run_has_none(runs):
    merged = csv_table(runs, "results/a", "results/swept")
    assert list(merged.columns[:5]) == ["run", "dataset", "system", "path", "level"]
    assert merged[merged.run == "a"].path.isna().all()
    assert set(merged[merged.run == "swept"].path) == {"data/hyp.LT22.en", "data/hyp.PROMT.en"}


def test_runs_in_folders_of_the_same_name_are_named_by_their_path(runs):
    merged = csv_table(runs, "results/a", "elsewhere/a")
    assert set(merged.run) == {"results/a", "elsewhere/a"}


def test_an_output_file_holds_the_merged_table(runs, tmp_path):
    table(runs, "results/a", "results/b", "--format", "csv", "--output", tmp_path / "board.csv")
    assert (tmp_path / "board.csv").read_text() == table(runs, "results/a", "results/b", "--format", "csv").stdout


# ---------------------------------------------------------------- one run: exactly as before


@pytest.mark.parametrize("fmt,written", [("csv", "summary.csv"), ("latex", "summary.tex")])
def test_one_folder_prints_that_runs_own_summary(runs, fmt, written):
    assert table(runs, "results/a", "--format", fmt).stdout == (runs / "results" / "a" / written).read_text()


def test_one_folder_written_to_a_file_is_that_runs_own_summary_md(runs, tmp_path):
    # on the terminal md is the view that fits its width (test_terminal_tables); a file holds the whole table
    table(runs, "results/a", "--output", tmp_path / "a.md")
    assert (tmp_path / "a.md").read_text() == (runs / "results" / "a" / "summary.md").read_text()


# ---------------------------------------------------------------- refusals


def test_another_bleu_tokenizer_is_refused_naming_both_folders_and_the_field(runs):
    line = refused(
        table(runs, "results/a", "results/intl", check=False),
        "results/a and results/intl",
        "dataset tiny",
        "level segment",
        "metric BLEU",
    )
    assert line.endswith("different signature (tok:13a vs tok:intl)")


def test_fewer_segments_are_refused(runs):
    refused(
        table(runs, "results/a", "results/short", check=False),
        "results/a and results/short",
        "different n_segments (5 vs 4)",
    )


def test_another_reference_is_refused(runs):
    refused(
        table(runs, "results/a", "results/ref-b", check=False),
        "results/a and results/ref-b",
        "different references (ref.A.en vs ref.B.en)",
    )


def test_a_reference_with_the_same_name_but_other_text_is_refused(runs):
    refused(
        table(runs, "results/a", "results/edited", check=False),
        "results/a and results/edited",
        "dataset tiny: different reference texts (same names, other contents)",
    )


def test_a_refused_merge_writes_no_output_file(runs, tmp_path):
    proc = table(runs, "results/a", "results/intl", "--output", tmp_path / "board.md", check=False)
    refused(proc, "tok:13a vs tok:intl")
    assert not (tmp_path / "board.md").exists()


def test_the_same_folder_twice_is_refused(runs):
    refused(
        table(runs, "results/a", "results/../results/a", check=False),
        "results/a and results/../results/a: the same run folder is given twice",
    )


def test_a_folder_without_scores_is_refused_as_before(runs):
    refused(table(runs, "results/a", "data", check=False), "data: no scores.csv (is this a run's results folder?)")
