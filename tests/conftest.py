"""Shared fixtures: the project's WMT22 data (data/wmt22), a private cache folder, and a way to run the real CLI."""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

# Under pytest-xdist (the quick tier) every worker is one process per core: a torch or OpenMP pool per worker
# would put two threads on each core, and spinning pools then run several times slower than one thread.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("OMP_NUM_THREADS", "1")

from evalharness.cache import model_dir  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
# Converted model weights are shared by all tests (converting the Gemma GGUF takes most of a minute).
MODEL_DIR = model_dir()
# Nothing a test runs reads or writes the user's caches, module-scoped fixtures included (they are set up before
# the per-test `private_cache` below): a translation cached by another version of the code would hide a change.
os.environ["EVALHARNESS_MODEL_DIR"] = str(MODEL_DIR)
os.environ["EVALHARNESS_CACHE_DIR"] = tempfile.mkdtemp(prefix="evalharness-tests-")
atexit.register(shutil.rmtree, os.environ["EVALHARNESS_CACHE_DIR"], True)
# One cache folder shared by the whole test run, every pytest-xdist worker included (the workers inherit this
# variable from the process that starts them, which made the folder): `shared_cache` below.
if not os.environ.get("EVALHARNESS_TEST_SHARED_CACHE"):
    os.environ["EVALHARNESS_TEST_SHARED_CACHE"] = tempfile.mkdtemp(prefix="evalharness-tests-shared-")
    atexit.register(shutil.rmtree, os.environ["EVALHARNESS_TEST_SHARED_CACHE"], True)
SHARED_CACHE = Path(os.environ["EVALHARNESS_TEST_SHARED_CACHE"])
# The tests read the project's own copy of the data, never a folder outside the repository.
WMT22 = ROOT / "data" / "wmt22"
# The shipped configs run on their default data path (${WMT22_DIR:-../data/wmt22}), whatever the shell has set.
os.environ.pop("WMT22_DIR", None)
# Tables fit the terminal (`COLUMNS`, else the terminal's size, else 160). pytest-xdist's workers inherit
# COLUMNS=80 from their launcher: every test sees what a pipe sees (160) unless it sets the width itself.
os.environ.pop("COLUMNS", None)
os.environ.pop("LINES", None)
SEEDS = ROOT / "seeds"

# Three German sentences and their English translations, written for the model tests (not from a test set).
GERMAN = [
    "Der Zug nach Berlin hat heute zwanzig Minuten Verspätung.",
    "Die Stadt will im nächsten Jahr mehr Geld für Schulen ausgeben.",
    "Am Wochenende soll es sonnig und warm werden.",
]
ENGLISH = [
    "The train to Berlin is twenty minutes late today.",
    "The city wants to spend more money on schools next year.",
    "The weekend is expected to be sunny and warm.",
]


def wmt22_path(*parts: str) -> Path:
    path = WMT22.joinpath(*parts)
    if not path.exists():
        pytest.fail(f"test data missing: {path} (the repository carries it in data/wmt22)")
    return path


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    """Every test gets its own score cache, so no test sees another's cached statistics."""
    cache = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("EVALHARNESS_CACHE_DIR", str(cache))
    monkeypatch.setenv("EVALHARNESS_MODEL_DIR", str(MODEL_DIR))
    return cache


@contextlib.contextmanager
def shared_cache_held():
    """The test run's one cache folder, held by this process until the block ends (other workers wait).

    For the runs of the main job (configs/seeds.yaml) in tests that are not about caching: the real Gemma then
    translates the seeds once per test run, not once per test, and the runs that find its translations cached
    write the same bytes (results/seeds is the same whether the cache was warm or cold: test_seeds_main). Holding
    it makes the second of two workers wait for the first one's translations instead of making them again (the
    SQLite caches themselves are safe for concurrent runs). A test that uses it must not assert what the cache
    did (translated or cached counts): whether it is warm depends on which test ran first. Tests about caching,
    interruptions or executors keep their own empty caches (`private_cache`)."""
    SHARED_CACHE.mkdir(parents=True, exist_ok=True)
    with open(SHARED_CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield SHARED_CACHE
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture
def shared_cache(private_cache, monkeypatch):
    """`shared_cache_held` for one test: EVALHARNESS_CACHE_DIR is the shared folder (not its private one)."""
    with shared_cache_held() as cache:
        monkeypatch.setenv("EVALHARNESS_CACHE_DIR", str(cache))
        yield cache


@pytest.fixture(scope="session")
def sacrebleu_golden():
    """sacrebleu's own per-segment statistics of a WMT22 system, every segment: `(pair, system, metric, refs) ->
    rows`, metric one of BLEU, chrF, chrF++, TER, refs "A" or "A+B". Read from the golden file (tests/golden_stats.py)
    when it was made with the installed sacrebleu, else computed by it here (slow: TER is pure Python)."""
    import warnings

    import sacrebleu

    import golden_stats

    golden = golden_stats.Golden()
    if golden.sacrebleu_version == sacrebleu.__version__:
        return golden.statistics
    warnings.warn(
        f"the golden statistics are sacrebleu {golden.sacrebleu_version}'s, sacrebleu {sacrebleu.__version__} is "
        f"installed: computing its own (slow); scripts/make_golden_stats.py makes new ones",
        stacklevel=1,
    )

    def computed(pair: str, system: str, metric: str, refs: str) -> list[list]:
        return golden_stats.sacrebleu_statistics(metric, *golden_stats.segments(pair, system, refs))

    return computed


@contextlib.contextmanager
def sacrebleu_ter_remembered():
    """Within the block, sacrebleu's own `translation_edit_rate` (a pure function, its pure-Python TER) is computed
    once per (hypothesis, reference): for test modules that give sacrebleu the same segments several times."""
    import sacrebleu.metrics.ter as ter_module

    import golden_stats

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ter_module, "translation_edit_rate", golden_stats.memoised_ter(ter_module.translation_edit_rate))
        yield


def write_three_sentence_run(folder: Path, systems: str, metrics: str = "[bleu, chrf]") -> Path:
    """folder/run.yaml: GERMAN -> ENGLISH as a `parallel` dataset `three`, with the given `systems:` lines."""
    (folder / "src.de").write_text("\n".join(GERMAN) + "\n", encoding="utf-8")
    (folder / "ref.en").write_text("\n".join(ENGLISH) + "\n", encoding="utf-8")
    config = folder / "run.yaml"
    config.write_text(
        f"""
datasets:
  - {{name: three, kind: parallel, langpair: de-en, source: src.de, references: [ref.en]}}
systems:
{systems}
metrics: {metrics}
""",
        encoding="utf-8",
    )
    return config


PROGRESS_LINE = re.compile(r"^evalharness: (?:plan|translate|score|statistics|write)(?: \.\.\.|: .*\(\d[^()]*\))$")


def error_lines(stderr: str) -> list[str]:
    """stderr without the run's progress lines (one per finished phase): what a failure printed about itself."""
    return [line for line in stderr.splitlines() if not PROGRESS_LINE.match(line)]


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None, check: bool = False):
    """The real command line, in a subprocess."""
    proc = subprocess.run(
        [sys.executable, "-m", "evalharness", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"evalharness {' '.join(map(str, args))} failed:\n{proc.stderr}")
    return proc


def run_cli_here(*args: str, cwd: Path | None = None, env: dict | None = None, check: bool = False):
    """The command line as `run_cli` runs it, in this process (`cli.main`): the same exit code, stdout and stderr
    without starting Python and importing pandas, sacrebleu and matplotlib again (about 2.5 s of CPU a call).
    For tests that are not about the process itself (signals, exit on a closed pipe, start-up imports, settings
    read once per process such as EVALHARNESS_TER: those keep `run_cli`). File descriptors 1 and 2 go to files
    for the call, so whatever a library writes there is in stdout or stderr as in a subprocess; an exception
    `main` does not catch is a traceback on stderr and exit code 1, as Python's own; the secrets a run remembers
    to redact are forgotten before and after, as when its process ends."""
    import traceback
    import warnings

    from evalharness import cli, secrets

    saved_env = dict(os.environ)
    saved_cwd = os.getcwd()
    saved_streams = sys.stdout, sys.stderr
    saved_fds = os.dup(1), os.dup(2)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, warnings.catch_warnings():
        warnings.resetwarnings()  # the filters of a fresh process (pytest's are its own): Python's defaults
        for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
            warnings.simplefilter("ignore", category, append=True)
        for stream in saved_streams:
            stream.flush()
        try:
            os.dup2(out.fileno(), 1)
            os.dup2(err.fileno(), 2)
            sys.stdout = open(1, "w", buffering=1, encoding="utf-8", closefd=False)
            sys.stderr = open(2, "w", buffering=1, encoding="utf-8", closefd=False)
            os.environ.update({key: str(value) for key, value in (env or {}).items()})
            if cwd is not None:
                os.chdir(cwd)
            secrets.forget()  # what a run remembers to redact lives as long as its process
            try:
                returncode = cli.main([str(arg) for arg in args])
            except SystemExit as exit:  # argparse's usage errors, --help, --version
                returncode = exit.code if isinstance(exit.code, int) else (0 if exit.code is None else 1)
                if isinstance(exit.code, str):
                    print(exit.code, file=sys.stderr)
            except Exception:
                traceback.print_exc(file=sys.stderr)
                returncode = 1
        finally:
            secrets.forget()
            sys.stdout.flush()
            sys.stderr.flush()
            sys.stdout, sys.stderr = saved_streams
            os.dup2(saved_fds[0], 1)
            os.dup2(saved_fds[1], 2)
            os.close(saved_fds[0])
            os.close(saved_fds[1])
            os.chdir(saved_cwd)
            os.environ.clear()
            os.environ.update(saved_env)
        out.seek(0)
        err.seek(0)
        proc = subprocess.CompletedProcess(
            ["evalharness", *map(str, args)],
            returncode,
            out.read().decode("utf-8", errors="replace"),
            err.read().decode("utf-8", errors="replace"),
        )
    if check and proc.returncode != 0:
        raise AssertionError(f"evalharness {' '.join(map(str, args))} failed:\n{proc.stderr}")
    return proc


def _can_mount_read_only() -> bool:
    probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "true"], capture_output=True)
    return probe.returncode == 0


def run_cli_read_only(folder: Path, *args: str, cwd: Path | None = None, env: dict | None = None):
    """The real command line with `folder` (and all in it) read-only. Root ignores file permissions (the tests
    run as root in CI), so for root the folder is a read-only bind mount of itself in a mount namespace of the
    command's own (writes fail with EROFS, as on read-only media); for anyone else its permissions say so."""
    command = [sys.executable, "-m", "evalharness", *map(str, args)]
    if os.geteuid() != 0:
        paths = [*folder.rglob("*"), folder]
        modes = {path: path.stat().st_mode for path in paths}
        for path in paths:
            path.chmod(0o555 if path.is_dir() else 0o444)
        try:
            return run_cli(*args, cwd=cwd, env=env)
        finally:
            for path in reversed(paths):
                path.chmod(modes[path])
    if shutil.which("unshare") is None or not _can_mount_read_only():
        pytest.skip("running as root without a mount namespace: cannot make a folder read-only for root")
    script = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"'
    return subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, str(folder), *command],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
    )


# ------------------------------------------------------------------------------------------ test tiers
# `make test` runs everything (the CI command). `make test-quick` (pytest --quick) skips the whole-config runs
# (marker `slow`), the tests that decode with a real model (marker `model`: Gemma on llama.cpp, the tiny
# transformers models, the e5 embedding model; run their files directly when working on an engine) and the
# headless-browser test (marker `browser`), and says how many it skipped.
QUICK_SKIPS = {"slow": "whole-config run", "model": "real-model", "browser": "headless Chromium"}


def pytest_addoption(parser):
    parser.addoption(
        "--quick",
        action="store_true",
        help="the development tier: skip the slow whole-config runs, the real-model decodes and the browser test",
    )


def pytest_collection_modifyitems(config, items):
    if not config.getoption("--quick"):
        return
    for item in items:
        for marker, what in QUICK_SKIPS.items():
            if item.get_closest_marker(marker) is not None:
                item.add_marker(pytest.mark.skip(reason=f"quick tier skips the {what} tests (make test runs them)"))
                break


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if config.getoption("--quick"):
        skipped = [r for r in terminalreporter.stats.get("skipped", []) if "quick tier" in str(r.longrepr)]
        terminalreporter.write_line(
            f"quick tier: {len(skipped)} tests skipped (slow: whole-config runs, the real Gemma and MiniLM on "
            f"transformers, the compiled TER, BLEU and chrF against sacrebleu's stored statistics on every segment "
            f"of 21 WMT22 systems, real Ray clusters, the COMET environment; model: decodes with Gemma, tiny "
            f"transformers models or the e5 model; and the browser test); `make test` runs "
            f"all of them"
        )
