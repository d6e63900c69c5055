"""Tables on the terminal: the default view of `run`, `table` and `score -f md` fits the terminal's width
(`COLUMNS`, 160 off a terminal), with a compact cell per metric, blocks where one table cannot fit, a pointer to
the full table, and the same order as summary.csv; a note where significance rests on few segments."""

from __future__ import annotations

import contextlib
import io
import re

import pandas as pd
import pytest
from evalharness.cli import main

from conftest import run_cli, run_cli_here, wmt22_path, write_three_sentence_run

N = 200  # WMT22 zh-en segments: enough for p < 0.001 in a pair and no few-segments note; the time depends on them
ZH_EN = [
    "AISP-SJTU",
    "DLUT",
    "HuaweiTSC",
    "JDExploreAcademy",
    "Lan-Bridge",
    "LanguageX",
    "NiuTrans",
    "Online-A",
    "Online-B",
    "Online-G",
    "Online-W",
    "Online-Y",
]


@pytest.fixture(scope="module")
def zh_en(tmp_path_factory):
    """Every WMT22 zh-en submission against reference A and against A+B; BLEU, chrF, TER; tested against
    Online-B and all pairs. Returns (results folder, what `run` printed at COLUMNS=120)."""
    folder = tmp_path_factory.mktemp("zh_en")
    src = wmt22_path("sources", "generaltest2022.zh-en.src.zh")
    ref_a, ref_b = (wmt22_path("references", f"generaltest2022.zh-en.ref.{r}.en") for r in "AB")
    hyps = wmt22_path("system-outputs").as_posix() + "/generaltest2022.{langpair}.hyp.{system}.en"
    (folder / "zh.yaml").write_text(
        f"""
datasets:
  - {{name: wmt22-zh-en-refA, kind: parallel, langpair: zh-en, source: "{src}", references: ["{ref_a}"],
      max_segments: {N}}}
  - {{name: wmt22-zh-en-refAB, kind: parallel, langpair: zh-en, source: "{src}", references: ["{ref_a}", "{ref_b}"],
      max_segments: {N}}}
systems:
  - {{name: wmt22, engine: outputs, path: "{hyps}"}}
metrics: [bleu, chrf, ter]
statistics: {{baseline: Online-B, all_pairs: true}}
""",
        encoding="utf-8",
    )
    proc = run_cli_here(
        "run", folder / "zh.yaml", "--output-dir", folder / "results", env={"COLUMNS": "120"}, check=True
    )
    return folder / "results" / "zh", proc.stdout


def table(run_dir, *args, columns: int | None = 160, monkeypatch=None) -> str:
    """`evalharness table RUN_DIR ...` in this process, at a terminal `columns` wide."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        if columns is None:
            mp.delenv("COLUMNS", raising=False)
        else:
            mp.setenv("COLUMNS", str(columns))
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["table", str(run_dir), *map(str, args)])
    assert code == 0, err.getvalue()
    return out.getvalue()


def widest(text: str) -> int:
    return max(len(line) for line in text.splitlines())


def md_rows(text: str) -> list[list[str]]:
    return [[c.strip() for c in line.split("|")[1:-1]] for line in text.splitlines() if line.startswith("|")]


def records(text: str) -> list[dict[str, str]]:
    """Every row of every table (block) of a Markdown text, as header -> cell (the first of repeated headers);
    a block's title line (`### wmt22-zh-en-refA`) fills `dataset` where the block has no such column."""
    out, header, title = [], None, ""
    for line in text.splitlines():
        if line.startswith("### "):
            title = line[4:].split(":")[0].strip()
        if not line.startswith("|"):
            header = None
            continue
        cells = [c.strip() for c in line.split("|")[1:-1]]
        if header is None:
            header = cells
        elif not all(set(c) <= set(":-") for c in cells):
            row = {"dataset": title}
            for name, cell in zip(header, cells, strict=True):
                row.setdefault(name, cell) if name != "dataset" else row.update(dataset=cell)
            out.append(row)
    return out


@pytest.mark.parametrize("columns", [120, 160])
def test_the_default_table_fits_the_terminal(zh_en, columns):
    text = table(zh_en[0], columns=columns)
    assert widest(text) <= columns
    shown = {(r["dataset"], r["system"]) for r in records(text)}
    assert shown == {(d, s) for d in ("wmt22-zh-en-refA", "wmt22-zh-en-refAB") for s in ZH_EN}


def test_run_prints_a_table_that_fits_the_terminal(zh_en):
    assert widest(zh_en[1]) <= 120


def test_off_a_terminal_the_table_is_160_wide(zh_en):
    # a subprocess's stdout is a pipe: no terminal to ask, and no COLUMNS
    proc = run_cli("table", zh_en[0], env={"COLUMNS": ""})
    assert proc.returncode == 0, proc.stderr
    assert widest(proc.stdout) <= 160 and "JDExploreAcademy" in proc.stdout


def test_a_cell_holds_score_half_interval_rank_range_and_mark(zh_en):
    shown = {(r["dataset"], r["system"]): r for r in records(table(zh_en[0], columns=160))}
    scores = pd.read_csv(zh_en[0] / "scores.csv")
    for row in scores[scores.metric.isin(["BLEU", "TER"])].itertuples():
        rank = str(row.rank_low) if row.rank_low == row.rank_high else f"{row.rank_low}–{row.rank_high}"
        mark = "†" if str(row.significant) == "True" else "‡" if str(row.significantly_worse) == "True" else ""
        cell = f"{row.score:.2f}±{(row.ci_high - row.ci_low) / 2:.2f} ({rank}){mark}"
        assert shown[(row.dataset, row.system)][row.metric].replace("**", "") == cell


def test_flag_columns_show_only_what_says_something():
    from evalharness.reporting.tables import render

    frame = pd.DataFrame(
        {
            "dataset": ["d"] * 3,
            "system": ["a", "b", "c"],
            "level": ["segment"] * 3,
            "BLEU": [20.0, 30.0, 25.0],
            "off_target_rate": [0.002, 0.3, 0.0],  # below 1%: language identification's noise
            "empty_outputs": [0, 1, 0],
            "unaligned_sources": [0, 0, 0],
            "valid": [True, True, True],
        }
    )
    rows = records(render(frame, "md", [], {"BLEU": True}, width=160))
    assert list(rows[0]) == ["dataset", "system", "BLEU", "off-target", "empty"]
    assert [(r["system"], r["off-target"], r["empty"]) for r in rows] == [
        ("b", "30.0%", "1"),
        ("c", "", ""),
        ("a", "", ""),
    ]


def test_a_narrow_terminal_splits_the_table_into_blocks_and_names_the_full_table(zh_en):
    text = table(zh_en[0], columns=100)
    assert widest(text) <= 100
    titles = [line for line in text.splitlines() if line.startswith("### ")]
    assert titles and all("wmt22-zh-en-refA" in t or "wmt22-zh-en-refAB" in t for t in titles)
    assert "full table:" in text and "--columns all" in text


def test_columns_all_is_every_statistic_in_blocks_that_fit(zh_en):
    text = table(zh_en[0], "--columns", "all", columns=160)
    assert widest(text) <= 160
    headers = {h for r in md_rows(text) for h in r}
    assert {"±", "rank", "cluster", "p", "Δ", "Δ 95% CI", "vs base"} <= headers


def test_summary_files_are_in_the_order_the_terminal_shows(zh_en):
    summary = pd.read_csv(zh_en[0] / "summary.csv")
    for columns in (60, 160):  # blocks per dataset, one table
        shown = [(r["dataset"], r["system"]) for r in records(table(zh_en[0], "--metrics", "BLEU", columns=columns))]
        assert shown == list(zip(summary.dataset, summary.system, strict=True))
    for dataset in ("wmt22-zh-en-refA", "wmt22-zh-en-refAB"):
        bleu = summary[summary.dataset == dataset].BLEU.tolist()
        assert bleu == sorted(bleu, reverse=True)
    in_md = [r[1] for r in md_rows((zh_en[0] / "summary.md").read_text(encoding="utf-8"))[2:]]
    assert in_md == list(summary.system)


def test_scores_csv_keeps_the_stable_order(zh_en):
    scores = pd.read_csv(zh_en[0] / "scores.csv")
    first = scores[(scores.dataset == "wmt22-zh-en-refA") & (scores.metric == "BLEU")]
    assert list(first.system) == ZH_EN  # discovered submissions, in name order


def score(tmp_path, *args) -> str:
    """`evalharness score` of four zh-en systems (first 200 segments) with a paired bootstrap test, as md."""
    n = 200
    ref = tmp_path / "ref.A.en"
    lines = wmt22_path("references", "generaltest2022.zh-en.ref.A.en").read_text(encoding="utf-8").splitlines()
    ref.write_text("\n".join(lines[:n]) + "\n", encoding="utf-8")
    hyps = []
    for system in ("Online-B", "JDExploreAcademy", "NiuTrans", "Online-W"):
        path = wmt22_path("system-outputs", f"generaltest2022.zh-en.hyp.{system}.en")
        out = tmp_path / f"{system}.en"
        out.write_text("\n".join(path.read_text(encoding="utf-8").splitlines()[:n]) + "\n", encoding="utf-8")
        hyps.append(f"{system}={out}")
    proc = run_cli_here(
        "score", "-l", "zh-en", "--ref", ref, "--hyp", *hyps, "--paired-bs", *args, env={"COLUMNS": "160"}
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_score_paired_bs_md_fits_and_prints_p_values_as_below_a_thousandth(tmp_path):
    text = score(tmp_path, "-f", "md")
    assert widest(text) <= 160
    cells = [c for r in records(text) for c in r.values()]
    assert any("p<0.001" in c for c in cells)
    assert not re.search(r"\b0\.00\b", " ".join(cells))
    assert "NiuTrans" in text and "Online-W" in text


def test_tidy_md_prints_p_values_as_below_a_thousandth(zh_en):
    text = table(zh_en[0], "--tidy", columns=None)
    header = md_rows(text)[0]
    p = [r[header.index("p_value")] for r in md_rows(text)[2:]]
    assert "<0.001" in p and "0.00" not in p


def test_a_note_says_when_significance_rests_on_few_segments(tmp_path):
    config = write_three_sentence_run(
        tmp_path, "  - {name: a, engine: identity}\n  - {name: b, engine: outputs, path: ref.en}\n", "[chrf]"
    )
    with config.open("a", encoding="utf-8") as handle:
        handle.write("statistics: {baseline: a}\n")
    proc = run_cli_here("run", config, "--output-dir", tmp_path / "results", check=True)
    note = "note: p-values of three rest on 3 segments; fewer than 50 segments say little"
    assert note in proc.stdout
    assert note in (tmp_path / "results" / "run" / "summary.md").read_text(encoding="utf-8")


def test_no_note_on_enough_segments(zh_en):
    assert "segments say little" not in table(zh_en[0])


def test_a_datasets_block_leaves_out_the_per_cell_columns_blank_in_it(tmp_path):
    """The main job's committed results at 160 columns: the documents dataset's blocks show its unaligned
    counts and no pivot rate; the round trip's show the pivot rate and validity, and no unaligned counts."""
    import shutil

    from conftest import ROOT

    shutil.copytree(ROOT / "results" / "seeds", tmp_path / "seeds")
    text = run_cli_here("table", tmp_path / "seeds", env={"COLUMNS": "160"}, check=True).stdout
    blocks = {}
    for block in text.split("### ")[1:]:
        name = block.split(":")[0]
        blocks[name] = blocks.get(name, "") + block.split("\n\n")[1].splitlines()[0]
    assert "unaligned src" in blocks["seeds-de-en"] and "pivot on target" not in blocks["seeds-de-en"]
    assert "pivot on target" in blocks["seeds-zh-origin"] and "unaligned src" not in blocks["seeds-zh-origin"]
