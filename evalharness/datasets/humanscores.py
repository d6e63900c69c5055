"""Human scores of a test set, at the system level (three formats) and at the segment level.

System level, one of (each its own config key):

- `human_scores`: WMT's DA ranking file (below);
- `human_sys_scores`: WMT's `ad-sys-scores-*.csv` (`parse_sys_scores`), shipped beside it;
- `human_system_csv`: a plain CSV with the header `system,score` (`parse_system_csv`).

Segment level (`human_segment_scores`): a TSV (header `system<TAB>segment<TAB>score`) or JSONL file (`{"system":
..., "segment": ..., "score": ...}` per line) of DA, MQM or ESA scores; `segment` is the 1-based segment number of
the dataset (`parse_segment_scores`). Without a system-level file, a system's human score is the mean of its
segment scores (as mt-metrics-eval derives system scores from segment scores).

The ranking file's format is WMT's `ad-sys-ranking-*-z-names.csv` (WMT20-22): one system per line, six space-separated
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

import csv
import json
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from evalharness.errors import UserError
from evalharness.textio import read_lines

FIELDS = "raw mean, z mean, N judged, N all, system id, system name"
# A human translation judged as a system: HUMAN, HUMAN-B, ... as name, or as id before WMT's ".N" suffix.
HUMAN_PATTERN = re.compile(r"HUMAN(-[A-Za-z0-9]+)?")
SUFFIX = re.compile(r"\.\d+$")  # WMT's submission number after a system id: Online-W.2
SEGMENT_KEYS = {"system", "segment", "score"}


def is_human_name(name: str) -> bool:
    """A human translation judged as a system (HUMAN, HUMAN-B, HUMAN-B.12)."""
    return bool(HUMAN_PATTERN.fullmatch(SUFFIX.sub("", name)))


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
        return bool(HUMAN_PATTERN.fullmatch(self.name) or HUMAN_PATTERN.fullmatch(SUFFIX.sub("", self.system_id)))


def _number(text: str, what: str, where: str, integer: bool = False, expected: str | None = FIELDS) -> float | int:
    """``text`` as a number, or a one-line error naming the field and, for a file of unnamed columns, what its
    fields are (``expected``: the ranking file's by default; None for a file whose header names them)."""
    try:
        value = int(text) if integer else float(text)
    except ValueError as err:
        fields = f" (expected {expected})" if expected else ""
        raise UserError(f"{where}: {what} is not {'an integer' if integer else 'a number'}: {text!r}{fields}") from err
    if not math.isfinite(value):
        raise UserError(f"{where}: {what} is not a finite number: {text!r}")
    return value


def _system_lines(
    path: Path | str,
    numbered: Iterable[tuple[int, str]],
    count: int,
    described: str,
    entry: Callable[[list[str], str], HumanScore],
) -> list[HumanScore]:
    """One entry per non-blank line (``entry(fields, "FILE:LINE")``), in file order. A line without ``count``
    space-separated fields, a system named twice, or no system at all is an error naming the file (and line)."""
    entries: list[HumanScore] = []
    seen: dict[str, int] = {}
    for number, line in numbered:
        if not line.strip():
            continue
        where = f"{path}:{number}"
        fields = line.split()
        if len(fields) != count:
            raise UserError(
                f"{where}: expected {count} space-separated fields ({described}), got {len(fields)}: "
                f"{line.strip()[:80]!r}"
            )
        score = entry(fields, where)
        if score.name in seen:
            raise UserError(f"{where}: system {score.name!r} appears twice (also line {seen[score.name]})")
        seen[score.name] = number
        entries.append(score)
    if not entries:
        raise UserError(f"{path}: no system scores")
    return entries


def _ranking_entry(fields: list[str], where: str) -> HumanScore:
    raw = _number(fields[0], "raw mean", where)
    z = _number(fields[1], "z mean", where)
    n_judged = _number(fields[2], "N judged", where, integer=True)
    n_all = _number(fields[3], "N all", where, integer=True)
    return HumanScore(fields[5], fields[4], float(raw), float(z), int(n_judged), int(n_all))


def parse_ranking(path: Path | str) -> list[HumanScore]:
    """Every line of a DA ranking file, in file order. Blank lines are skipped; anything else that is not six
    fields (a header line, a comma-separated file) is an error naming the file and line."""
    return _system_lines(path, enumerate(read_lines(path), start=1), 6, FIELDS, _ranking_entry)


def load_human_scores(
    path: Path | str, score: Literal["z", "raw"] = "z", include_human: bool = False
) -> dict[str, float]:
    """System name -> its human score (the z or raw mean), without the human translations unless
    ``include_human``."""
    if score not in ("z", "raw"):
        raise UserError(f"human_score: expected 'z' or 'raw', got {score!r}")
    return _wmt(parse_ranking(path), score, include_human).systems


# ------------------------------------------------------------------------------ WMT's ad-sys-scores-*.csv

SCORES_HEADER = ["RAW.SCR", "Z.SCR", "N", "SYS", "N.ALL"]


def parse_sys_scores(path: Path | str) -> list[HumanScore]:
    """Every row of WMT's `ad-sys-scores-*.csv` (header ``RAW.SCR Z.SCR N SYS N.ALL``, space-separated, one system
    per line, full-precision means). The file has system ids only (``Online-W.2``, ``HUMAN-B``): the name is the
    id without WMT's ``.N`` submission suffix, as the ranking file's names column has it (``Online-W``). One
    exception in WMT22: the de-en ranking file calls reference B ``HUMAN`` where this file keeps ``HUMAN-B``."""
    lines = read_lines(path)
    header = next((k for k, line in enumerate(lines) if line.strip()), None)
    if header is None:
        raise UserError(f"{path}: no system scores")
    if lines[header].split() != SCORES_HEADER:
        raise UserError(
            f"{path}:{header + 1}: expected the header {' '.join(SCORES_HEADER)!r} of WMT's ad-sys-scores file, "
            f"got {lines[header].strip()[:80]!r}"
        )
    numbered = enumerate(lines[header + 1 :], start=header + 2)
    return _system_lines(path, numbered, 5, " ".join(SCORES_HEADER), _sys_scores_entry)


def _sys_scores_entry(fields: list[str], where: str) -> HumanScore:
    raw = _number(fields[0], "RAW.SCR", where, expected=None)
    z = _number(fields[1], "Z.SCR", where, expected=None)
    n_judged = _number(fields[2], "N", where, integer=True, expected=None)
    n_all = _number(fields[4], "N.ALL", where, integer=True, expected=None)
    return HumanScore(SUFFIX.sub("", fields[3]), fields[3], float(raw), float(z), int(n_judged), int(n_all))


# ------------------------------------------------------------------------------------- plain system,score CSV


def _csv_rows(path: Path | str, header: list[str]) -> list[tuple[str, list[str]]]:
    """The rows of a small CSV with exactly ``header`` as its first line, as (where, fields) after it."""
    lines = read_lines(path)
    rows = list(csv.reader(lines))
    if not rows or [h.strip() for h in rows[0]] != header:
        got = lines[0].strip()[:80] if lines else ""
        raise UserError(f"{path}:1: expected the header {','.join(header)!r}, got {got!r}")
    out = []
    for number, fields in enumerate(rows[1:], start=2):
        if not fields or not "".join(fields).strip():
            continue
        if len(fields) != len(header):
            raise UserError(
                f"{path}:{number}: expected {len(header)} comma-separated fields ({','.join(header)}), "
                f"got {len(fields)}: {lines[number - 1].strip()[:80]!r}"
            )
        out.append((f"{path}:{number}", [f.strip() for f in fields]))
    if not out:
        raise UserError(f"{path}: no system scores")
    return out


def parse_system_csv(path: Path | str) -> dict[str, float]:
    """A plain CSV of system-level scores: the header ``system,score``, then one system per line."""
    scores: dict[str, float] = {}
    lines: dict[str, str] = {}
    for where, (name, value) in _csv_rows(path, ["system", "score"]):
        if not name:
            raise UserError(f"{where}: empty system name")
        if name in scores:
            raise UserError(f"{where}: system {name!r} appears twice (also line {lines[name]})")
        scores[name] = float(_number(value, "score", where, expected=None))
        lines[name] = where.rsplit(":", 1)[1]
    return scores


# ------------------------------------------------------------------------------- segment-level scores


def _segment_number(value: object, where: str) -> int:
    if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit())):
        raise UserError(f"{where}: segment is not a positive integer (the 1-based segment number): {value!r}")
    number = int(value)
    if number < 1:
        raise UserError(f"{where}: segment is not a positive integer (the 1-based segment number): {value!r}")
    return number


def _segment_rows(path: Path | str) -> list[tuple[str, object, object, object]]:
    """(where, system, segment, score) of a TSV (header ``system<TAB>segment<TAB>score``) or JSONL file (one object
    with the keys system, segment, score per line), by the file's extension."""
    suffix = Path(path).suffix.lower()
    rows: list[tuple[str, object, object, object]] = []
    lines = read_lines(path)
    if suffix == ".jsonl":
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise UserError(f"{where}: not JSON: {err.msg}") from err
            if not isinstance(record, dict) or not SEGMENT_KEYS <= set(record):
                raise UserError(f"{where}: expected an object with the keys system, segment, score")
            rows.append((where, record["system"], record["segment"], record["score"]))
    elif suffix == ".tsv":
        first = next((k for k, line in enumerate(lines) if line.strip()), None)
        if first is None or lines[first].split("\t") != ["system", "segment", "score"]:
            got = lines[first].strip()[:80] if first is not None else ""
            raise UserError(
                f"{path}:{(first or 0) + 1}: expected the header 'system<TAB>segment<TAB>score', got {got!r}"
            )
        for number, line in enumerate(lines[first + 1 :], start=first + 2):
            if not line.strip():
                continue
            fields = line.split("\t")
            if len(fields) != 3:
                raise UserError(
                    f"{path}:{number}: expected 3 tab-separated fields (system, segment, score), got {len(fields)}"
                )
            rows.append((f"{path}:{number}", fields[0], fields[1], fields[2]))
    else:
        raise UserError(f"{path}: human_segment_scores must be a .tsv or .jsonl file, got {suffix or 'no extension'!r}")
    if not rows:
        raise UserError(f"{path}: no segment scores")
    return rows


def parse_segment_scores(path: Path | str, n_segments: int | None = None) -> dict[str, dict[int, float]]:
    """Segment-level human scores: system -> 0-based segment index -> score, as in the file (no orientation). The
    segment is the 1-based segment number of the dataset (the line number in a plain source file); numbers past
    ``n_segments`` (the dataset's length before `max_segments`) are refused. A system may leave segments out (DA
    judges a sample); a (system, segment) pair twice is an error."""
    scores: dict[str, dict[int, float]] = {}
    seen: dict[tuple[str, int], str] = {}
    for where, system, segment, score in _segment_rows(path):
        if not isinstance(system, str) or not system.strip():
            raise UserError(f"{where}: system is not a non-empty text: {system!r}")
        name = system.strip()
        number = _segment_number(segment, where)
        if n_segments is not None and number > n_segments:
            raise UserError(f"{where}: segment {number} is past the dataset's last segment ({n_segments})")
        if isinstance(score, bool) or not isinstance(score, (int, float, str)):
            raise UserError(f"{where}: score is not a number: {score!r}")
        value = float(_number(str(score), "score", where, expected=None))
        if (name, number) in seen:
            raise UserError(f"{where}: system {name!r} segment {number} appears twice (also {seen[(name, number)]})")
        seen[(name, number)] = where
        scores.setdefault(name, {})[number - 1] = value
    return scores


# ------------------------------------------------------------------------------------- what a dataset gets


@dataclass(frozen=True)
class HumanJudgments:
    """A dataset's human scores, oriented so that higher is better (a lower-is-better file, e.g. MQM error
    penalties, is negated: `kind` then says "(negated)")."""

    systems: dict[str, float]  # system name -> system-level score
    kind: str  # z, raw or score (system files); da, mqm or esa (segment means); "mqm (negated)": lower is better
    # Judgments per system and the z mean (both WMT DA files): SPA's human p-values by a normal approximation.
    counts: dict[str, int] | None = None
    z: dict[str, float] | None = None
    segments: dict[str, dict[int, float]] | None = None  # system -> 0-based segment -> score (oriented)
    segment_kind: str | None = None  # da, mqm, esa ("(negated)" when the file is lower-is-better)


def _keep(name: str, include_human: bool) -> bool:
    return include_human or not is_human_name(name)


def _wmt(entries: list[HumanScore], score: str, include_human: bool) -> HumanJudgments:
    kept = [e for e in entries if include_human or not e.is_human]
    return HumanJudgments(
        systems={e.name: e.z if score == "z" else e.raw for e in kept},
        kind=score,
        counts={e.name: e.n_judged for e in kept},
        z={e.name: e.z for e in kept},
    )


def load_judgments(cfg, n_segments: int, kept_segments: int) -> HumanJudgments | None:
    """The human scores a dataset config names (`DatasetConfigBase`'s human_* keys), or None. ``n_segments``: the
    dataset's segments before `max_segments` (the numbers a segment file may use), ``kept_segments`` after it:
    segment scores past the cut are dropped, as the segments themselves are."""
    judged: HumanJudgments | None = None
    if cfg.human_scores is not None:
        judged = _wmt(parse_ranking(cfg.human_scores), cfg.human_score, cfg.include_human)
    elif cfg.human_sys_scores is not None:
        judged = _wmt(parse_sys_scores(cfg.human_sys_scores), cfg.human_score, cfg.include_human)
    elif cfg.human_system_csv is not None:
        sign = -1.0 if cfg.human_direction == "lower" else 1.0
        scores = parse_system_csv(cfg.human_system_csv)
        judged = HumanJudgments(
            {k: sign * v for k, v in scores.items() if _keep(k, cfg.include_human)},
            "score" if sign > 0 else "score (negated)",
        )
    if cfg.human_segment_scores is None:
        return judged
    sign = -1.0 if cfg.human_direction == "lower" else 1.0
    kind = cfg.human_segment_kind if sign > 0 else f"{cfg.human_segment_kind} (negated)"
    parsed = parse_segment_scores(cfg.human_segment_scores, n_segments)
    segments = {
        name: {i: sign * v for i, v in by_segment.items() if i < kept_segments}
        for name, by_segment in parsed.items()
        if _keep(name, cfg.include_human)
    }
    segments = {name: values for name, values in segments.items() if values}
    if not segments:
        raise UserError(f"{cfg.human_segment_scores}: no segment scores within the dataset's {kept_segments} segments")
    if judged is None:
        means = {name: math.fsum(values.values()) / len(values) for name, values in segments.items()}
        return HumanJudgments(means, kind, segments=segments, segment_kind=kind)
    return HumanJudgments(judged.systems, judged.kind, judged.counts, judged.z, segments, kind)


__all__ = [
    "HumanJudgments",
    "HumanScore",
    "is_human_name",
    "load_human_scores",
    "load_judgments",
    "parse_ranking",
    "parse_segment_scores",
    "parse_sys_scores",
    "parse_system_csv",
]
