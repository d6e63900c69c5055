#!/usr/bin/env python3
"""Benchmark: `evalharness score` against the sacrebleu CLI on the 9 WMT22 de-en submissions.

Both commands score the same files (reference A, 9 system outputs) with BLEU, chrF and TER, each run as a
subprocess and timed on the wall clock (the minimum of --repeat runs). The scores must agree to 2 decimals,
system by system and metric by metric, or the benchmark fails (exit 1). The last line is

    BENCH score_vs_sacrebleu <evalharness time / sacrebleu time> ratio goal <= 0.1

Data: $WMT22_DIR, default <repo>/data/wmt22. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from wmt22data import fail, submissions

PAIR = "de-en"
METRICS = ["bleu", "chrf", "ter"]
# sacrebleu's CLI names the scores by their signature names; evalharness uses the same labels.
LABELS = ["BLEU", "chrF2", "TER"]


def find_files() -> tuple[Path, list[Path]]:
    return submissions(PAIR, 9)


def sacrebleu_command() -> list[str]:
    local = Path(sys.executable).parent / "sacrebleu"
    if local.exists():
        return [str(local)]
    return [sys.executable, "-m", "sacrebleu"]


def timed(cmd: list[str], repeat: int) -> tuple[float, str]:
    """The fastest of `repeat` runs (seconds) and the stdout of the last one."""
    best = float("inf")
    stdout = ""
    for _ in range(repeat):
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            fail(f"command failed with exit code {proc.returncode}: {' '.join(cmd)}\n{proc.stderr}")
        best = min(best, elapsed)
        stdout = proc.stdout
    return best, stdout


def system_name(path: str) -> str:
    """generaltest2022.de-en.hyp.PROMT.en -> PROMT (both tools name a system by its file)."""
    name = Path(path).name
    prefix, suffix = f"generaltest2022.{PAIR}.hyp.", ".en"
    return name[len(prefix) : -len(suffix)] if name.startswith(prefix) and name.endswith(suffix) else name


def parse_sacrebleu(stdout: str) -> dict[tuple[str, str], str]:
    """Multi-system `-f json -w 2`: a list of {"system": path, "BLEU": "26.01", ...}; scores as printed."""
    try:
        records = json.loads(stdout)
    except json.JSONDecodeError as err:
        fail(f"cannot parse the sacrebleu CLI's JSON output ({err}):\n{stdout[:2000]}")
    return {(system_name(r["system"]), label): r[label] for r in records for label in LABELS}


def parse_evalharness(stdout: str) -> dict[tuple[str, str], str]:
    try:
        records = json.loads(stdout)
    except json.JSONDecodeError as err:
        fail(f"cannot parse evalharness's JSON output ({err}):\n{stdout[:2000]}")
    # sacrebleu prints f"{score:.2f}" with -w 2; format the full-precision score the same way.
    return {(system_name(r["system"]), r["metric"]): f"{r['score']:.2f}" for r in records if r["metric"] in LABELS}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=1, help="runs of each command; the minimum counts (default: 1)")
    args = parser.parse_args()
    if args.repeat < 1:
        fail("--repeat must be at least 1")
    ref, hyps = find_files()
    hyp_args = [str(h) for h in hyps]

    sacrebleu_cmd = [*sacrebleu_command(), str(ref), "-i", *hyp_args, "-m", *METRICS, "-f", "json", "-w", "2"]
    evalharness_cmd = [
        sys.executable,
        "-m",
        "evalharness",
        "score",
        "--ref",
        str(ref),
        "--hyp",
        *hyp_args,
        "--metrics",
        *METRICS,
        "--format",
        "json",
        "--langpair",
        PAIR,
    ]

    print(f"{len(hyps)} systems, {PAIR}, metrics {' '.join(METRICS)}, best of {args.repeat}", flush=True)
    t_sacrebleu, out_sacrebleu = timed(sacrebleu_cmd, args.repeat)
    print(f"sacrebleu CLI:     {t_sacrebleu:8.2f} s", flush=True)
    t_evalharness, out_evalharness = timed(evalharness_cmd, args.repeat)
    print(f"evalharness score: {t_evalharness:8.2f} s", flush=True)

    expected = parse_sacrebleu(out_sacrebleu)
    got = parse_evalharness(out_evalharness)
    if set(expected) != set(got):
        fail(f"different (system, metric) pairs: sacrebleu {sorted(expected)} vs evalharness {sorted(got)}")
    wrong = [
        f"{system} {label}: sacrebleu {expected[(system, label)]} evalharness {got[(system, label)]}"
        for system, label in sorted(expected)
        if expected[(system, label)] != got[(system, label)]
    ]
    if wrong:
        fail("scores differ:\n  " + "\n  ".join(wrong))
    print(f"scores agree to 2 decimals: {len(expected)} ({len(hyps)} systems x {len(LABELS)} metrics)")
    print(f"BENCH score_vs_sacrebleu {t_evalharness / t_sacrebleu:.2f} ratio goal <= 0.1")
    return 0


if __name__ == "__main__":
    sys.exit(main())
