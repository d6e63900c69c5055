"""A small finished run for the tracking tests: three German sentences, a `command` system (cat) swept over its
`timeout` (two cells with the same outputs) whose env holds a secret from the environment, and the identity
engine as the baseline."""

from __future__ import annotations

import os
from pathlib import Path

import evalharness
from evalharness import secrets

from conftest import write_three_sentence_run

SECRET = "s3cr3t-tracking-token-81d2"
SYSTEMS = (
    '  - {name: cat, engine: command, command: cat, env: {TOKEN: "${MY_TOKEN}"}}\n  - {name: copy, engine: identity}'
)
EXTRA = "sweep:\n  timeout: [1.0, 2.5]\nstatistics: {bootstrap: 100, baseline: copy}\n"


def write_config(folder: Path, extra: str = "") -> Path:
    config = write_three_sentence_run(folder, SYSTEMS, metrics="[bleu, chrf, chrf++]")
    config.write_text(config.read_text(encoding="utf-8") + EXTRA + extra, encoding="utf-8")
    return config


def finished_run(folder: Path) -> Path:
    """The run written to folder/results/run through the API, MY_TOKEN set to SECRET while it runs."""
    config = write_config(folder)
    os.environ["MY_TOKEN"] = SECRET
    try:
        return evalharness.run(config, output_dir=folder / "results").out_dir
    finally:
        del os.environ["MY_TOKEN"]
        secrets.forget()


def every_file(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


# What every tracker logs for the cell `three/cat timeout=2.5` of the run above (MLflow params, W&B config).
CELL_PARAMS = {
    "dataset": "three",
    "system": "cat",
    "engine": "command",
    "langpair": "de-en",
    "n_segments": "3",
    "timeout": "2.5",
}
