#!/usr/bin/env python3
"""Benchmark: paired bootstrap resampling (1000 resamples) against the sacrebleu CLI on the 9 WMT22 de-en submissions.

Both sides run as subprocesses on the same files (reference A, the 9 system outputs, BLEU and chrF, the first
system alphabetically as the baseline) and are timed end to end on the wall clock (the minimum of --repeat runs,
the two commands alternating):

- sacrebleu: `sacrebleu REF -i HYPS -m bleu chrf --paired-bs --paired-bs-n 1000 -f text -w 4` (its `-f json`
  crashes on chrF's float32 scores; `-w 4` only widens the printed numbers);
- evalharness: this script with --ours: reads the files, computes the per-segment statistics with
  `evalharness.metrics.scoring.score_systems` and runs
  `evalharness.statistics.significance.paired_bootstrap`, then prints JSON.

The p-values must agree with the ones sacrebleu prints (4 decimals), and so must the scores, bootstrap means and
CIs (4 decimals), or the benchmark fails (exit 1). The last line is

    BENCH significance_vs_sacrebleu <evalharness time / sacrebleu time> ratio goal <= 0.5

Data: $WMT22_DIR, default <repo>/data/wmt22.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from wmt22data import fail, submissions

PAIR = "de-en"
METRICS = ["bleu", "chrf"]
LABELS = ["BLEU", "chrF2"]  # sacrebleu's score names, also evalharness's labels
N_SAMPLES = 1000
WIDTH = 4


def find_files() -> tuple[Path, list[Path]]:
    return submissions(PAIR, 9, key=system_name)


def system_name(path) -> str:
    """generaltest2022.de-en.hyp.PROMT.en -> PROMT."""
    name = Path(str(path)).name
    prefix, suffix = f"generaltest2022.{PAIR}.hyp.", ".en"
    return name[len(prefix) : -len(suffix)] if name.startswith(prefix) and name.endswith(suffix) else name


def sacrebleu_command() -> list[str]:
    local = Path(sys.executable).parent / "sacrebleu"
    if local.exists():
        return [str(local)]
    return [sys.executable, "-m", "sacrebleu"]


# ------------------------------------------------------------------------------------------ evalharness side


def ours(ref: str, hyps: list[str]) -> int:
    """The evalharness side, run as a subprocess by the benchmark: JSON {system: {label: {...}}} on stdout."""
    from evalharness.metrics import make_metric
    from evalharness.metrics.bleu import BleuConfig
    from evalharness.metrics.chrf import ChrfConfig
    from evalharness.metrics.scoring import default_workers, score_systems
    from evalharness.statistics.significance import paired_bootstrap
    from evalharness.textio import read_lines

    references = [read_lines(ref)]
    systems = {system_name(h): read_lines(h) for h in hyps}
    baseline = min(systems)
    metrics = [make_metric(BleuConfig(name="bleu")), make_metric(ChrfConfig(name="chrf"))]
    workers = default_workers()
    results = score_systems(metrics, "en", references, systems, workers=workers)
    out: dict[str, dict] = {name: {} for name in systems}
    for metric in metrics:
        stats = {name: results[(name, metric.label)].stats for name in systems}
        others = {name: s for name, s in stats.items() if name != baseline}
        paired = paired_bootstrap(
            stats[baseline],
            others,
            metric,
            "en",
            len(references),
            n_samples=N_SAMPLES,
            baseline_name=baseline,
            workers=workers,
        )
        for name, row in paired.items():
            out[name][metric.label] = {"score": row.score, "mean": row.mean, "ci": row.ci, "p_value": row.p_value}
    print(json.dumps(out))
    return 0


# -------------------------------------------------------------------------------------------------- parsing

ANSI = re.compile(r"\x1b\[[0-9;]*m")
SCORE_CELL = re.compile(r"^(-?[0-9.]+) \((-?[0-9.]+) ± (-?[0-9.]+)\)$")
P_CELL = re.compile(r"^\(p = ([0-9.]+)\)\*?$")


def parse_sacrebleu(stdout: str) -> dict[str, dict[str, dict[str, str]]]:
    """The fancy_grid table of `--paired-bs -f text`: {system: {label: {score, mean, ci[, p_value]}}}, as printed."""
    rows = [line for line in ANSI.sub("", stdout).splitlines() if line.startswith("│")]
    if not rows:
        fail(f"no table in sacrebleu's output:\n{stdout[:2000]}")
    header = [cell.strip() for cell in rows[0].strip("│").split("│")]
    labels = [cell.split(" (")[0] for cell in header[1:]]
    table: dict[str, dict[str, dict[str, str]]] = {}
    current = None
    for line in rows[1:]:
        cells = [cell.strip() for cell in line.strip("│").split("│")]
        if cells[0]:
            current = system_name(cells[0].removeprefix("Baseline: "))
            table[current] = {}
            for label, cell in zip(labels, cells[1:], strict=False):
                match = SCORE_CELL.match(cell)
                if not match:
                    fail(f"cannot parse sacrebleu's cell {cell!r}")
                table[current][label] = dict(zip(("score", "mean", "ci"), match.groups(), strict=True))
        elif current is not None:
            for label, cell in zip(labels, cells[1:], strict=False):
                match = P_CELL.match(cell)
                if not match:
                    fail(f"cannot parse sacrebleu's p-value cell {cell!r}")
                table[current][label]["p_value"] = match.group(1)
    return table


def as_printed(ours_json: str) -> dict[str, dict[str, dict[str, str]]]:
    """Our full-precision numbers formatted as sacrebleu prints them (f"{x:.{width}f}", p-values f"{p:.4f}")."""
    try:
        data = json.loads(ours_json)
    except json.JSONDecodeError as err:
        fail(f"cannot parse evalharness's JSON output ({err}):\n{ours_json[:2000]}")
    table: dict[str, dict[str, dict[str, str]]] = {}
    for name, metrics in data.items():
        table[name] = {}
        for label, row in metrics.items():
            cell = {key: f"{row[key]:.{WIDTH}f}" for key in ("score", "mean", "ci")}
            if row["p_value"] is not None:
                cell["p_value"] = f"{row['p_value']:.4f}"
            table[name][label] = cell
    return table


# ---------------------------------------------------------------------------------------------------- main


def run(cmd: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        fail(f"command failed with exit code {proc.returncode}: {' '.join(cmd)}\n{proc.stderr[-4000:]}")
    return elapsed, proc.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=1, help="runs of each command; the minimum counts (default: 1)")
    parser.add_argument("--ours", nargs="+", metavar="FILE", help=argparse.SUPPRESS)  # REF HYP...: our side only
    args = parser.parse_args()
    if args.ours:
        return ours(args.ours[0], args.ours[1:])
    if args.repeat < 1:
        fail("--repeat must be at least 1")
    ref, hyps = find_files()
    hyp_args = [str(h) for h in hyps]  # the first (alphabetically) is sacrebleu's baseline
    sacrebleu_cmd = [
        *sacrebleu_command(),
        str(ref),
        "-i",
        *hyp_args,
        "-m",
        *METRICS,
        "--paired-bs",
        "--paired-bs-n",
        str(N_SAMPLES),
        "-f",
        "text",
        "-w",
        str(WIDTH),
    ]
    ours_cmd = [sys.executable, str(Path(__file__).resolve()), "--ours", str(ref), *hyp_args]
    env_seed = os.environ.get("SACREBLEU_SEED")
    if env_seed not in (None, "12345"):
        fail(f"SACREBLEU_SEED={env_seed}: unset it (evalharness uses sacrebleu's default seed 12345 here)")

    print(
        f"{len(hyps)} systems, {PAIR}, metrics {' '.join(METRICS)}, paired bootstrap {N_SAMPLES} resamples, "
        f"baseline {system_name(hyps[0])}, best of {args.repeat}",
        flush=True,
    )
    t_sacrebleu = t_ours = float("inf")
    out_sacrebleu = out_ours = ""
    for _ in range(args.repeat):  # alternate, so that a busy machine slows both sides alike
        elapsed, out_sacrebleu = run(sacrebleu_cmd)
        t_sacrebleu = min(t_sacrebleu, elapsed)
        elapsed, out_ours = run(ours_cmd)
        t_ours = min(t_ours, elapsed)
    print(f"sacrebleu --paired-bs:          {t_sacrebleu:8.2f} s", flush=True)
    print(f"evalharness paired_bootstrap:   {t_ours:8.2f} s", flush=True)

    expected = parse_sacrebleu(out_sacrebleu)
    got = as_printed(out_ours)
    if set(expected) != set(got):
        fail(f"different systems: sacrebleu {sorted(expected)} vs evalharness {sorted(got)}")
    wrong, n_p = [], 0
    for name in sorted(expected):
        for label in LABELS:
            theirs, mine = expected[name].get(label), got[name].get(label)
            if theirs != mine:
                wrong.append(f"{name} {label}: sacrebleu {theirs} evalharness {mine}")
            n_p += "p_value" in (theirs or {})
    if wrong:
        fail("results differ:\n  " + "\n  ".join(wrong))
    print(
        f"p-values agree with sacrebleu's: {n_p} ({len(hyps) - 1} systems x {len(LABELS)} metrics); "
        f"scores, means and CIs agree to {WIDTH} decimals"
    )
    for label in LABELS:
        line = "  ".join(
            f"{name} {cells[label]['p_value']}" for name, cells in sorted(got.items()) if "p_value" in cells[label]
        )
        print(f"  {label} p: {line}")
    print(f"BENCH significance_vs_sacrebleu {t_ours / t_sacrebleu:.2f} ratio goal <= 0.5")
    return 0


if __name__ == "__main__":
    sys.exit(main())
