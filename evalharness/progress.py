"""What a run shows while it works: its phases with their times, and progress bars with an ETA.

On a terminal (stderr is a TTY) each phase announces itself, long work inside it gets a tqdm bar (segments
translated per cell, segment chunks x metrics scored, resamples of the statistics), and the phase ends with a
line that says what it did and how long it took. Off a terminal (a log file, CI) the bars are silent and each
phase writes that one closing line. Everything goes to stderr: nothing of it reaches stdout or a result file.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TextIO


def seconds(value: float) -> str:
    """12.3 s, 4 min 05 s, 1 h 02 min."""
    if value < 60:
        return f"{value:.1f} s"
    minutes, secs = divmod(int(round(value)), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


@dataclass
class Phase:
    """One phase of a run; `summary` is filled in by the work (what it did, for the closing line)."""

    name: str
    summary: str = ""
    seconds: float = 0.0


class _Silent:
    """A bar that shows nothing (off a terminal): the same calls as tqdm's."""

    n = 0

    def update(self, n: int = 1) -> None:
        self.n += n

    def set_postfix_str(self, text: str) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> _Silent:
        return self

    def __exit__(self, *exc) -> None:
        pass


@dataclass
class Progress:
    """Phases and bars of one command. `terminal=None`: decide from the stream (a TTY shows bars)."""

    stream: TextIO | None = None
    terminal: bool | None = None
    enabled: bool = True  # False: say nothing at all (library use, tests of the engines)
    _current: Phase | None = None

    def __post_init__(self) -> None:
        if self.terminal is None:
            out = self.stream or sys.stderr
            self.terminal = bool(getattr(out, "isatty", lambda: False)())

    @classmethod
    def silent(cls) -> Progress:
        return cls(terminal=False, enabled=False)

    @property
    def out(self) -> TextIO:
        return self.stream or sys.stderr

    def say(self, text: str) -> None:
        if self.enabled:
            print(f"evalharness: {text}", file=self.out, flush=True)

    @contextmanager
    def phase(self, name: str) -> Iterator[Phase]:
        """A phase: announced on a terminal, closed by one line with its summary and time (also off a terminal).
        A phase that fails prints no closing line: the error says what happened."""
        phase = Phase(name)
        previous, self._current = self._current, phase
        started = time.perf_counter()
        if self.terminal:
            self.say(f"{name} ...")
        try:
            yield phase
        finally:
            self._current = previous
        phase.seconds = time.perf_counter() - started
        self.say(f"{name}: {phase.summary + ' ' if phase.summary else ''}({seconds(phase.seconds)})")

    def bar(self, total: int, desc: str, unit: str = "it"):
        """A tqdm bar with rate and ETA on a terminal, under the current phase's name; a silent one otherwise."""
        if not (self.enabled and self.terminal) or total <= 0:
            return _Silent()
        from tqdm import tqdm

        prefix = f"{self._current.name} " if self._current is not None else ""
        # A terminal that reports no size (some pseudo-terminals) would get tqdm's bar hidden: give it one.
        size = self._size()
        return tqdm(
            total=total,
            desc=f"{prefix}{desc}",
            unit=unit,
            leave=False,
            file=self.out,
            mininterval=0.2,
            smoothing=0.1,
            dynamic_ncols=size is None,
            ncols=size and size[0],
            nrows=size and size[1],
        )

    def _size(self) -> tuple[int, int] | None:
        """None when the terminal knows its size (tqdm follows resizes); else ($COLUMNS or 100, 24)."""
        try:
            if os.get_terminal_size(self.out.fileno()).columns > 0:
                return None
        except (AttributeError, OSError, ValueError):
            pass
        columns = os.environ.get("COLUMNS", "")
        return (int(columns) if columns.isdigit() and int(columns) > 0 else 100), 24
