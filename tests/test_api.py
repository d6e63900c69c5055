"""The Python API (evalharness.run / score / load): the same numbers as the command line and as sacrebleu,
DataFrames with explicit dtypes, and the README's notebook example, executed as written."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import evalharness
import numpy as np
import pandas as pd
import pytest
import sacrebleu
from evalharness.errors import UserError
from evalharness.textio import read_lines

from conftest import ROOT, run_cli_here, wmt22_path

N = 30


@pytest.fixture
def data(tmp_path) -> Path:
    """Thirty WMT22 de-en segments, both references and two submissions."""
    folder = tmp_path / "data"
    folder.mkdir()
    files = {
        "src.de": ("sources", "generaltest2022.de-en.src.de"),
        "ref.A.en": ("references", "generaltest2022.de-en.ref.A.en"),
        "ref.B.en": ("references", "generaltest2022.de-en.ref.B.en"),
        "hyp.Online-B.en": ("system-outputs", "generaltest2022.de-en.hyp.Online-B.en"),
        "hyp.LT22.en": ("system-outputs", "generaltest2022.de-en.hyp.LT22.en"),
    }
    for name, parts in files.items():
        (folder / name).write_text("\n".join(read_lines(wmt22_path(*parts))[:N]) + "\n", encoding="utf-8")
    return folder


def config(data: Path) -> dict:
    return {
        "run_name": "api",
        "datasets": [
            {
                "name": "news",
                "kind": "parallel",
                "langpair": "de-en",
                "source": str(data / "src.de"),
                "references": [str(data / "ref.A.en")],
            }
        ],
        "systems": [
            {"name": "mt", "engine": "outputs", "path": str(data / "hyp.{system}.en")},
            {"name": "copy", "engine": "identity"},
        ],
        "metrics": ["bleu", "chrf"],
        "statistics": {"bootstrap": 100, "baseline": "copy"},
        "workers": 1,
    }


def lines(path: Path) -> list[str]:
    return read_lines(path)


# ----------------------------------------------------------------------------------------------------- score


def test_score_equals_sacrebleus_corpus_score(data):
    hyps, refs = lines(data / "hyp.Online-B.en"), [lines(data / "ref.A.en"), lines(data / "ref.B.en")]
    result = evalharness.score(
        hyps, refs, metrics=["bleu", "chrf", "ter"], langpair="de-en", statistics={"bootstrap": 0}
    )
    scores = result.scores.set_index("metric")
    for label, metric in (("BLEU", sacrebleu.BLEU()), ("chrF2", sacrebleu.CHRF()), ("TER", sacrebleu.TER())):
        expected = metric.corpus_score(hyps, refs)
        assert scores.loc[label, "score"] == pytest.approx(expected.score, abs=1e-9)
        assert scores.loc[label, "signature"] == str(metric.get_signature())


def test_score_equals_the_score_command(data):
    systems = {"Online-B": lines(data / "hyp.Online-B.en"), "LT22": lines(data / "hyp.LT22.en")}
    result = evalharness.score(
        systems,
        lines(data / "ref.A.en"),
        metrics=["bleu", "chrf", "ter"],
        langpair="de-en",
        statistics={"baseline": "Online-B"},
        dataset="ref.A.en",
        reference_names=["ref.A.en"],
    )
    proc = run_cli_here(
        "score",
        "-r",
        data / "ref.A.en",
        "-i",
        f"Online-B={data / 'hyp.Online-B.en'}",
        f"LT22={data / 'hyp.LT22.en'}",
        "-l",
        "de-en",
        "--paired-bs",
        "-f",
        "csv",
        check=True,
    )
    command = evalharness.api.typed(pd.read_csv(io.StringIO(proc.stdout), keep_default_na=False, na_values=[""]))
    pd.testing.assert_frame_equal(result.scores, command, check_exact=False, rtol=1e-12)
    assert result.scores["p_value"].notna().sum() == 3  # LT22 against Online-B, per metric


def test_score_returns_sentence_scores_per_segment(data):
    hyps, refs = lines(data / "hyp.LT22.en"), lines(data / "ref.A.en")
    segments = evalharness.score(hyps, refs, metrics=["chrf"], langpair="de-en").segments
    assert len(segments) == N and list(segments["segment"]) == list(range(1, N + 1))
    assert segments["chrF2"].tolist() == pytest.approx(
        [sacrebleu.sentence_chrf(h, [r]).score for h, r in zip(hyps, refs, strict=True)]
    )


def test_score_refuses_bad_arguments_in_one_line(data):
    hyps, refs = lines(data / "hyp.LT22.en"), lines(data / "ref.A.en")
    with pytest.raises(UserError, match="^metrics: unknown metric 'bluer'"):
        evalharness.score(hyps, refs, metrics=["bluer"])
    with pytest.raises(UserError, match="^langpair: "):
        evalharness.score(hyps, refs, langpair="german-english")
    with pytest.raises(UserError, match="^statistics.baseline: no system named 'x'"):
        evalharness.score(hyps, refs, statistics={"baseline": "x"})
    with pytest.raises(UserError, match="hypothesis 'hypothesis' has 29 lines, expected 30|29"):
        evalharness.score(hyps[:-1], refs)


HYPS = ["The cat sat on the mat.", "It rained all day."]
REFS = ["The cat sat on a mat.", "It was raining all day."]


@pytest.mark.parametrize(
    "call,name",
    [
        (lambda: evalharness.score(None, REFS), "hypotheses"),
        (lambda: evalharness.score([HYPS[0], None], REFS), "hypotheses"),
        (lambda: evalharness.score([1, 2], REFS), "hypotheses"),
        (lambda: evalharness.score([b"The cat sat on the mat.", b"It rained."], REFS), "hypotheses"),
        (lambda: evalharness.score(HYPS[0], REFS), "hypotheses"),
        (lambda: evalharness.score({"mt": None}, REFS), "hypotheses"),
        (lambda: evalharness.score({"mt": [HYPS[0], 3.5]}, REFS), "hypotheses"),
        (lambda: evalharness.score(HYPS, None), "references"),
        (lambda: evalharness.score(HYPS, [REFS[0], None]), "references"),
        (lambda: evalharness.score(HYPS, [REFS, [1, 2]]), "references"),
        (lambda: evalharness.score(HYPS, REFS[0]), "references"),
        (lambda: evalharness.score(HYPS, REFS, metrics=[5]), "metrics"),
        (lambda: evalharness.score(HYPS, REFS, metrics="bleu"), "metrics"),
        (lambda: evalharness.score(HYPS, REFS, metrics=[{"name": ["bleu"]}]), "metrics"),
        (lambda: evalharness.score(HYPS, REFS, langpair=5), "langpair"),
        (lambda: evalharness.score(HYPS, REFS, workers="2"), "workers"),
        (lambda: evalharness.score(HYPS, REFS, statistics=5), "statistics"),
        (lambda: evalharness.score(HYPS, REFS, sources=[None, None]), "sources"),
    ],
    ids=[
        "hypotheses None",
        "hypotheses holding None",
        "hypotheses holding numbers",
        "hypotheses holding bytes",
        "hypotheses a bare string",
        "a system's lines None",
        "a system's lines holding a number",
        "references None",
        "references holding None",
        "a reference stream holding numbers",
        "references a bare string",
        "metrics [5]",
        "metrics a bare string",
        "a metric name that is a list",
        "langpair a number",
        "workers a string",
        "statistics a number",
        "sources holding None",
    ],
)
def test_score_refuses_a_bad_argument_with_one_line_naming_it(call, name):
    with pytest.raises(UserError) as caught:
        call()
    message = str(caught.value)
    assert message.startswith(name) and "\n" not in message, message


@pytest.mark.parametrize(
    "kind",
    [
        lambda lines: np.array(lines),
        lambda lines: np.array(lines, dtype=object),
        lambda lines: pd.Series(lines),
        lambda lines: pd.Series(lines, dtype="string"),
    ],
    ids=["numpy str array", "numpy object array", "pandas Series", "pandas string Series"],
)
def test_score_takes_numpy_arrays_and_pandas_series_of_strings_as_lists(kind):
    options = {"metrics": ["bleu", "chrf"], "statistics": {"bootstrap": 0}}
    expected = evalharness.score({"mt": HYPS}, [REFS, REFS[::-1]], **options)
    given = evalharness.score({"mt": kind(HYPS)}, [kind(REFS), kind(REFS[::-1])], **options)
    pd.testing.assert_frame_equal(given.scores, expected.scores)
    one_system = evalharness.score(kind(HYPS), kind(REFS), **options)
    assert one_system.scores["score"].tolist() == evalharness.score(HYPS, REFS, **options).scores["score"].tolist()


def test_score_refuses_the_source_given_as_reference_as_run_does(data):
    src, hyps = lines(data / "src.de"), lines(data / "hyp.LT22.en")
    with pytest.raises(UserError, match=f"^dataset score: reference reference: {N} of {N} segments are identical"):
        evalharness.score(hyps, src, langpair="de-en", sources=src)
    with pytest.raises(UserError, match=r"reference: only 0% of its segments are identified as en \(most are de\)"):
        evalharness.score(hyps, src, langpair="de-en")


def test_score_without_langpair_scores_references_in_another_language_with_a_warning(data, capsys):
    src = lines(data / "src.de")
    assert evalharness.score(src, src, metrics=["chrf"]).scores["score"].tolist() == [100.0]
    assert "only 0% of its segments are identified as en (most are de); no language pair was given" in (
        capsys.readouterr().err
    )


def test_score_refuses_a_metric_option_out_of_bounds_naming_its_key(data):
    hyps, refs = lines(data / "hyp.LT22.en")[:3], lines(data / "ref.A.en")[:3]
    expected = r"^metrics\[1\]\.char_order: Input should be less than or equal to 10 \(got 100000\)$"
    with pytest.raises(UserError, match=expected):
        evalharness.score(hyps, refs, metrics=["bleu", {"name": "chrf", "char_order": 100000}], langpair="de-en")


# ------------------------------------------------------------------------------------------------------- run


def test_run_of_a_dict_without_writing_leaves_no_folder(data, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = evalharness.run(config(data), write=False)
    assert result.out_dir is None and not (tmp_path / "results").exists()
    assert set(result.scores["system"]) == {"Online-B", "LT22", "copy"}
    assert len(result.segments) == 3 * N


def test_run_overrides_take_a_dict_as_set_takes_key_value(data, tmp_path):
    result = evalharness.run(config(data), overrides={"metrics": ["ter"], "statistics.bootstrap": 0}, write=False)
    assert set(result.scores["metric"]) == {"TER"}
    assert result.scores["ci_low"].isna().all()


def test_run_returns_what_it_writes_and_load_reads_the_same_frames(data, tmp_path):
    written = evalharness.run(config(data), output_dir=tmp_path / "results")
    assert written.out_dir == tmp_path / "results" / "api" and (written.out_dir / "scores.csv").exists()
    loaded = evalharness.load(written.out_dir)
    for name in ("scores", "summary", "segments"):
        pd.testing.assert_frame_equal(getattr(written, name), getattr(loaded, name), check_exact=False, rtol=1e-12)
    proc = run_cli_here("table", written.out_dir, "-f", "csv", check=True)
    assert proc.stdout == written.table("csv")


def test_frames_have_explicit_dtypes(data):
    result = evalharness.run(config(data), write=False)
    scores, summary, segments = result.scores, result.summary, result.segments
    assert scores["system"].dtype == "string" and scores["metric"].dtype == "string"
    assert scores["score"].dtype == "float64" and scores["n_segments"].dtype == "Int64"
    assert scores["significant"].dtype == "boolean" and scores["rank"].dtype == "Int64"
    assert summary["BLEU"].dtype == "float64" and summary["BLEU p_value"].dtype == "float64"
    assert summary["BLEU significant"].dtype == "boolean" and summary["valid"].dtype == "boolean"
    assert segments["segment"].dtype == "Int64" and segments["BLEU"].dtype == "float64"


def test_a_system_called_NA_stays_a_name_through_load(data, tmp_path):
    cfg = config(data)
    cfg["systems"] = [
        {"name": "NA", "engine": "outputs", "path": str(data / "hyp.LT22.en")},
        {"name": "null", "engine": "identity"},
    ]
    cfg["statistics"] = {"bootstrap": 0}
    written = evalharness.run(cfg, output_dir=tmp_path)
    assert sorted(evalharness.load(written.out_dir).scores["system"].unique()) == ["NA", "null"]


def test_a_bad_dict_config_is_one_line_naming_the_key(data):
    cfg = config(data)
    cfg["datasets"][0]["sourse"] = cfg["datasets"][0].pop("source")
    with pytest.raises(UserError, match=r"^<config dict>: datasets\[0\]"):
        evalharness.run(cfg, write=False)


def config_that_contains_itself() -> dict:
    cfg: dict = {"datasets": [{"name": "news"}], "systems": [{"name": "copy", "engine": "identity"}]}
    cfg["datasets"][0]["again"] = cfg
    return cfg


@pytest.mark.parametrize(
    "call,name",
    [
        (lambda: evalharness.run(["a"], write=False), "config"),
        (lambda: evalharness.run(None, write=False), "config"),
        (lambda: evalharness.run(config_that_contains_itself(), write=False), "<config dict>"),
        (lambda: evalharness.run({}, overrides="workers=1", write=False), "overrides"),
        (lambda: evalharness.run({}, overrides=[5], write=False), "overrides"),
        (lambda: evalharness.run({}, overrides={"workers": object()}, write=False), "overrides"),
        (lambda: evalharness.api.plan_of(["a"]), "config"),
        (lambda: evalharness.load(None), "results_dir"),
    ],
    ids=[
        "config a list",
        "config None",
        "a dict config that contains itself",
        "overrides a string",
        "overrides holding a number",
        "an override value YAML cannot hold",
        "plan_of of a list",
        "load of None",
    ],
)
def test_run_and_load_refuse_a_bad_argument_with_one_line_naming_it(call, name):
    with pytest.raises(UserError) as caught:
        call()
    message = str(caught.value)
    assert message.startswith(name) and "\n" not in message, message


# ---------------------------------------------------------------------------------------------------- README


def readme_example() -> str:
    """The Python block of the README's "From Python" section."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## From Python") :]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "README: no ```python block in the 'From Python' section"
    return match.group(1)


@pytest.mark.slow
def test_the_readme_notebook_example_runs_as_written(monkeypatch, shared_cache):
    """Runs the seeds config (the real Gemma: its translations from the test run's shared cache when
    test_seeds_main made them first) without writing, as the README shows."""
    monkeypatch.chdir(ROOT)
    before = sorted(p.name for p in (ROOT / "results").iterdir())
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(readme_example(), "README.md", "exec"), {})
    printed = out.getvalue()
    assert "gemma-270m" in printed and "copy-source" in printed and "chrF2" in printed and "BLEU" in printed
    assert "signature" in printed and "nrefs:1" in printed
    assert sorted(p.name for p in (ROOT / "results").iterdir()) == before  # write=False wrote nothing


def test_the_readme_example_uses_the_api_it_documents():
    code = readme_example()
    assert "evalharness.run(" in code and "overrides=" in code and "evalharness.score(" in code
    assert ".pivot" in code


def test_tables_printed_from_results_equal_the_written_files(data, tmp_path):
    """What `evalharness run` prints (Results.table) is what it writes: no `<NA>` from the typed frames."""
    written = evalharness.run(config(data), output_dir=tmp_path / "results")
    folder = written.out_dir
    assert written.table("md") == (folder / "summary.md").read_text(encoding="utf-8")
    assert written.table("latex") == (folder / "summary.tex").read_text(encoding="utf-8")
    assert written.table("csv") == (folder / "summary.csv").read_text(encoding="utf-8")
    assert written.table("csv", tidy=True) == (folder / "scores.csv").read_text(encoding="utf-8")
    assert "<NA>" not in written.table("md", tidy=True) + evalharness.load(folder).table("md")
