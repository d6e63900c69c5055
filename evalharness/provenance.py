"""What a results folder records of how it was made: the manifest's entries (versions, command, times, cache use,
each cell's translation and each dataset's hashes), config.yaml as resolved, and paths as the user would type
them (never a machine's absolute path in results that get committed and shared)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import sacrebleu
import yaml

from evalharness.cache import digest
from evalharness.config import LoadedConfig
from evalharness.evaluation.levels import Scorer
from evalharness.executors.base import CellOutput
from evalharness.metrics import sacrebleu_adapter as sb
from evalharness.plan import Plan
from evalharness.secrets import redact
from evalharness.systems.context import RunContext
from evalharness.version import __version__


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _git_commit() -> str | None:
    """The commit of the evalharness source tree, with '+dirty' when it has uncommitted changes."""
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return (commit + ("+dirty" if dirty else "")) or None


def display_path(path: Path) -> str:
    """A path as the user would type it from the folder the run was started in: never a machine's absolute path
    in a results folder (results get committed and shared)."""
    return Path(os.path.relpath(path.resolve(), Path.cwd())).as_posix()


def portable_argv(argv: list[str]) -> list[str]:
    """The command line with the program as its name, not where it is installed on this machine."""
    return [Path(argv[0]).name, *argv[1:]] if argv else []


def resolved_config(loaded: LoadedConfig, out_dir: Path) -> str:
    """config.yaml of a results folder: the validated config with every default filled in and every path
    relative to the folder itself; `tracking` only when the config sets it (where results go, not what they are)."""
    unset = {"tracking"} if loaded.config.tracking is None else None
    body = yaml.safe_dump(
        loaded.config.model_dump(mode="json", context={"relative_to": out_dir.resolve()}, exclude=unset),
        sort_keys=False,
        allow_unicode=True,
    )
    return (
        "# The resolved config of this run: every default filled in, every path relative to this folder\n"
        "# (no machine's absolute paths in results that get committed and shared), and ${NAME} / <env NAME>\n"
        "# where a value came from the environment or a command's env (never a secret in plain text).\n" + redact(body)
    )


def build_manifest(
    loaded: LoadedConfig,
    plan: Plan,
    outputs: list[CellOutput],
    ctx: RunContext,
    scorer: Scorer,
    started: str,
    use_cache: bool,
    argv: list[str] | None,
) -> dict:
    """Versions, command, times, cache use and how each cell got its translations (and on what backend)."""
    return {
        "evalharness": __version__,
        "sacrebleu": sacrebleu.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "git_commit": _git_commit(),
        "config": display_path(loaded.path),
        "argv": portable_argv(argv if argv is not None else sys.argv),
        "started": started,
        "finished": now(),
        "workers": scorer.workers,
        "cells": len(plan.cells),
        # floors (identity, `floor: true`): the report marks them and leaves them out of the differing segments
        "floors": sorted({c.system.name for c in plan.cells if c.system.is_floor}),
        "ter_statistics": sb.ter_backend(),
        "ngram_statistics": sb.ngram_backend(),
        "score_cache": {"enabled": use_cache, "hits": scorer.hits, "misses": scorer.misses},
        "translation": {
            "model_calls": ctx.model_calls,
            "model_loads": ctx.models.loads,
            "cells": cell_entries(plan, outputs),
        },
        "datasets": dataset_entries(plan),
    }


def cell_entries(plan: Plan, outputs: list[CellOutput]) -> list[dict]:
    """The manifest's `translation.cells`: how each cell that translated got its translations, on what backend."""
    return [
        {
            "dataset": c.dataset,
            "system": c.system.name,
            "settings": c.settings,
            "translated": o.stats.translated,
            "cached": o.stats.cached,
            "empty": o.stats.empty,
            "seconds": round(o.stats.seconds, 3),
            "runtime": o.stats.runtime if o.stats.runtime is not None else c.system.runtime(),
            # what the config alone does not pin down (a model file's sha256, a hub commit): trackers log it
            "identity": c.system.identity() if hasattr(c.system, "identity") else None,
        }
        for c, o in zip(plan.cells, outputs, strict=True)
        if o.stats.translated or o.stats.cached
    ]


def dataset_entries(plan: Plan) -> dict[str, dict]:
    """The manifest's `datasets`: what each test set was, with hashes (what `table A B` compares: same names are
    not enough to be the same test set)."""
    return {
        name: {
            "langpair": d.langpair,
            "sentences": len(d),
            "segments": d.n_segments,
            "references": d.reference_names,
            "unaligned_sources": d.unaligned_sources,
            "unaligned_references": d.unaligned_references,
            "pivot": d.pivot_lang,
            "sources_sha256": digest(d.sources),
            "references_sha256": digest(d.references),
        }
        for name, d in plan.datasets.items()
    }
