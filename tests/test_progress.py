"""Progress of a run: on a terminal, phases and bars (with an ETA) for translation, scoring and the statistics;
off a terminal, one line per phase; never anything in the result files."""

from __future__ import annotations

import fcntl
import io
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
from pathlib import Path

from evalharness.progress import Progress, seconds

from conftest import run_cli, run_cli_here, write_three_sentence_run

# A translating system without a model: an external program that upper-cases every line.
UPPER = "import sys\nfor line in sys.stdin:\n    print(line.rstrip('\\n').upper(), flush=True)\n"
PHASES = ["plan", "translate", "score", "statistics", "write"]


def three_sentence_config(folder: Path) -> Path:
    (folder / "upper.py").write_text(UPPER, encoding="utf-8")
    systems = (
        f"  - {{name: upper, engine: command, command: [{sys.executable}, upper.py]}}\n"
        "  - {name: copy, engine: identity}\n"
    )
    config = write_three_sentence_run(folder, systems, "[bleu, chrf, ter]")
    config.write_text(
        config.read_text(encoding="utf-8") + "statistics: {baseline: copy, all_pairs: true}\n", encoding="utf-8"
    )
    return config


def run_on_a_terminal(args: list[str], cwd: Path) -> tuple[int, str]:
    """`evalharness ARGS` with stdout and stderr on a pseudo-terminal; everything it wrote there."""
    main, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))  # rows, columns of a real terminal
    proc = subprocess.Popen(
        [sys.executable, "-m", "evalharness", *args], cwd=cwd, stdin=subprocess.DEVNULL, stdout=child, stderr=child
    )
    os.close(child)
    chunks = []
    while True:
        ready, _, _ = select.select([main], [], [], 120)
        if not ready:
            proc.kill()
            raise AssertionError("no output on the terminal for 120 s")
        try:
            data = os.read(main, 65536)
        except OSError:  # EIO: the child closed its end
            break
        if not data:
            break
        chunks.append(data)
    os.close(main)
    return proc.wait(timeout=60), b"".join(chunks).decode("utf-8", errors="replace")


def test_a_terminal_shows_phases_and_bars_with_an_eta_for_translation_scoring_and_statistics(tmp_path):
    config = three_sentence_config(tmp_path)
    code, screen = run_on_a_terminal(["run", str(config), "--output-dir", str(tmp_path / "out")], tmp_path)
    assert code == 0, screen
    # tqdm's bars: "<phase> <what>:  33%|███▎      | 1/3 [00:00<00:00, 9.87seg/s]" (elapsed<remaining = ETA)
    bar = r"\s*\d+%\|[^|]*\| *\d+/{total} \[[0-9:]+<[0-9:?]+"
    assert re.search(r"translate upper de-en:" + bar.format(total=3), screen), screen
    assert re.search(r"score three segments:" + bar.format(total=r"\d+"), screen), screen
    assert re.search(r"statistics resampling:" + bar.format(total=r"\d+"), screen), screen
    for phase in PHASES:  # announced, then closed with its time
        assert f"evalharness: {phase} ..." in screen
        assert re.search(rf"evalharness: {phase}: [^\n]*\(\d+\.\d s\)", screen), phase


def test_off_a_terminal_each_phase_is_one_line_and_there_are_no_bars(tmp_path):
    config = three_sentence_config(tmp_path)
    proc = run_cli("run", config, "--output-dir", tmp_path / "out", cwd=tmp_path, check=True)
    phase_lines = [
        line
        for line in proc.stderr.splitlines()
        if re.match(r"evalharness: (plan|translate|score|statistics|write)\b", line)
    ]
    assert [line.split(":")[1].strip() for line in phase_lines] == PHASES
    assert all(re.search(r"\(\d+\.\d s\)$", line) for line in phase_lines)
    assert "\r" not in proc.stderr and "%|" not in proc.stderr
    assert "evalharness:" not in proc.stdout  # stdout holds the table only


def test_progress_reaches_no_result_file(tmp_path):
    config = three_sentence_config(tmp_path)
    run_on_a_terminal(["run", str(config), "--output-dir", str(tmp_path / "tty")], tmp_path)
    run_cli_here("run", config, "--output-dir", tmp_path / "log", cwd=tmp_path, check=True)
    tty, log = tmp_path / "tty" / "run", tmp_path / "log" / "run"
    names = sorted(p.relative_to(tty).as_posix() for p in tty.rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(log).as_posix() for p in log.rglob("*") if p.is_file())
    for name in names:
        data = (tty / name).read_bytes()
        if name.endswith(".png"):
            assert data == (log / name).read_bytes(), name
        else:
            assert b"%|" not in data and b"evalharness: translate" not in data and b"\r" not in data, name
    for name in ("scores.csv", "summary.csv", "summary.md", "segments.jsonl"):
        assert (tty / name).read_bytes() == (log / name).read_bytes(), name


def test_a_phase_that_fails_prints_no_closing_line():
    out = io.StringIO()
    progress = Progress(stream=out, terminal=False)
    try:
        with progress.phase("translate"):
            raise ValueError("boom")
    except ValueError:
        pass
    with progress.phase("plan") as phase:
        phase.summary = "1 datasets"
    assert out.getvalue().splitlines() == [out.getvalue().splitlines()[0]]
    assert re.fullmatch(r"evalharness: plan: 1 datasets \(\d\.\d s\)\n", out.getvalue())


def test_silent_progress_says_nothing_and_its_bars_count():
    out = io.StringIO()
    progress = Progress(stream=out, terminal=True, enabled=False)
    with progress.phase("score"):
        with progress.bar(5, "x") as bar:
            bar.update(2)
    assert out.getvalue() == "" and bar.n == 2


def test_durations_read_as_a_person_would_say_them():
    assert [seconds(s) for s in (0.04, 12.34, 245, 3725)] == ["0.0 s", "12.3 s", "4 min 05 s", "1 h 02 min"]
