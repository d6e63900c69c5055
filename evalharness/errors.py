"""The one exception type for user mistakes.

Anything raised as `UserError` is printed by the CLI as a single line and exits non-zero; every other exception
is a bug in evalharness and keeps its traceback. Errors are redacted where they are made (see
`evalharness.secrets`): a `UserError`'s message when it is constructed, and the API's other exceptions, with
every exception chained to them, as they leave it (`redacting`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from evalharness.secrets import redact

P = ParamSpec("P")
R = TypeVar("R")


class UserError(Exception):
    """A problem with the user's input (config, data files, command line) described in one line."""

    exit_status = 2  # what the CLI exits with after printing it; a subclass that is no input mistake has its own

    def __init__(self, message: str):
        super().__init__(redact(" ".join(str(message).split("\n"))))


def redact_chain(err: BaseException | None) -> None:
    """Redact the text arguments of `err` and of the exceptions chained to it: what a traceback shows."""
    seen: set[int] = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        err.args = tuple(redact(arg) if isinstance(arg, str) else arg for arg in err.args)
        err = err.__cause__ or err.__context__


def redacting(func: Callable[P, R]) -> Callable[P, R]:
    """`func` whose exceptions (and what they were raised from) leave it redacted: for the API's entry points,
    where a notebook shows a whole traceback, not the CLI's one line."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except Exception as err:
            redact_chain(err)
            raise

    return wrapper


class ResultsWarning(UserWarning):
    """A results folder that can be read but not checked (its manifest predates the list of file hashes): the
    CLI prints it as one line."""
