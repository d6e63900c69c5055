"""The paper table (`summary.tex`, `table -f latex`): one block of rows per dataset, each best first by the first
metric, bold best per column within a block, †/‡ against the baseline, signatures in the caption, a choice of
decimals, and a document that pdflatex compiles as is without an error or an overfull box."""

from __future__ import annotations

import re
import shutil
import subprocess

import pandas as pd
import pytest

from conftest import run_cli_here, wmt22_path

N = 200
DE_EN = ["Online-B", "JDExploreAcademy", "Online-W", "PROMT", "LT22"]
ZH_EN = ["Online-B", "JDExploreAcademy", "Online-W", "HuaweiTSC", "NiuTrans"]
NUMBER = re.compile(r"-?\d+\.\d+")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """WMT22 de-en and zh-en (N segments each, reference A): three systems submitted to both pairs and two to one
    pair only; BLEU, chrF, TER; tested against Online-B."""
    folder = tmp_path_factory.mktemp("paper")
    config = "datasets:\n"
    for pair in ("de-en", "zh-en"):
        source = wmt22_path("sources", f"generaltest2022.{pair}.src.{pair[:2]}")
        reference = wmt22_path("references", f"generaltest2022.{pair}.ref.A.en")
        config += f"""  - {{name: {pair}, kind: parallel, langpair: {pair}, max_segments: {N},
      source: "{source}", references: ["{reference}"]}}\n"""
    config += "systems:\n"
    outputs = wmt22_path("system-outputs")
    for name in dict.fromkeys(DE_EN + ZH_EN):
        only = "" if name in DE_EN and name in ZH_EN else f", datasets: [{'de-en' if name in DE_EN else 'zh-en'}]"
        path = f"{outputs}/generaltest2022.{{langpair}}.hyp.{name}.en"
        config += f'  - {{name: {name}, engine: outputs{only}, path: "{path}"}}\n'
    config += "metrics: [bleu, chrf, ter]\nstatistics: {baseline: Online-B}\n"
    (folder / "paper.yaml").write_text(config, encoding="utf-8")
    run_cli_here("run", folder / "paper.yaml", "--output-dir", folder / "results", check=True)
    return folder / "results" / "paper"


def latex(run_dir, *args) -> str:
    proc = run_cli_here("table", run_dir, "-f", "latex", *args, check=True)
    return proc.stdout


def blocks(tex: str) -> dict[str, list[list[str]]]:
    """Block title -> its rows' cells, from the tabular: the header, then blocks separated by \\midrule, each a
    title line (`\\multicolumn{..}{l}{\\textit{TITLE}}`) and its rows."""
    body = tex[tex.index("\\midrule") : tex.index("\\bottomrule")]
    out = {}
    for chunk in body.split("\\midrule")[1:]:
        lines = chunk.strip().splitlines()
        title = re.fullmatch(r"\\multicolumn\{\d+\}\{l\}\{\\textit\{(.*)\}\} \\\\", lines[0])
        assert title, lines[0]
        out[title.group(1)] = [line.removesuffix(" \\\\").split(" & ") for line in lines[1:]]
    return out


def value(cell: str) -> float:
    match = NUMBER.search(cell)
    assert match, cell
    return float(match.group())


def test_each_dataset_is_a_block_of_its_own_systems_with_every_cell_filled(run_dir):
    tex = latex(run_dir)
    found = blocks(tex)
    assert list(found) == ["de-en", "zh-en"]
    assert sorted(row[0] for row in found["de-en"]) == sorted(DE_EN)
    assert sorted(row[0] for row in found["zh-en"]) == sorted(ZH_EN)
    for rows in found.values():
        assert all(len(row) == 4 and all(NUMBER.search(cell) for cell in row[1:]) for row in rows)
    assert "System & BLEU$\\uparrow$ & chrF2$\\uparrow$ & TER$\\downarrow$ \\\\" in tex
    assert "\\resizebox{" not in tex  # three columns fit a column's width as they are


@pytest.mark.parametrize("metrics,first,higher", [("BLEU,chrF2,TER", "BLEU", True), ("TER,BLEU", "TER", False)])
def test_rows_are_best_first_by_the_first_metric_within_each_block(run_dir, metrics, first, higher):
    summary = pd.read_csv(run_dir / "summary.csv")
    found = blocks(latex(run_dir, "--metrics", metrics))
    for dataset, rows in found.items():
        mine = summary[summary.dataset == dataset].sort_values(first, ascending=not higher)
        assert [row[0] for row in rows] == list(mine.system), dataset


def test_the_best_of_each_column_is_bold_within_its_block_respecting_direction(run_dir):
    summary = pd.read_csv(run_dir / "summary.csv")
    for dataset, rows in blocks(latex(run_dir)).items():
        mine = summary[summary.dataset == dataset].set_index("system")
        for k, (metric, higher) in enumerate((("BLEU", True), ("chrF2", True), ("TER", False)), start=1):
            best = mine[metric].idxmax() if higher else mine[metric].idxmin()
            assert [row[0] for row in rows if "\\textbf{" in row[k]] == [best], (dataset, metric)


def test_significance_marks_follow_the_paired_tests_against_the_baseline(run_dir):
    summary = pd.read_csv(run_dir / "summary.csv").set_index(["dataset", "system"])
    daggers = ddaggers = 0
    for dataset, rows in blocks(latex(run_dir)).items():
        for row in rows:
            for metric, cell in zip(("BLEU", "chrF2", "TER"), row[1:], strict=True):
                statistics = summary.loc[(dataset, row[0])]
                assert ("$^\\dagger$" in cell) == (str(statistics[f"{metric} significant"]) == "True"), cell
                assert ("$^\\ddagger$" in cell) == (str(statistics[f"{metric} significantly_worse"]) == "True"), cell
                assert value(cell) == pytest.approx(statistics[metric], abs=0.005)
                daggers += "$^\\dagger$" in cell
                ddaggers += "$^\\ddagger$" in cell
    assert daggers and ddaggers  # the data has both: JDExploreAcademy wins on zh-en, LT22 loses on de-en


def test_the_caption_names_the_blocks_marks_and_signatures(run_dir):
    tex = latex(run_dir)
    caption = tex[tex.index("\\caption{") :]
    assert "de-en" in caption and "zh-en" in caption
    assert "significantly better/worse than Online-B" in caption
    assert "best first by BLEU" in caption
    for signature in ("nrefs:1|\\allowbreak{}case:mixed|\\allowbreak{}eff:no|\\allowbreak{}tok:13a", "tok:tercom"):
        assert signature in caption


def frame(**metrics) -> pd.DataFrame:
    return pd.DataFrame({"dataset": ["d"] * 3, "system": ["a", "b", "c"], "level": ["segment"] * 3, **metrics})


def rows_of(tex: str) -> list[list[str]]:
    body = tex[tex.index("\\midrule") : tex.index("\\bottomrule")].splitlines()[1:]
    return [line.removesuffix(" \\\\").split(" & ") for line in body]


def test_decimals_choose_the_precision_and_a_tie_at_it_is_bold_twice():
    from evalharness.reporting.latex import paper_latex

    scores = frame(BLEU=[30.04, 30.01, 12.345])
    assert rows_of(paper_latex(scores, scores, {"BLEU": True}, [])) == [
        ["a", "\\textbf{30.04}"],
        ["b", "30.01"],
        ["c", "12.35"],
    ]
    assert rows_of(paper_latex(scores, scores, {"BLEU": True}, [], decimals=1)) == [
        ["a", "\\textbf{30.0}"],
        ["b", "\\textbf{30.0}"],  # equal as printed: a reader could not tell which one is bold
        ["c", "12.3"],
    ]
    assert rows_of(paper_latex(scores, scores, {"BLEU": True}, [], decimals=0))[2] == ["c", "12"]


def compile_problems(tex: str, folder) -> list[str]:
    """pdflatex on `tex` in `folder`: the errors, overfull boxes and LaTeX warnings of its log (the first run of a
    document with a \\label always warns that labels may have changed: not a problem)."""
    (folder / "t.tex").write_text(tex, encoding="utf-8")
    proc = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "t.tex"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )
    log = (folder / "t.log").read_text(encoding="utf-8", errors="replace")
    assert proc.returncode == 0 and (folder / "t.pdf").exists(), log[-2000:]
    return re.findall(r"^! .*|^Overfull \\[hv]box.*|^LaTeX Warning: (?!Label\(s\) may have changed).*", log, re.M)


needs_pdflatex = pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")


@needs_pdflatex
@pytest.mark.parametrize("args", [(), ("--columns", "ci")])
def test_it_compiles_as_is_without_errors_or_overfull_boxes(run_dir, tmp_path, args):
    assert compile_problems(latex(run_dir, *args), tmp_path) == []


@needs_pdflatex
def test_a_table_wider_than_the_text_is_scaled_down_to_it(tmp_path):
    from evalharness.reporting.latex import paper_latex

    metrics = {"BLEU": True, "chrF2": True, "chrF2++": True, "TER": False, "COMET": True, "MetricX": False}
    scores = frame(**{m: [30.0, 20.0, 10.0] for m in metrics})
    scores["system"] = ["a system with a long name (num_beams=4)", "b", "c"]
    for m in metrics:
        scores[f"{m} ci_low"], scores[f"{m} ci_high"] = scores[m] - 1.5, scores[m] + 1.5
    tex = paper_latex(scores, scores, metrics, [])
    assert "\\resizebox{" in tex and "$\\pm$1.50" in tex
    assert compile_problems(tex, tmp_path) == []
