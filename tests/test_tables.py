"""Tables for reading: the default summary (the columns that carry information, best first, p-values that do not
round to 0.00), the `table` options that choose metrics, columns and order (the paper table: test_paper_table.py)."""

from __future__ import annotations

import contextlib
import io
import re
import subprocess

import pandas as pd
import pytest
from evalharness.cli import main
from evalharness.errors import UserError
from evalharness.reporting.tables import format_p

from conftest import run_cli_here, wmt22_path

N = 100
SYSTEMS = ["LT22", "Online-B", "PROMT"]  # alphabetical; by BLEU: Online-B, PROMT, LT22


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """WMT22 de-en, 100 segments, three systems against reference A and against A+B; BLEU, chrF, TER; tested
    against PROMT and all pairs."""
    folder = tmp_path_factory.mktemp("tables")
    src = wmt22_path("sources", "generaltest2022.de-en.src.de")
    ref_a, ref_b = (wmt22_path("references", f"generaltest2022.de-en.ref.{r}.en") for r in "AB")
    (folder / "t.yaml").write_text(
        f"""
datasets:
  - {{name: refA, kind: parallel, langpair: de-en, source: "{src}", references: ["{ref_a}"], max_segments: {N}}}
  - {{name: refAB, kind: parallel, langpair: de-en, source: "{src}", references: ["{ref_a}", "{ref_b}"],
      max_segments: {N}}}
systems:
"""
        + "".join(f'  - {{name: {s}, engine: outputs, path: "{hyp(s)}"}}\n' for s in SYSTEMS)
        + """
metrics: [bleu, chrf, ter]
statistics: {baseline: PROMT, all_pairs: true}
""",
        encoding="utf-8",
    )
    run_cli_here("run", folder / "t.yaml", "--output-dir", folder / "results", check=True)
    return folder / "results" / "t"


def hyp(system: str):
    return wmt22_path("system-outputs", f"generaltest2022.de-en.hyp.{system}.en")


def md_rows(text: str) -> list[list[str]]:
    return [[c.strip() for c in line.split("|")[1:-1]] for line in text.splitlines() if line.startswith("|")]


def table(run_dir, *args, check=True) -> subprocess.CompletedProcess:
    """`evalharness table RUN_DIR ...`, in this process (the command line's own main; a subprocess per call would
    cost a second of imports each)."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        mp.setenv("COLUMNS", "160")  # a terminal 160 wide, whatever runs the tests
        code = main(["table", str(run_dir), *map(str, args)])
    assert code == 0 or not check, err.getvalue()
    return subprocess.CompletedProcess(["evalharness", "table"], code, out.getvalue(), err.getvalue())


def test_p_values_below_a_thousandth_print_as_below_it():
    assert format_p(1 / 1001) == "<0.001"  # the smallest p-value of 1000 resamples
    assert format_p(0.0123) == "0.012" and format_p(0.5) == "0.500" and format_p(None) == ""


def test_default_table_sorts_best_first_within_each_dataset(run_dir):
    rows = md_rows(table(run_dir).stdout)
    header, body = rows[0], rows[2:]
    assert [r[header.index("dataset")] for r in body] == ["refA"] * 3 + ["refAB"] * 3
    summary = pd.read_csv(run_dir / "summary.csv")
    for dataset in ("refA", "refAB"):
        mine = summary[summary.dataset == dataset].sort_values("BLEU", ascending=False)
        assert [r[1] for r in body if r[0] == dataset] == list(mine.system)


def test_default_table_shows_one_compact_cell_per_metric(run_dir):
    header = md_rows(table(run_dir).stdout)[0]
    assert header == ["dataset", "system", "BLEU", "chrF2", "TER"]


def test_summary_md_shows_each_metric_with_its_interval_rank_range_and_p_value(run_dir):
    header = md_rows((run_dir / "summary.md").read_text(encoding="utf-8"))[0]
    assert header == ["dataset", "system"] + [
        "BLEU",
        "±",
        "rank",
        "p",
        "chrF2",
        "±",
        "rank",
        "p",
        "TER",
        "±",
        "rank",
        "p",
    ]


def test_default_table_leaves_out_columns_without_information(run_dir):
    text = table(run_dir).stdout
    for absent in ("level", "unaligned", "pivot", "valid", "off-target", "empty", "baseline"):
        assert absent not in md_rows(text)[0]
    assert len(max(text.splitlines(), key=len)) < 140  # was 280 with every column of summary.csv


def test_summary_md_prints_small_p_values_and_rank_ranges_as_such(run_dir):
    rows = md_rows((run_dir / "summary.md").read_text(encoding="utf-8"))
    body = {(r[0], r[1]): r for r in rows[2:]}
    scores = pd.read_csv(run_dir / "scores.csv")
    for row in scores[(scores.metric == "BLEU") & scores.p_value.notna()].itertuples():
        assert body[(row.dataset, row.system)][5] == format_p(row.p_value)
    for row in scores[scores.metric == "BLEU"].itertuples():
        expected = str(row.rank_low) if row.rank_low == row.rank_high else f"{row.rank_low}–{row.rank_high}"
        assert body[(row.dataset, row.system)][4] == expected
    assert any(r[5] == "<0.001" for r in rows[2:])  # LT22 is far behind PROMT
    assert "0.00" not in [r[5] for r in rows[2:]]


def test_significant_losses_get_their_own_mark(run_dir):
    body = {(r[0], r[1]): r for r in md_rows(table(run_dir).stdout)[2:]}
    assert body[("refA", "LT22")][2].endswith("‡") and "†" not in body[("refA", "LT22")][2]


def test_metrics_option_picks_and_orders_the_metrics(run_dir):
    header = md_rows(table(run_dir, "--metrics", "ter,BLEU").stdout)[0]
    assert [h for h in header if h in ("BLEU", "chrF2", "TER")] == ["TER", "BLEU"]


def test_metrics_option_lists_only_the_signatures_of_the_metrics_shown(run_dir):
    text = table(run_dir, "--metrics", "TER").stdout
    assert "- TER (lower is better): " in text
    assert "- BLEU (" not in text and "- chrF2 (" not in text


def test_sort_by_a_lower_is_better_metric_puts_the_lowest_first(run_dir):
    rows = md_rows(table(run_dir, "--metrics", "TER", "--sort", "TER").stdout)
    ters = [float(re.match(r"[*]*([0-9.]+)", r[2]).group(1)) for r in rows[2:] if r[0] == "refA"]
    assert ters == sorted(ters)


def test_sort_by_system_or_not_at_all(run_dir):
    by_name = md_rows(table(run_dir, "--sort", "system").stdout)[2:]
    assert [r[1] for r in by_name if r[0] == "refA"] == sorted(SYSTEMS)
    as_run = md_rows(table(run_dir, "--sort", "none").stdout)[2:]
    assert [r[1] for r in as_run if r[0] == "refA"] == SYSTEMS  # the config's order


def test_columns_option_picks_the_statistics_and_per_system_columns(run_dir):
    rows = md_rows(table(run_dir, "--metrics", "BLEU", "--columns", "delta,delta_ci,cluster,off_target_rate").stdout)
    assert rows[0] == ["dataset", "system", "BLEU", "Δ", "Δ 95% CI", "cluster", "off-target"]
    online_b = next(r for r in rows[2:] if r[:2] == ["refA", "Online-B"])
    scores = pd.read_csv(run_dir / "scores.csv").set_index(["dataset", "system", "metric"])
    row = scores.loc[("refA", "Online-B", "BLEU")]
    assert online_b[3] == f"{row.delta:+.2f}"
    assert online_b[4] == f"[{row.delta_ci_low:+.2f}, {row.delta_ci_high:+.2f}]"


def test_csv_with_options_is_the_chosen_columns_at_full_precision(run_dir):
    text = table(run_dir, "-f", "csv", "--metrics", "chrF2", "--columns", "ci,p_value").stdout
    frame = pd.read_csv(io.StringIO(text))
    assert list(frame.columns) == ["dataset", "system", "chrF2", "chrF2 ci_low", "chrF2 ci_high", "chrF2 p_value"]
    summary = pd.read_csv(run_dir / "summary.csv").set_index(["dataset", "system"])
    first = frame.iloc[0]
    assert first["chrF2"] == summary.loc[(first.dataset, first.system), "chrF2"]


@pytest.mark.parametrize(
    "args,message",
    [
        (["--metrics", "COMET"], "--metrics: no metric 'COMET' in this table (it has BLEU, chrF2, TER)"),
        (["--columns", "ci,bogus"], "--columns: unknown column 'bogus'"),
        (["--sort", "speed"], "--sort: expected a metric (BLEU, chrF2, TER), system or none; got 'speed'"),
    ],
)
def test_a_wrong_option_is_one_line_naming_it(run_dir, args, message):
    proc = table(run_dir, *args, check=False)
    assert proc.returncode == 2 and message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_paper_latex_shows_intervals_when_asked(run_dir):
    tex = table(run_dir, "-f", "latex", "--columns", "ci").stdout
    assert "{\\scriptsize$\\pm$" in tex and "half the width of the 95\\% bootstrap interval" in tex


def summary(**columns) -> pd.DataFrame:
    return pd.DataFrame({"dataset": ["d"] * 3, "system": ["a", "b", "c"], "level": ["segment"] * 3, **columns})


def test_per_cell_columns_appear_only_where_they_say_something():
    from evalharness.reporting.tables import select

    frame = summary(
        BLEU=[20.0, 30.0, 25.0],
        off_target_rate=[0.002, 0.3, 0.0],  # below 1%: language ID's noise
        empty_outputs=[0, 0, 0],
        unaligned_sources=[0, 2, 0],  # a documents dataset that left sentences unaligned
        unaligned_references=[0, 0, 0],
        pivot_on_target_rate=[None, None, None],  # not a round trip
        valid=[True, True, True],
    )
    view = select(frame, {"BLEU": True})
    assert list(view.columns) == ["dataset", "system", "BLEU", "off_target_rate", "unaligned_sources"]
    assert list(view.system) == ["b", "c", "a"]


def test_an_invalid_round_trip_is_listed_last_whatever_its_score():
    from evalharness.reporting.tables import select

    frame = summary(BLEU=[20.0, 30.0, 25.0], pivot_on_target_rate=[0.9, 0.1, 0.95], valid=[True, False, True])
    view = select(frame, {"BLEU": True})
    assert list(view.system) == ["c", "a", "b"]
    assert {"pivot_on_target_rate", "valid"} <= set(view.columns)


def test_swept_settings_keep_their_rows_apart_and_read_as_given():
    from evalharness.reporting.tables import render

    frame = pd.DataFrame(
        {
            "dataset": ["d"] * 3,
            "system": ["gemma"] * 3,
            "num_beams": pd.array([1, 4, None], dtype="Int64"),  # as read_csv reads a column of integers with a gap
            "temperature": [1.0, None, None],  # a float setting shows as declared: 1.0, not 1
            "level": ["segment"] * 3,
            "BLEU": [20.0, 30.0, 25.0],
        }
    )
    rows = md_rows(render(frame, "md", [], {"BLEU": True}))
    assert rows[0][:4] == ["dataset", "system", "num_beams", "temperature"]
    assert [r[2:4] for r in rows[2:]] == [["4", ""], ["", ""], ["1", "1.0"]]
    tex = render(frame, "latex", [], {"BLEU": True})
    body = tex[tex.index("\\midrule") : tex.index("\\bottomrule")].splitlines()[1:]
    assert [line.split(" & ")[0] for line in body] == [
        "gemma (num\\_beams=4)",
        "gemma",
        "gemma (num\\_beams=1, temperature=1.0)",
    ]


def test_the_python_api_takes_the_same_options(run_dir, tmp_path):
    import evalharness

    loaded = evalharness.load(run_dir)
    table(run_dir, "--metrics", "TER", "--sort", "system", "-o", tmp_path / "t.md")  # a file: the one wide table
    assert loaded.table("md", metrics=["TER"], sort="system") == (tmp_path / "t.md").read_text(encoding="utf-8")
    assert loaded.scores["rank_low"].dtype == "Int64" and loaded.scores["significantly_worse"].dtype == "boolean"
    assert loaded.scores["delta_ci_low"].dtype == "float64"


def test_datasets_option_picks_datasets_by_name_or_glob(run_dir):
    only_ab = md_rows(table(run_dir, "--datasets", "refAB").stdout)
    assert {r[0] for r in only_ab[2:]} == {"refAB"}
    both = md_rows(table(run_dir, "--datasets", "ref*").stdout)
    assert {r[0] for r in both[2:]} == {"refA", "refAB"}
    csv = pd.read_csv(io.StringIO(table(run_dir, "-f", "csv", "--datasets", "refA").stdout))
    assert set(csv.dataset) == {"refA"} and len(csv) == 3


def test_datasets_option_leaves_out_the_signatures_of_other_datasets(run_dir):
    text = table(run_dir, "--datasets", "refA").stdout
    assert "nrefs:1" in text and "nrefs:2" not in text


def test_datasets_that_match_nothing_are_one_line_naming_them(run_dir):
    proc = table(run_dir, "--datasets", "refA,newstest*", check=False)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "--datasets: no dataset matches 'newstest*' (datasets: refA, refAB)" in proc.stderr


def test_decimals_option_sets_the_precision_of_scores(run_dir):
    body = md_rows(table(run_dir, "--decimals", "1", "--columns", "ci").stdout)[2:]
    summary = pd.read_csv(run_dir / "summary.csv").set_index(["dataset", "system"])
    for row in body:
        bleu = summary.loc[(row[0], row[1]), "BLEU"]
        assert row[2].strip("*†‡") == f"{bleu:.1f}"
        assert re.fullmatch(r"\d+\.\d", row[3])  # ± too


def test_decimals_must_be_a_small_whole_number(run_dir, capsys):
    with pytest.raises(SystemExit) as exit_:  # argparse's own one-line error
        main(["table", str(run_dir), "--decimals", "-1"])
    assert exit_.value.code == 2 and "--decimals: must be 0 to 6, got -1" in capsys.readouterr().err


def test_the_python_api_takes_datasets_and_decimals(run_dir):
    import evalharness

    loaded = evalharness.load(run_dir)
    full = "this command with --columns all, or -o FILE.md"  # what the command line says
    assert (
        loaded.table("md", datasets=["refA*"], decimals=3, width=160, full_table=full)
        == table(run_dir, "--datasets", "refA*", "--decimals", "3").stdout
    )
    with pytest.raises(UserError, match="datasets: no dataset matches 'x'"):
        loaded.table("csv", datasets=["x"])
