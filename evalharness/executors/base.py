"""What the runner asks of an executor: every cell's outputs, a process pool for scoring, a manifest entry."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from evalharness.datasets.base import Dataset
from evalharness.plan import Cell, Plan
from evalharness.progress import Progress
from evalharness.systems.context import CellStats, RunContext


@dataclass
class CellOutput:
    """What one cell produced: translations of the dataset's source units (and, for round trips, the pivots)."""

    units: list[str]
    pivots: list[str] | None
    stats: CellStats


def produce(cell: Cell, dataset: Dataset, ctx: RunContext) -> CellOutput:
    """One cell's outputs, produced as its dataset says (a round trip translates twice)."""
    stats = CellStats()
    units, pivots = dataset.produce(cell.system, ctx, stats)
    return CellOutput(units, pivots, stats)


class Executor(ABC):
    """Runs the cells of a plan. The driver (this process) always owns the caches and the results."""

    @abstractmethod
    def translate_cells(self, plan: Plan, ctx: RunContext, progress: Progress) -> list[CellOutput]:
        """Every cell's outputs, in plan order."""

    @contextmanager
    def scoring(self) -> Iterator[None]:
        """While scoring: where `workers.process_pool` sends its chunks (this machine's processes by default)."""
        yield

    def workers(self) -> int | None:
        """Processes (or tasks) to cut scoring into by default; None: this machine's cores."""
        return None

    def manifest(self) -> dict:
        """The manifest's `executor` entry: what ran where, and the retries."""
        return {"kind": "local"}

    def close(self) -> None:
        """Release what the executor started (a Ray instance)."""
        return None


class LocalExecutor(Executor):
    """Every cell in this process, one after the other; scoring in forked worker processes."""

    def translate_cells(self, plan: Plan, ctx: RunContext, progress: Progress) -> list[CellOutput]:
        return [produce(cell, plan.datasets[cell.dataset], ctx) for cell in plan.cells]
