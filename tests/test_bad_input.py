"""Bad input through the real CLI: one line `evalharness: error: ...` naming the file/line or key, a non-zero exit,
no traceback, and no results written."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from evalharness import secrets
from evalharness.cli import main

from conftest import error_lines

WMT22 = Path(__file__).resolve().parents[1] / "data" / "wmt22"
N = 5  # segments in the tiny test set

FILES = {
    "src.de": "sources/generaltest2022.de-en.src.de",
    "ref.A.en": "references/generaltest2022.de-en.ref.A.en",
    "ref.B.en": "references/generaltest2022.de-en.ref.B.en",
    "hyp.Online-B.en": "system-outputs/generaltest2022.de-en.hyp.Online-B.en",
    "hyp.PROMT.en": "system-outputs/generaltest2022.de-en.hyp.PROMT.en",
    "src.zh": "sources/generaltest2022.zh-en.src.zh",
    "hyp.NiuTrans.en": "system-outputs/generaltest2022.zh-en.hyp.NiuTrans.en",
}


def wmt22_lines(name: str, n: int = N) -> list[str]:
    path = WMT22 / FILES[name]
    if not path.exists():
        pytest.fail(f"test data missing: {path}")
    return path.read_text(encoding="utf-8").split("\n")[:n]


def write_data(folder: Path, name: str, n: int = N) -> Path:
    """The first n lines of a WMT22 file as folder/name."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("".join(line + "\n" for line in wmt22_lines(name, n)), encoding="utf-8")
    return path


@pytest.fixture
def data(tmp_path) -> Path:
    """tmp_path/data: five de-en segments, two references and two systems' outputs; five zh-en sources and one
    system's outputs."""
    for name in FILES:
        write_data(tmp_path / "data", name)
    return tmp_path / "data"


def write_config(tmp_path: Path, text: str, name: str = "exp.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text.lstrip("\n"), encoding="utf-8")
    return path


def run_cli(tmp_path: Path, *args) -> subprocess.CompletedProcess:
    """`evalharness ARGS...` in tmp_path with a private score cache: the command line's own `main`, called in this
    process as the console script calls it (a fresh interpreter per case only adds its start-up time; the test
    `test_the_installed_command_prints_what_main_prints` runs the real command in a subprocess)."""
    out, err = io.StringIO(), io.StringIO()
    cwd, env = os.getcwd(), dict(os.environ)
    secrets.forget()  # what an earlier case's config remembered is not this one's secret
    os.chdir(tmp_path)
    os.environ["EVALHARNESS_CACHE_DIR"] = str(tmp_path / "cache")
    os.environ.pop("NOPE_NOT_SET", None)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main([str(arg) for arg in args])
            except SystemExit as exit:  # argparse's usage errors
                code = exit.code if isinstance(exit.code, int) else 1
    finally:
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(env)
        secrets.forget()
    return subprocess.CompletedProcess(["evalharness", *map(str, args)], code, out.getvalue(), err.getvalue())


def run_subprocess(tmp_path: Path, *args) -> subprocess.CompletedProcess:
    """`evalharness ARGS...` in a subprocess, in tmp_path, with a private score cache."""
    env = {**os.environ, "EVALHARNESS_CACHE_DIR": str(tmp_path / "cache")}
    return subprocess.run(
        [sys.executable, "-m", "evalharness", *map(str, args)], capture_output=True, text=True, cwd=tmp_path, env=env
    )


def run_config(tmp_path: Path, config: Path) -> subprocess.CompletedProcess:
    return run_cli(tmp_path, "run", config, "--output-dir", tmp_path / "results")


def one_error_line(proc: subprocess.CompletedProcess, tmp_path: Path, *expected: str) -> str:
    """The checks every bad input shares; returns the error line."""
    assert proc.returncode != 0, proc.stdout
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = error_lines(proc.stderr)
    assert len(lines) == 1, proc.stderr
    line = lines[0]
    assert line.startswith("evalharness: error: "), line
    for fragment in expected:
        assert fragment in line, f"{fragment!r} not in {line!r}"
    results = tmp_path / "results"
    assert not results.exists() or not any(results.iterdir()), sorted(map(str, results.rglob("*")))
    return line


GOOD = """
datasets:
  - name: tiny
    kind: parallel
    langpair: de-en
    source: data/src.de
    references: [data/ref.A.en]
systems:
  - name: online-b
    engine: outputs
    path: data/hyp.Online-B.en
  - name: copy
    engine: identity
metrics: [bleu, chrf]
"""


def config(tmp_path: Path, old: str = "", new: str = "", text: str = GOOD) -> Path:
    """GOOD (or `text`) with one edit; the edit must apply."""
    if old:
        assert old in text, old
        text = text.replace(old, new, 1)
    return write_config(tmp_path, text)


# ---------------------------------------------------------------- the positive control


def test_valid_tiny_config_runs_and_writes_scores(tmp_path, data):
    proc = run_config(tmp_path, config(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    scores = (tmp_path / "results" / "exp" / "scores.csv").read_text(encoding="utf-8").splitlines()
    assert scores[0].startswith("dataset,system,level,metric,score")
    assert len(scores) == 1 + 2 * 2  # two systems x two metrics


# ---------------------------------------------------------------- data files


def test_reference_shorter_than_source(tmp_path, data):
    write_data(data, "ref.A.en", n=3)
    line = one_error_line(run_config(tmp_path, config(tmp_path)), tmp_path, "ref.A.en", "has 3 lines", "5")
    assert "src.de" in line


def test_second_reference_shorter_than_source(tmp_path, data):
    cfg = config(tmp_path, "references: [data/ref.A.en]", "references: [data/ref.A.en, data/ref.B.en]")
    write_data(data, "ref.B.en", n=4)
    line = one_error_line(run_config(tmp_path, cfg), tmp_path, "ref.B.en", "has 4 lines")
    assert "ref.A.en" not in line


def test_hypothesis_file_with_a_different_line_count(tmp_path, data):
    write_data(data, "hyp.Online-B.en", n=N + 2)
    one_error_line(run_config(tmp_path, config(tmp_path)), tmp_path, "hyp.Online-B.en", "has 7 lines", "5")


def test_empty_source_file(tmp_path, data):
    (data / "src.de").write_bytes(b"")
    one_error_line(run_config(tmp_path, config(tmp_path)), tmp_path, "src.de", "empty")


def test_source_file_of_blank_lines(tmp_path, data):
    (data / "src.de").write_bytes(b"\n\n\n")
    one_error_line(run_config(tmp_path, config(tmp_path)), tmp_path, "src.de", "empty")


def test_invalid_utf8_in_a_reference(tmp_path, data):
    lines = [line.encode("utf-8") for line in wmt22_lines("ref.A.en")]
    lines[2] = lines[2][:10] + b"\xff" + lines[2][10:]
    (data / "ref.A.en").write_bytes(b"\n".join(lines) + b"\n")
    one_error_line(run_config(tmp_path, config(tmp_path)), tmp_path, "ref.A.en:3:", "invalid UTF-8", "0xff")


def test_invalid_utf8_in_a_hypothesis(tmp_path, data):
    lines = [line.encode("utf-8") for line in wmt22_lines("hyp.Online-B.en")]
    lines[3] = b"\xc3(" + lines[3]
    (data / "hyp.Online-B.en").write_bytes(b"\n".join(lines) + b"\n")
    one_error_line(run_config(tmp_path, config(tmp_path)), tmp_path, "hyp.Online-B.en:4:", "invalid UTF-8")


def jsonl_config(tmp_path: Path, data: Path, lines: list[str]) -> Path:
    """GOOD with its dataset read from data/news.jsonl, which holds `lines`."""
    (data / "news.jsonl").write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return config(
        tmp_path,
        "kind: parallel\n    langpair: de-en\n    source: data/src.de\n    references: [data/ref.A.en]",
        "kind: jsonl\n    langpair: de-en\n    path: data/news.jsonl\n    source_field: src\n"
        "    reference_fields: [ref]",
    )


def test_a_jsonl_line_nested_too_deep_is_one_line(tmp_path, data):
    deep = '{"src": "a", "ref": "b", "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    cfg = jsonl_config(tmp_path, data, ['{"src": "a", "ref": "b"}', deep])
    one_error_line(run_config(tmp_path, cfg), tmp_path, "news.jsonl:2:", "nests too deeply")


def test_a_line_longer_than_the_default_limit_is_one_line(tmp_path, data):
    long = '{"src": "' + "a" * 1_000_000 + '", "ref": "b"}'
    cfg = jsonl_config(tmp_path, data, ['{"src": "a", "ref": "b"}', long])
    one_error_line(
        run_config(tmp_path, cfg),
        tmp_path,
        "news.jsonl:2: line longer than 1000000 characters",
        "EVALHARNESS_MAX_LINE_LENGTH",
    )


def test_the_line_limit_is_set_by_the_environment(tmp_path, data, monkeypatch):
    monkeypatch.setenv("EVALHARNESS_MAX_LINE_LENGTH", "40")
    lengths = [len(line) for line in wmt22_lines("src.de")]
    first_long = next(i for i, n in enumerate(lengths) if n > 40) + 1
    one_error_line(
        run_config(tmp_path, config(tmp_path)),
        tmp_path,
        f"src.de:{first_long}: line longer than 40 characters",
        "EVALHARNESS_MAX_LINE_LENGTH",
    )


def test_a_line_limit_that_is_not_a_number_is_one_line(tmp_path, data, monkeypatch):
    monkeypatch.setenv("EVALHARNESS_MAX_LINE_LENGTH", "lots")
    one_error_line(run_config(tmp_path, config(tmp_path)), tmp_path, "EVALHARNESS_MAX_LINE_LENGTH", "'lots'")


def test_missing_source_file(tmp_path, data):
    cfg = config(tmp_path, "source: data/src.de", "source: data/nope.de")
    one_error_line(run_config(tmp_path, cfg), tmp_path, "exp.yaml:5:", "datasets[0].source", "nope.de", "not found")


def test_missing_hypothesis_file(tmp_path, data):
    cfg = config(tmp_path, "path: data/hyp.Online-B.en", "path: data/hyp.nope.en")
    one_error_line(run_config(tmp_path, cfg), tmp_path, "hyp.nope.en", "not found")


def test_system_pattern_that_matches_no_files(tmp_path, data):
    cfg = config(tmp_path, "path: data/hyp.Online-B.en", "path: data/{langpair}.hyp.{system}.en")
    one_error_line(run_config(tmp_path, cfg), tmp_path, "online-b", "no file matches", "de-en.hyp.{system}.en", "tiny")


def test_output_dir_that_is_a_file(tmp_path, data):
    (tmp_path / "taken").write_text("not a folder\n", encoding="utf-8")
    proc = run_cli(tmp_path, "run", config(tmp_path), "--output-dir", tmp_path / "taken")
    one_error_line(proc, tmp_path, "taken", "is a file")
    assert (tmp_path / "taken").read_text(encoding="utf-8") == "not a folder\n"


# ---------------------------------------------------------------- the config file


def test_unknown_top_level_key(tmp_path, data):
    cfg = config(tmp_path, "metrics: [bleu, chrf]", "metrcs: [bleu, chrf]")
    one_error_line(run_config(tmp_path, cfg), tmp_path, "exp.yaml:13:", "'metrcs'", "did you mean 'metrics'")


def test_unknown_key_in_a_dataset(tmp_path, data):
    cfg = config(tmp_path, "source: data/src.de", "sourc: data/src.de")
    one_error_line(
        run_config(tmp_path, cfg), tmp_path, "exp.yaml:5:", "datasets[0]", "'sourc'", "did you mean 'source'"
    )


def test_unknown_key_in_a_system(tmp_path, data):
    cfg = config(tmp_path, "    path: data/hyp.Online-B.en", "    path: data/hyp.Online-B.en\n    beam: 4")
    one_error_line(run_config(tmp_path, cfg), tmp_path, "exp.yaml:11:", "systems[0]", "'beam'")


@pytest.mark.parametrize(
    "old,new,key,lineno",
    [
        ("references: [data/ref.A.en]", "references: 5", "datasets[0].references", 6),
        ("    langpair: de-en", "    langpair: de-en\n    max_segments: many", "datasets[0].max_segments", 5),
        ("metrics: [bleu, chrf]", "metrics: [bleu, chrf]\nworkers: -1", "workers", 14),
    ],
)
def test_wrong_type(tmp_path, data, old, new, key, lineno):
    one_error_line(run_config(tmp_path, config(tmp_path, old, new)), tmp_path, f"exp.yaml:{lineno}:", key)


def test_yaml_syntax_error(tmp_path, data):
    cfg = config(tmp_path, "    source: data/src.de", "    source: data/src.de: oops")
    one_error_line(run_config(tmp_path, cfg), tmp_path, "exp.yaml:5:", "YAML syntax error")


def test_yaml_unclosed_bracket(tmp_path, data):
    cfg = config(tmp_path, "references: [data/ref.A.en]", "references: [data/ref.A.en")
    one_error_line(run_config(tmp_path, cfg), tmp_path, "exp.yaml:", "YAML syntax error")


def test_yaml_top_level_is_a_list(tmp_path, data):
    cfg = write_config(tmp_path, "- name: tiny\n  kind: parallel\n")
    one_error_line(run_config(tmp_path, cfg), tmp_path, "exp.yaml", "mapping")


def test_empty_config_file(tmp_path, data):
    cfg = write_config(tmp_path, "\n")
    one_error_line(run_config(tmp_path, cfg), tmp_path, "exp.yaml", "empty")


def test_config_file_that_does_not_exist(tmp_path, data):
    one_error_line(run_config(tmp_path, tmp_path / "nope.yaml"), tmp_path, "nope.yaml", "not found")


def test_duplicate_key_in_the_yaml(tmp_path, data):
    cfg = config(tmp_path, "    langpair: de-en", "    langpair: de-en\n    langpair: zh-en")
    one_error_line(run_config(tmp_path, cfg), tmp_path, "exp.yaml:5:", "duplicate key 'langpair'")


def test_unknown_metric(tmp_path, data):
    cfg = config(tmp_path, "metrics: [bleu, chrf]", "metrics: [blue, chrf]")
    one_error_line(run_config(tmp_path, cfg), tmp_path, "exp.yaml:13:", "metrics[0]", "'blue'", "did you mean 'bleu'")


def test_unknown_system_engine(tmp_path, data):
    cfg = config(tmp_path, "engine: outputs", "engine: outptus")
    one_error_line(
        run_config(tmp_path, cfg), tmp_path, "exp.yaml:9:", "systems[0].engine", "'outptus'", "did you mean 'outputs'"
    )


def test_unknown_dataset_kind(tmp_path, data):
    cfg = config(tmp_path, "kind: parallel", "kind: paralel")
    one_error_line(
        run_config(tmp_path, cfg), tmp_path, "exp.yaml:3:", "datasets[0].kind", "'paralel'", "did you mean 'parallel'"
    )


def test_duplicate_system_names(tmp_path, data):
    cfg = config(tmp_path, "  - name: copy", "  - name: online-b")
    one_error_line(run_config(tmp_path, cfg), tmp_path, "exp.yaml:11:", "systems[1].name", "duplicate name 'online-b'")


def test_duplicate_dataset_names(tmp_path, data):
    entry = "  - {name: tiny, kind: parallel, langpair: de-en, source: data/src.de, references: [data/ref.B.en]}\n"
    cfg = config(tmp_path, "systems:", entry + "systems:")
    one_error_line(run_config(tmp_path, cfg), tmp_path, "exp.yaml:7:", "datasets[1].name", "duplicate name 'tiny'")


def test_missing_environment_variable_in_a_path(tmp_path, data):
    cfg = config(tmp_path, "source: data/src.de", "source: ${NOPE_NOT_SET}/src.de")
    one_error_line(run_config(tmp_path, cfg), tmp_path, "exp.yaml:5:", "datasets[0].source", "NOPE_NOT_SET", "not set")


# ---------------------------------------------------------------- evalharness score


def test_score_hypothesis_of_the_wrong_length(tmp_path, data):
    write_data(data, "hyp.PROMT.en", n=N - 1)
    proc = run_cli(
        tmp_path,
        "score",
        "--ref",
        data / "ref.A.en",
        "--hyp",
        data / "hyp.Online-B.en",
        data / "hyp.PROMT.en",
        "--metrics",
        "bleu",
    )
    one_error_line(proc, tmp_path, "hyp.PROMT.en", "has 4 lines", "ref.A.en")
    assert proc.stdout == ""


def test_score_reference_that_does_not_exist(tmp_path, data):
    proc = run_cli(tmp_path, "score", "--ref", data / "nope.en", "--hyp", data / "hyp.Online-B.en")
    one_error_line(proc, tmp_path, "nope.en", "not found")
    assert proc.stdout == ""


@pytest.mark.parametrize(
    "langpair,source,references,expected",
    [
        ("de-en", "src.de", ["ref.A.en", "src.de"], ["reference src.de", "identical to the source"]),
        ("en-de", "ref.A.en", ["ref.B.en"], ["reference ref.B.en", "identified as de", "(most are en)"]),
    ],
)
def test_a_reference_that_is_the_source_or_in_another_language_is_refused(
    tmp_path, data, langpair, source, references, expected
):
    refs = ", ".join(str(data / name) for name in references)
    cfg = write_config(
        tmp_path,
        f"""
datasets:
  - {{name: news, kind: parallel, langpair: {langpair}, source: {data / source}, references: [{refs}]}}
systems:
  - {{name: copy, engine: identity}}
metrics: [bleu]
""",
    )
    one_error_line(run_config(tmp_path, cfg), tmp_path, *expected)


@pytest.mark.parametrize(
    "options,expected",
    [
        (["-l", "zh-en", "-s", "src.zh"], ["reference src.zh", "5 of 5 segments are identical to the source"]),
        (["-l", "zh-en"], ["reference src.zh", "identified as en", "(most are zh)"]),
    ],
)
def test_score_refuses_the_source_given_as_reference_as_run_does(tmp_path, data, options, expected):
    """The Chinese source passed as the reference: `run` refuses it, and so does `score`, with -s or without."""
    options = [data / item if item.startswith("src.") else item for item in options]
    proc = run_cli(tmp_path, "score", "--ref", data / "src.zh", "--hyp", data / "hyp.NiuTrans.en", *options)
    one_error_line(proc, tmp_path, *expected)
    assert proc.stdout == ""


def test_score_without_langpair_scores_references_in_another_language_with_a_warning(tmp_path, data):
    """No --langpair: scored as xx-en (BLEU's 13a tokenizer), so the Chinese reference is not refused (German
    references scored without -l stay scorable, as in sacrebleu), but not in silence either."""
    proc = run_cli(tmp_path, "score", "--ref", data / "src.zh", "--hyp", data / "hyp.NiuTrans.en", "-m", "chrf")
    assert proc.returncode == 0, proc.stderr
    assert error_lines(proc.stderr) == [
        "warning: dataset src.zh: reference src.zh: only 0% of its segments are identified as en (most are zh); "
        "no language pair was given, so it is scored as xx-en: give the language pair to have the references checked"
    ]
    assert "chrF2" in proc.stdout


# ------------------------------------------------------------------ checked before any work, in one line


def valid_config(data: Path, extra: str = "", metrics: str = "[bleu]", langpair: str = "de-en") -> str:
    return f"""
datasets:
  - {{name: news, kind: parallel, langpair: {langpair}, source: {data / "src.de"}, references: [{data / "ref.A.en"}]}}
systems:
  - {{name: copy, engine: identity}}
metrics: {metrics}
{extra}"""


@pytest.mark.parametrize(
    "text,expected",
    [
        ("a: &x [*x]\n", "a YAML alias refers to a node that contains it"),
        ("[" * 3000 + "]" * 3000 + "\n", "nests too deeply"),
        (
            "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
            + "".join(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 9))
            + "datasets: *a8\n",
            "expands to more than 100000 values through YAML aliases",
        ),
    ],
)
def test_yaml_that_never_ends_or_explodes_is_one_line(tmp_path, text, expected):
    proc = run_config(tmp_path, write_config(tmp_path, text))
    one_error_line(proc, tmp_path, "exp.yaml", expected)


BOMB = (
    "{a0: &a0 [x, x, x, x, x, x, x, x, x, x], "
    + ", ".join(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 6))
    + "}"
)


@pytest.mark.parametrize(
    "item,expected",
    [
        ("sweep=&x [*x]", "a YAML alias refers to a node that contains it"),
        ("sweep=" + "[" * 3000 + "]" * 3000, "nests too deeply"),
        (f"sweep={BOMB}", "expands to more than 100000 values through YAML aliases"),
    ],
)
def test_set_values_that_never_end_or_explode_are_one_line(tmp_path, data, item, expected):
    """`--set` values are YAML, read with the same limits as the file."""
    proc = run_cli(tmp_path, "run", config(tmp_path), "--set", item, "--output-dir", tmp_path / "results")
    line = one_error_line(proc, tmp_path, expected)
    assert line.startswith(f"evalharness: error: --set {item[:5]}"), line


@pytest.mark.parametrize(
    "extra,expected",
    [
        ("statistics: {seed: -1}", "seed"),
        ("statistics: {bootstrap: 100000000}", "bootstrap"),
    ],
)
def test_statistics_numpy_cannot_use_are_refused_in_the_config(tmp_path, data, extra, expected):
    proc = run_config(tmp_path, write_config(tmp_path, valid_config(data, extra)))
    one_error_line(proc, tmp_path, expected)


@pytest.mark.parametrize(
    "metrics,langpair,expected",
    [
        ("[{name: bleu, smooth_method: floor, smooth_value: -1}]", "de-en", "smooth_value"),
        ("[{name: bleu, tokenize: ja-mecab}]", "de-en", "pip install sacrebleu[ja]"),
    ],
)
def test_a_metric_that_cannot_score_fails_at_plan_time(tmp_path, data, metrics, langpair, expected):
    proc = run_config(tmp_path, write_config(tmp_path, valid_config(data, metrics=metrics, langpair=langpair)))
    one_error_line(proc, tmp_path, expected)
    assert "evalharness: translate" not in proc.stderr


@pytest.mark.parametrize(
    "metrics,expected",
    [
        ("[{name: chrf, char_order: 100000}]", "metrics[0].char_order: Input should be less than or equal to 10"),
        ("[bleu, {name: chrf++, word_order: 50}]", "metrics[1].word_order: Input should be less than or equal to 4"),
        ("[{name: chrf, beta: 1000}]", "metrics[0].beta: Input should be less than or equal to 10"),
        (
            "[{name: bleu, smooth_method: add-k, smooth_value: 1.0e+9}]",
            "metrics[0].smooth_value: Input should be less than or equal to 10",
        ),
        (
            "[{name: command, label: X, command: [x], scale: .inf}]",
            "metrics[0].scale: Input should be less than or equal to 1000",
        ),
        (
            "[{name: command, label: X, command: [x], timeout: 1.0e+12}]",
            "metrics[0].timeout: Input should be less than or equal to 604800",
        ),
    ],
)
def test_metric_options_beyond_what_sacrebleu_and_the_papers_use_are_refused(tmp_path, data, metrics, expected):
    """An unbounded option (chrF over 100000-grams) would run for minutes without a word: refused at once."""
    proc = run_config(tmp_path, write_config(tmp_path, valid_config(data, metrics=metrics)))
    one_error_line(proc, tmp_path, "exp.yaml:", expected)


def test_an_output_folder_that_cannot_be_written_fails_before_any_work(tmp_path, data):
    proc = run_cli(tmp_path, "run", write_config(tmp_path, valid_config(data)), "--output-dir", "/proc/evalharness")
    one_error_line(proc, tmp_path, "/proc/evalharness/exp: cannot write the results folder there")
    assert "evalharness: translate" not in proc.stderr


def test_score_refuses_a_metric_given_twice(tmp_path, data):
    proc = run_cli(tmp_path, "score", "--ref", data / "ref.A.en", "--hyp", data / "hyp.PROMT.en", "-m", "bleu", "bleu")
    one_error_line(proc, tmp_path, "--metrics: bleu given twice")


def test_report_on_a_broken_manifest_is_one_line(tmp_path, data):
    run_cli(tmp_path, "run", write_config(tmp_path, valid_config(data)), "--output-dir", tmp_path / "out")
    (tmp_path / "out" / "exp" / "manifest.json").write_text("{broken", encoding="utf-8")
    proc = run_cli(tmp_path, "report", tmp_path / "out" / "exp")
    one_error_line(proc, tmp_path, "manifest.json: not valid JSON")


def test_systems_named_like_missing_values_stay_themselves_in_the_report(tmp_path, data):
    config = write_config(
        tmp_path,
        valid_config(data).replace(
            "  - {name: copy, engine: identity}",
            "  - {name: NA, engine: identity}\n  - {name: 'null', engine: outputs, path: "
            + str(data / "hyp.PROMT.en")
            + "}",
        ),
    )
    assert run_cli(tmp_path, "run", config, "--output-dir", tmp_path / "out").returncode == 0
    assert run_cli(tmp_path, "report", tmp_path / "out" / "exp").returncode == 0
    page = (tmp_path / "out" / "exp" / "report.html").read_text(encoding="utf-8")
    assert ">NA<" in page and ">null<" in page and ">nan<" not in page


def test_a_pipe_in_a_system_name_keeps_its_markdown_row_whole(tmp_path, data):
    """Names discovered from file names (`{system}`) may hold `|`, which would end a Markdown cell."""
    (data / "hyp.a|b.en").write_bytes((data / "hyp.PROMT.en").read_bytes())
    config = write_config(
        tmp_path,
        valid_config(data).replace(
            "{name: copy, engine: identity}", "{name: mt, engine: outputs, path: '" + str(data) + "/hyp.{system}.en'}"
        ),
    )
    proc = run_cli(tmp_path, "run", config, "--output-dir", tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    header = next(line for line in proc.stdout.splitlines() if line.startswith("| dataset"))
    [row] = [line for line in proc.stdout.splitlines() if "a&#124;b" in line]
    assert len(row.split("|")) == len(header.split("|"))


def test_whitespace_only_reference_lines_are_reported(tmp_path, data):
    lines = (data / "ref.A.en").read_text(encoding="utf-8").split("\n")
    lines[2] = "   \t "
    (data / "ref.A.en").write_text("\n".join(lines), encoding="utf-8")
    proc = run_cli(tmp_path, "run", write_config(tmp_path, valid_config(data)), "--output-dir", tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    assert "warning: dataset news: reference ref.A.en: 1 blank or whitespace-only segments (segment 3)" in proc.stderr


def test_the_installed_command_prints_what_main_prints(tmp_path, data):
    """The cases above call `main` in this process; the command itself, in a fresh interpreter, behaves alike."""
    config = write_config(tmp_path, GOOD.replace("metrics: [bleu, chrf]", "metrics: [bleu, chrf]\nworkerz: 1"))
    args = ("run", config, "--output-dir", tmp_path / "results")
    real, called = run_subprocess(tmp_path, *args), run_cli(tmp_path, *args)
    assert (real.returncode, error_lines(real.stderr), real.stdout) == (
        called.returncode,
        error_lines(called.stderr),
        called.stdout,
    )
    one_error_line(real, tmp_path, "workerz")
