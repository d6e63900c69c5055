"""Human system scores of a test set: WMT direct-assessment (DA) system rankings.

The format is WMT's `ad-sys-ranking-*-z-names.csv` (WMT20-22): one system per line, six space-separated
fields and no header::

    raw-mean z-mean n-judged n-all system-id system-name
    68.8 0.004 1799 2181 Lan-Bridge.1 Lan-Bridge

`raw-mean` is the mean raw DA score (0-100), `z-mean` the mean of the annotators' standardized (z) scores, the
score WMT ranks by. The system id is the name with WMT's submission number appended. Human translations judged
as if they were systems (`HUMAN`, `HUMAN-B`: in WMT22 reference B) are not MT systems: they are left out unless
the dataset says `include_human: true`. Scores are keyed by the system *name* (the last field), which is what
the run's systems must be called to be matched (the WMT22 submission files are named that way).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from evalharness.errors import UserError
from evalharness.textio import read_lines

FIELDS = "raw mean, z mean, N judged, N all, system id, system name"
# A human translation judged as a system: HUMAN, HUMAN-B, ... as name, or as id before WMT's ".N" suffix.
HUMAN_PATTERN = re.compile(r"HUMAN(-[A-Za-z0-9]+)?")


@dataclass(frozen=True)
class HumanScore:
    """One line of a DA ranking file."""

    name: str
    system_id: str
    raw: float
    z: float
    n_judged: int
    n_all: int

    @property
    def is_human(self) -> bool:
        stem = re.sub(r"\.\d+$", "", self.system_id)
        return bool(HUMAN_PATTERN.fullmatch(self.name) or HUMAN_PATTERN.fullmatch(stem))


def _number(text: str, what: str, where: str, integer: bool = False) -> float | int:
    try:
        value = int(text) if integer else float(text)
    except ValueError as err:
        raise UserError(
            f"{where}: {what} is not {'an integer' if integer else 'a number'}: {text!r} (expected {FIELDS})"
        ) from err
    if not math.isfinite(value):
        raise UserError(f"{where}: {what} is not a finite number: {text!r}")
    return value


def parse_ranking(path: Path | str) -> list[HumanScore]:
    """Every line of a DA ranking file, in file order. Blank lines are skipped; anything else that is not six
    fields (a header line, a comma-separated file) is an error naming the file and line."""
    entries: list[HumanScore] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(read_lines(path), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        fields = line.split()
        if len(fields) != 6:
            raise UserError(
                f"{where}: expected 6 space-separated fields ({FIELDS}), got {len(fields)}: {line.strip()[:80]!r}"
            )
        raw = _number(fields[0], "raw mean", where)
        z = _number(fields[1], "z mean", where)
        n_judged = _number(fields[2], "N judged", where, integer=True)
        n_all = _number(fields[3], "N all", where, integer=True)
        name = fields[5]
        if name in seen:
            raise UserError(f"{where}: system {name!r} appears twice (also line {seen[name]})")
        seen[name] = number
        entries.append(HumanScore(name, fields[4], float(raw), float(z), int(n_judged), int(n_all)))
    if not entries:
        raise UserError(f"{path}: no system scores")
    return entries


def load_human_scores(
    path: Path | str, score: Literal["z", "raw"] = "z", include_human: bool = False
) -> dict[str, float]:
    """System name -> its human score (the z or raw mean), without the human translations unless
    ``include_human``."""
    if score not in ("z", "raw"):
        raise UserError(f"human_score: expected 'z' or 'raw', got {score!r}")
    return {
        entry.name: entry.z if score == "z" else entry.raw
        for entry in parse_ranking(path)
        if include_human or not entry.is_human
    }


__all__ = ["HumanScore", "parse_ranking", "load_human_scores"]
