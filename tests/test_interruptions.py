"""A run that is killed or interrupted keeps the translations it finished: real signals, real subprocesses, the
real Gemma default on llama.cpp."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import wmt22_path

N = 12  # WMT22 de-en segments: more than translate in the few seconds before the signal


def write_config(folder: Path, system: str = "{name: gemma, engine: gemma-270m}") -> Path:
    sources = wmt22_path("sources", "generaltest2022.de-en.src.de").read_text(encoding="utf-8").splitlines()[:N]
    refs = wmt22_path("references", "generaltest2022.de-en.ref.A.en").read_text(encoding="utf-8").splitlines()[:N]
    (folder / "src.de").write_text("\n".join(sources) + "\n", encoding="utf-8")
    (folder / "ref.en").write_text("\n".join(refs) + "\n", encoding="utf-8")
    config = folder / "run.yaml"
    config.write_text(
        """
datasets:
  - {name: news, kind: parallel, langpair: de-en, source: src.de, references: [ref.en]}
systems:
  - SYSTEM
metrics: [chrf]
""".replace("SYSTEM", system),
        encoding="utf-8",
    )
    return config


def cached(cache: Path) -> int:
    """Translations in the cache, read as another process would while the run goes on."""
    path = cache / "translations.sqlite"
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(path, timeout=5) as db:
            return db.execute("SELECT COUNT(*) FROM translations").fetchone()[0]
    except sqlite3.OperationalError:  # the table is not there yet
        return 0


def interruptible() -> None:
    """In the child, before exec: Ctrl-C's default action. A shell starts background jobs with SIGINT ignored
    (POSIX, no job control), the ignore is inherited, and Python then installs no KeyboardInterrupt handler:
    under `make test &` or nohup the run would never see the Ctrl-C these tests send."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start(config: Path, cache: Path, out: Path) -> subprocess.Popen:
    env = {**os.environ, "EVALHARNESS_CACHE_DIR": str(cache)}
    return subprocess.Popen(
        [sys.executable, "-m", "evalharness", "run", str(config), "--output-dir", str(out)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=interruptible,
    )


def wait_for_cached(proc: subprocess.Popen, cache: Path, at_least: int, timeout: float = 120) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the run ended before it was interrupted: {proc.stderr.read()}")
        if (n := cached(cache)) >= at_least:
            return n
        time.sleep(0.1)
    proc.kill()
    pytest.fail(f"fewer than {at_least} translations cached after {timeout} s")


def rerun_translated(config: Path, cache: Path, out: Path) -> int:
    env = {**os.environ, "EVALHARNESS_CACHE_DIR": str(cache)}
    proc = subprocess.run(
        [sys.executable, "-m", "evalharness", "run", str(config), "--output-dir", str(out)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    cell = json.loads((out / "run" / "run.json").read_text())["translation"]["cells"][0]
    assert cell["translated"] + cell["cached"] == N
    return cell["translated"]


@pytest.mark.slow  # two whole runs with the real Gemma (~30 s)
def test_kill_9_keeps_the_translations_finished_before_it(tmp_path):
    config, cache = write_config(tmp_path), tmp_path / "cache"
    proc = start(config, cache, tmp_path / "out")
    wait_for_cached(proc, cache, at_least=4)
    proc.kill()  # SIGKILL: no cleanup at all
    proc.wait(timeout=30)
    kept = cached(cache)
    assert 4 <= kept < N
    assert not (tmp_path / "out" / "run").exists()  # nothing half-written
    assert rerun_translated(config, cache, tmp_path / "out") == N - kept


@pytest.mark.slow  # two whole runs with the real Gemma (~30 s)
def test_ctrl_c_stops_within_about_a_segment_keeps_the_work_and_exits_130(tmp_path):
    config, cache = write_config(tmp_path), tmp_path / "cache"
    proc = start(config, cache, tmp_path / "out")
    wait_for_cached(proc, cache, at_least=2)
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    stopped_after = time.monotonic() - sent
    assert proc.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1] == "evalharness: interrupted" and "Traceback" not in stderr
    assert stopped_after < 10, stopped_after  # each llama.cpp context finishes its segment, none starts another
    kept = cached(cache)
    assert 2 <= kept < N
    assert not (tmp_path / "out" / "run").exists()
    assert rerun_translated(config, cache, tmp_path / "out") == N - kept


@pytest.mark.slow  # a whole run with the real Gemma, interrupted (~20 s)
def test_ctrl_c_stops_a_batched_run_within_about_a_step_and_keeps_the_work(tmp_path):
    """Batched decoding (issue 24): each context stops after its current decode step, not after its batch."""
    config = write_config(tmp_path, "{name: gemma, engine: gemma-270m, batch_sequences: 8}")
    cache = tmp_path / "cache"
    proc = start(config, cache, tmp_path / "out")
    wait_for_cached(proc, cache, at_least=1)
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    stopped_after = time.monotonic() - sent
    assert proc.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1] == "evalharness: interrupted" and "Traceback" not in stderr
    assert stopped_after < 10, stopped_after
    assert 1 <= cached(cache) < N


def children(pid: int) -> set[int]:
    try:
        return {int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}
    except OSError:
        return set()


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads children from /proc (Linux)")
def test_kill_9_during_scoring_leaves_no_worker_processes(tmp_path):
    ref = wmt22_path("references", "generaltest2022.de-en.ref.A.en")
    hyps = sorted(wmt22_path("system-outputs").glob("generaltest2022.de-en.hyp.*.en"))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "evalharness",
            "score",
            "--ref",
            str(ref),
            "--hyp",
            *map(str, hyps),
            "-m",
            "ter",
            "--workers",
            "2",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not (workers := children(proc.pid)) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert workers, "the scoring pool never started"
    proc.kill()
    proc.wait(timeout=30)
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(alive(pid) for pid in workers)
