"""Writes tests/golden/wmt22-sacrebleu-stats.npz.xz: sacrebleu's own per-segment BLEU, chrF, chrF++ and TER
statistics of all 21 WMT22 systems in data/wmt22 (reference A, and references A and B), which the exhaustive
tests compare the harness's compiled statistics with.

Run it after data/wmt22 changes or when the pinned sacrebleu moves (then change SACREBLEU_VERSION in
tests/golden_stats.py first): `.venv/bin/python scripts/make_golden_stats.py [--processes N]`. It refuses to run
on any other sacrebleu release. sacrebleu's pure-Python TER makes it slow: about 25 CPU minutes.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import golden_stats  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--processes", type=int, default=os.cpu_count() or 1, help="worker processes (default: all cores)"
    )
    parser.add_argument("--output", type=Path, default=golden_stats.GOLDEN, help="default: %(default)s")
    parser.add_argument(
        "--part",
        default="0/1",
        help="K/N: compute every N-th chunk of segments from the K-th (runs of 0/N .. N-1/N can share the work; "
        "the last to finish writes the file). Finished chunks are kept in a folder beside the output, so a "
        "stopped run resumes.",
    )
    args = parser.parse_args()
    k, n = (int(x) for x in args.part.split("/"))
    if not 0 <= k < n:
        parser.error(f"--part {args.part}: K/N with 0 <= K < N")
    if golden_stats.write(args.output, args.processes, part=(k, n)):
        size = args.output.stat().st_size
        print(f"{args.output}: {size / 1e6:.2f} MB, sacrebleu {golden_stats.SACREBLEU_VERSION}")
    else:
        print(f"part {k}/{n} done; the file is written when every part is")


if __name__ == "__main__":
    main()
