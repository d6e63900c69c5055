"""evalharness: config-driven machine-translation evaluation on top of sacrebleu.

The Python API (evalharness.api): `run` a config, `score` lists of strings, `load` a results folder; each
returns a `Results` of pandas DataFrames. They are imported on first use, so that a process that needs one
module (a Ray worker running an engine) does not load pandas and the whole runner with it. `evalharness.ui.serve`
starts the browser app over results folders (`evalharness ui`; the extra `evalharness[ui]`).
"""

from typing import TYPE_CHECKING

from evalharness.version import __version__

if TYPE_CHECKING:
    from evalharness import ui
    from evalharness.api import Results, load, run, score

__all__ = ["Results", "__version__", "load", "run", "score", "ui"]
_API = {"Results", "load", "run", "score"}


def __getattr__(name: str):
    if name in _API:
        from evalharness import api

        return getattr(api, name)
    if name == "ui":  # the subpackage (evalharness.ui.serve), loaded on first use like the API
        import importlib

        return importlib.import_module("evalharness.ui")
    raise AttributeError(f"module 'evalharness' has no attribute {name!r}")
