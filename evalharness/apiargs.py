"""The Python API's arguments, checked where they enter (`run`, `score`, `load`).

A notebook passes whatever it holds: None, a bare string, bytes, numbers, numpy arrays, pandas Series. Each wrong
argument is a `UserError` naming the argument (and the line or system), not a TypeError from deep inside; numpy
arrays and pandas Series of strings are lines like lists.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evalharness.errors import UserError


def _kind(value: Any) -> str:
    return "None" if value is None else type(value).__name__


def is_sequence(value: Any) -> bool:
    """A list, a tuple, a 1-D numpy array or a pandas Series: what may hold lines (a string may not)."""
    return isinstance(value, (list, tuple, pd.Series)) or (isinstance(value, np.ndarray) and value.ndim == 1)


def lines_of(value: Any, name: str) -> list[str]:
    """`value` as a list of str, or a UserError naming `name` and the first line that is not a string."""
    if not is_sequence(value):
        raise UserError(f"{name}: expected a list of strings (one per segment), got {_kind(value)}")
    lines = list(value)
    for number, line in enumerate(lines, start=1):
        if not isinstance(line, str):  # numpy's str_ is a str
            raise UserError(f"{name}: line {number} is {_kind(line)}, expected a string")
    return [str(line) for line in lines]


def hypotheses_of(value: Any) -> dict[str, list[str]]:
    """One system's lines, or system name -> lines."""
    if isinstance(value, Mapping):
        systems = {}
        for system, lines in value.items():
            if not isinstance(system, str) or not system:
                raise UserError(f"hypotheses: a system name is a non-empty string, got {system!r}")
            systems[system] = lines_of(lines, f"hypotheses[{system!r}]")
        if not systems:
            raise UserError("hypotheses: no systems")
        return systems
    if not is_sequence(value):
        raise UserError(
            f"hypotheses: expected a list of strings or a dict of system name -> list of strings, got {_kind(value)}"
        )
    return {"hypothesis": lines_of(value, "hypotheses")}


def references_of(value: Any) -> list[list[str]]:
    """One reference's lines, or a list of reference streams (``references[k][i]``: reference k of segment i)."""
    if not is_sequence(value):
        raise UserError(
            f"references: expected a list of strings or a list of reference streams (lists of strings), "
            f"got {_kind(value)}"
        )
    items = list(value)
    if items and is_sequence(items[0]):
        return [lines_of(stream, f"references[{k}]") for k, stream in enumerate(items)]
    return [lines_of(items, "references")]


def metrics_of(value: Any) -> list:
    """The list of metrics (names, dicts, configs); a bare string is refused (it would be read letter by letter)."""
    if not is_sequence(value):
        raise UserError(f"metrics: expected a list of metric names or dicts, e.g. ['bleu', 'chrf'], got {_kind(value)}")
    return list(value)


def text_of(value: Any, name: str, example: str) -> str:
    if not isinstance(value, str):
        raise UserError(f"{name}: expected a string such as {example!r}, got {_kind(value)}")
    return value


def workers_of(value: Any) -> int | None:
    if value is not None and (not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1):
        raise UserError(f"workers: expected a whole number of at least 1 or None, got {value!r}")
    return None if value is None else int(value)


def path_of(value: Any, name: str, what: str) -> Path:
    if not isinstance(value, (str, os.PathLike)):
        raise UserError(f"{name}: expected {what}, got {_kind(value)}")
    return Path(value)


def config_of(value: Any) -> Path | dict:
    """A config: a YAML file's path, or a dict of the same structure."""
    if isinstance(value, dict):
        return value
    return path_of(value, "config", "a YAML file's path or a dict of the same structure")


def override_items(value: Any) -> list[str]:
    """`--set` items from a dict (values written as JSON, which the override parser reads as YAML) or a list."""
    import json

    if value is None:
        return []
    if isinstance(value, Mapping):
        items = []
        for key, setting in value.items():
            try:
                items.append(f"{key}={json.dumps(setting)}")
            except (TypeError, ValueError, RecursionError) as err:
                raise UserError(f"overrides[{key!r}]: not a value a config can hold ({err})") from err
        return items
    if isinstance(value, str) or not is_sequence(value):
        raise UserError(
            f"overrides: expected a dict of key -> value or a list of 'KEY=VALUE' strings, got {_kind(value)} "
            f"(e.g. {{'workers': 1}} or ['workers=1'])"
        )
    for number, item in enumerate(value, start=1):
        if not isinstance(item, str):
            raise UserError(f"overrides: item {number} is {_kind(item)}, expected a 'KEY=VALUE' string")
    return list(value)
