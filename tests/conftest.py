"""Shared fixtures: the team's WMT22 copy, a private cache folder, and a way to run the real CLI."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from evalharness.cache import model_dir

ROOT = Path(__file__).resolve().parents[1]
# Converted model weights are shared by all tests (converting the Gemma GGUF takes most of a minute).
MODEL_DIR = model_dir()
# Nothing a test runs reads or writes the user's caches, module-scoped fixtures included (they are set up before
# the per-test `private_cache` below): a translation cached by another version of the code would hide a change.
os.environ["EVALHARNESS_MODEL_DIR"] = str(MODEL_DIR)
os.environ["EVALHARNESS_CACHE_DIR"] = tempfile.mkdtemp(prefix="evalharness-tests-")
atexit.register(shutil.rmtree, os.environ["EVALHARNESS_CACHE_DIR"], True)
SHARED = ROOT.parent / "shared"
WMT22 = Path(os.environ.get("WMT22_DIR", SHARED / "wmt22"))

# Three German sentences and their English translations, written for the model tests (not from a test set).
GERMAN = [
    "Der Zug nach Berlin hat heute zwanzig Minuten Verspätung.",
    "Die Stadt will im nächsten Jahr mehr Geld für Schulen ausgeben.",
    "Am Wochenende soll es sonnig und warm werden.",
]
ENGLISH = [
    "The train to Berlin is twenty minutes late today.",
    "The city wants to spend more money on schools next year.",
    "The weekend is expected to be sunny and warm.",
]


def wmt22_path(*parts: str) -> Path:
    path = WMT22.joinpath(*parts)
    if not path.exists():
        pytest.fail(f"test data missing: {path} (set WMT22_DIR to the WMT22 folder)")
    return path


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    """Every test gets its own score cache, so no test sees another's cached statistics."""
    cache = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("EVALHARNESS_CACHE_DIR", str(cache))
    monkeypatch.setenv("EVALHARNESS_MODEL_DIR", str(MODEL_DIR))
    return cache


def write_three_sentence_run(folder: Path, systems: str, metrics: str = "[bleu, chrf]") -> Path:
    """folder/run.yaml: GERMAN -> ENGLISH as a `parallel` dataset `three`, with the given `systems:` lines."""
    (folder / "src.de").write_text("\n".join(GERMAN) + "\n", encoding="utf-8")
    (folder / "ref.en").write_text("\n".join(ENGLISH) + "\n", encoding="utf-8")
    config = folder / "run.yaml"
    config.write_text(f"""
datasets:
  - {{name: three, kind: parallel, langpair: de-en, source: src.de, references: [ref.en]}}
systems:
{systems}
metrics: {metrics}
""", encoding="utf-8")
    return config


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None, check: bool = False):
    """The real command line, in a subprocess."""
    proc = subprocess.run([sys.executable, "-m", "evalharness", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env={**os.environ, **(env or {})})
    if check and proc.returncode != 0:
        raise AssertionError(f"evalharness {' '.join(map(str, args))} failed:\n{proc.stderr}")
    return proc
