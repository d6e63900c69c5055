"""evalharness: config-driven machine-translation evaluation on top of sacrebleu.

The Python API (evalharness.api): `run` a config, `score` lists of strings, `load` a results folder; each
returns a `Results` of pandas DataFrames.
"""

from evalharness.api import Results, load, run, score
from evalharness.version import __version__

__all__ = ["Results", "__version__", "load", "run", "score"]
