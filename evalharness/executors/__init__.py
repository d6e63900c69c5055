"""Executors: where a run's cells are translated and its scoring chunks computed.

`base.LocalExecutor` (the default) works in this process and its forked workers; `ray_executor.RayExecutor`
sends translation shards to model actors and scoring chunks to tasks on a Ray cluster. Both stand behind
`base.Executor`, so the runner does not know which one runs the cells. Nothing is imported at the top here, so
that `executors.settings` can be read by the config without loading either.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from evalharness.executors.base import Executor
    from evalharness.executors.settings import ExecutorConfig


def make_executor(cfg: ExecutorConfig, log: Callable[[str], None] | None = None) -> Executor:
    """The executor a config asks for. Ray is imported only when a run uses it."""
    if cfg.kind == "ray":
        from evalharness.executors.ray_executor import RayExecutor

        return RayExecutor(cfg, log)
    from evalharness.executors.base import LocalExecutor

    return LocalExecutor()
