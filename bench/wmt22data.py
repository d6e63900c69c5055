"""What the bench scripts share: where the WMT22 data is, and a clear failure when a file is missing.

Data: $WMT22_DIR, default <repo>/data/wmt22 (the copy the repository carries). Standard library only.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def fail(message: str) -> None:
    print(f"bench: error: {message}", file=sys.stderr)
    sys.exit(1)


def wmt22_dir() -> Path:
    return Path(os.environ.get("WMT22_DIR", REPO / "data" / "wmt22"))


def wmt22_file(*parts: str) -> Path:
    path = wmt22_dir().joinpath(*parts)
    if not path.is_file():
        fail(f"not found: {path} (set WMT22_DIR to the WMT22 folder)")
    return path


def submissions(pair: str, expected: int, key=None) -> tuple[Path, list[Path]]:
    """Reference A and every system output of a WMT22 pair (exactly `expected` of them)."""
    ref = wmt22_file("references", f"generaltest2022.{pair}.ref.A.en")
    folder = wmt22_dir() / "system-outputs"
    hyps = sorted(folder.glob(f"generaltest2022.{pair}.hyp.*.en"), key=key)
    if len(hyps) != expected:
        fail(f"expected {expected} {pair} system outputs in {folder}, found {len(hyps)}")
    return ref, hyps
