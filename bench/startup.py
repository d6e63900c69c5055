#!/usr/bin/env python3
"""Benchmark: how long `evalharness --help` takes, and `import evalharness` (the package) and `evalharness.api`
(what a notebook's first `evalharness.run` loads), each in a new process, the minimum of --repeat runs on the
wall clock. The last line is

    BENCH help_seconds <seconds of evalharness --help> s goal <= 0.5

The command is the `evalharness` script beside this Python when there is one (as a user types it), else
`python -m evalharness`. Standard library only.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

GOAL_SECONDS = 0.5


def best_of(command: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs of each command; the minimum counts (default: 5)")
    args = parser.parse_args()
    script = Path(sys.executable).parent / "evalharness"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "evalharness"]
    python = best_of([sys.executable, "-c", "pass"], args.repeat)
    package = best_of([sys.executable, "-c", "import evalharness"], args.repeat)
    api = best_of([sys.executable, "-c", "import evalharness.api"], args.repeat)
    help_seconds = best_of([*command, "--help"], args.repeat)
    print(f"python -c pass:              {python:.3f} s")
    print(f"import evalharness:          {package:.3f} s")
    print(f"import evalharness.api:      {api:.3f} s")
    print(f"evalharness --help:          {help_seconds:.3f} s ({' '.join(command)} --help)")
    print(f"BENCH help_seconds {help_seconds:.3f} s goal <= {GOAL_SECONDS:g}")


if __name__ == "__main__":
    main()
