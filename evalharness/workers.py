"""Process pools that die with the run: a worker whose parent is killed (kill -9, OOM) exits instead of running
on as an orphan. Linux has `prctl(PR_SET_PDEATHSIG)` for that; elsewhere the pool is an ordinary one."""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager

PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    """Pool initializer: SIGKILL this worker when its parent thread's process ends."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            return
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)


def fork_pool(max_workers: int) -> ProcessPoolExecutor | None:
    """A pool of forked workers (the data is inherited, not pickled), or None where fork does not exist."""
    try:
        context = multiprocessing.get_context("fork")
    except ValueError:
        return None
    return ProcessPoolExecutor(
        max_workers=max_workers, mp_context=context, initializer=_die_with_parent, initargs=(os.getpid(),)
    )


# Set while a run's executor scores elsewhere (Ray tasks): max_workers -> a pool.
_remote_pool: Callable[[int], Executor] | None = None


@contextmanager
def remote_pools(factory: Callable[[int], Executor]) -> Iterator[None]:
    """Within the block, `process_pool` hands out `factory`'s pools (the ray executor's tasks)."""
    global _remote_pool
    previous, _remote_pool = _remote_pool, factory
    try:
        yield
    finally:
        _remote_pool = previous


def process_pool(max_workers: int) -> Executor | None:
    """Where scoring sends its chunks: the run executor's pool when it has one, else forked processes here."""
    if _remote_pool is not None:
        return _remote_pool(max_workers)
    return fork_pool(max_workers)
