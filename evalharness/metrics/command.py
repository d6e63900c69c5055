"""An external scorer as a segment-level metric: any program that reads segments as JSON lines and writes one
score per line (MetricX, BLEURT, COMET in an environment of its own, a lab's own metric).

The protocol (docs/metric-protocol.md):
- evalharness starts `command` (an argument list, no shell) once per level to score, writes one JSON object per
  line to its standard input, `{"src": ..., "mt": ..., "ref": ..., "refs": [...]}` (`ref` is the first
  reference; `src` is "" where the dataset has no source), and closes it;
- the program writes, for every input line and in the same order, one line to standard output: a number, or a
  JSON object with a numeric "score"; then exits with 0;
- anything else (a non-zero exit, fewer or more lines, a line that is not a number) is a one-line error naming
  the metric and the line; the program's last standard-error line is quoted; nothing is cached;
- the check request, once when the run is planned (`--dry-run` included): the program is started with
  EVALHARNESS_CHECK=1 and an empty standard input, and says with its exit status whether it can score (its
  model is there); a program that knows nothing of the request sees zero segments and writes zero lines.

Each distinct (src, mt, refs) is sent once, however many systems produced it. Scores are multiplied by `scale`
(COMET's 0-1 becomes 0-100 with `scale: 100`).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import subprocess
from collections.abc import Hashable, Mapping
from typing import Literal, TypeVar

from pydantic import Field

from evalharness.errors import UserError
from evalharness.metrics.base import MetricConfigBase
from evalharness.metrics.segment import SegmentMetric

Key = TypeVar("Key", bound=Hashable)

CHECK_ENV = "EVALHARNESS_CHECK"  # set to 1 for the plan-time check request (docs/metric-protocol.md)


class CommandConfig(MetricConfigBase):
    name: Literal["command"]
    label: str = Field(description="the score's column name (required: the program's name for its metric)")
    command: list[str] = Field(min_length=1, description="the program and its arguments (no shell)")
    version: str | None = Field(
        default=None,
        description="what identifies the numbers (model and version) in the signature; default: a sha256 of "
        "the program's file and of the arguments that are files",
    )
    scale: float = Field(default=1.0, gt=0, le=1000, description="multiplies every score (100 for a 0-1 metric)")
    higher_is_better: bool = True
    uses_source: bool = Field(default=True, description="whether the scores depend on the source (cache key)")
    timeout: float = Field(
        default=3600, gt=0, le=7 * 24 * 3600, description="seconds the program may take for one level (a week at most)"
    )


def _program(command: list[str]) -> str | None:
    """The program's path, if it can be found."""
    return shutil.which(command[0]) or (command[0] if os.path.isfile(command[0]) else None)


def _file_sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class CommandMetric(SegmentMetric):
    cfg: CommandConfig
    _checked = False  # the program answered the check request (asked once per run, not per target language)

    @property
    def higher_is_better(self) -> bool:  # type: ignore[override]
        return self.cfg.higher_is_better

    @property
    def uses_sources(self) -> bool:  # type: ignore[override]
        return self.cfg.uses_source

    def default_label(self) -> str:
        return self.cfg.label

    def _version(self) -> str:
        """The declared version, else a hash of the program's file and of every argument that is a file (a
        `python scorer.py` changes version when scorer.py does)."""
        if self.cfg.version is not None:
            return self.cfg.version
        program = _program(self.cfg.command)
        if program is None:
            raise UserError(f"metric {self.label}: command {self.cfg.command[0]!r} not found")
        files = [program, *(arg for arg in self.cfg.command[1:] if os.path.isfile(arg))]
        return "sha256-" + hashlib.sha256("".join(_file_sha256(f) for f in files).encode()).hexdigest()[:12]

    def signature_fields(self) -> list[tuple[str, str]]:
        return [("cmd", os.path.basename(self.cfg.command[0])), ("version", self._version())]

    def fingerprint(self, target_lang: str) -> str:
        return json.dumps(
            {"command": self.cfg.command, "version": self._version(), "scale": self.cfg.scale}, sort_keys=True
        )

    def check(self, target_lang: str) -> None:
        """The program exists and answers the check request: a missing model fails before any translation."""
        if _program(self.cfg.command) is None:
            raise UserError(f"metric {self.label}: command {self.cfg.command[0]!r} not found")
        if not self._checked:
            self._run([], check=True)
            self._checked = True
        super().check(target_lang)

    def segment_scores(
        self,
        target_lang: str,
        references: list[list[str]],
        systems: Mapping[Key, list[str]],
        sources: list[str] | None,
        source_lang: str | None,
        use_cache: bool = True,
    ) -> dict[Key, list[float]]:
        requests: dict[str, int] = {}  # JSON line -> its index in what is sent
        per_system: dict[Key, list[int]] = {}
        for name, hyps in systems.items():
            rows = []
            for i, hyp in enumerate(hyps):
                refs = [stream[i] for stream in references]
                line = json.dumps(
                    {"src": sources[i] if sources is not None else "", "mt": hyp, "ref": refs[0], "refs": refs},
                    ensure_ascii=False,
                )
                rows.append(requests.setdefault(line, len(requests)))
            per_system[name] = rows
        scores = self._run(list(requests))
        return {name: [scores[k] for k in rows] for name, rows in per_system.items()}

    def _run(self, lines: list[str], check: bool = False) -> list[float]:
        where = f"metric {self.label} ({' '.join(self.cfg.command)})"
        try:
            proc = subprocess.run(
                self.cfg.command,
                input="".join(line + "\n" for line in lines),
                capture_output=True,
                text=True,
                encoding="utf-8",
                timeout=self.cfg.timeout,
                env={**{k: v for k, v in os.environ.items() if k != CHECK_ENV}, **({CHECK_ENV: "1"} if check else {})},
            )
        except FileNotFoundError as err:
            raise UserError(f"{where}: cannot start it ({err.strerror})") from err
        except subprocess.TimeoutExpired as err:
            raise UserError(f"{where}: no answer within {self.cfg.timeout:g} s (metric option timeout)") from err
        if proc.returncode != 0:
            last = [line.strip() for line in proc.stderr.splitlines() if line.strip()]
            why = f": {last[-1]}" if last else ""
            raise UserError(f"{where}: exited with status {proc.returncode}{why}")
        out = proc.stdout.splitlines()
        if len(out) != len(lines):
            raise UserError(f"{where}: wrote {len(out)} score lines for {len(lines)} segments")
        return [self._score(line, k + 1, where) * self.cfg.scale for k, line in enumerate(out)]

    @staticmethod
    def _score(line: str, number: int, where: str) -> float:
        try:
            value = json.loads(line)
            if isinstance(value, dict):
                value = value["score"]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError
            return float(value)
        except (ValueError, KeyError, TypeError) as err:
            raise UserError(f"{where}: output line {number} is not a score: {line[:80]!r}") from err


__all__ = ["CommandConfig", "CommandMetric"]
