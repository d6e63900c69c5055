"""The run: plan -> hypotheses -> scores -> results folder. Nothing is written until everything has worked."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import sacrebleu
import yaml

import evalharness
from evalharness.cache import Store, default_cache_dir
from evalharness.config import LoadedConfig
from evalharness.errors import UserError
from evalharness.langid import detect_all, off_target_rate
from evalharness.metrics.scoring import default_workers, score_systems
from evalharness.plan import Plan, build_plan
from evalharness.systems.context import CellStats, RunContext
from evalharness.results import Row, scores_frame, summary_frame, to_csv, write_results
from evalharness.tables import render, signature_notes


@dataclass
class RunOutput:
    out_dir: Path
    scores: pd.DataFrame
    summary: pd.DataFrame
    score_cache_hits: int
    score_cache_misses: int
    model_calls: int = 0


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _git_commit() -> str | None:
    """The commit of the evalharness source tree, with '+dirty' when it has uncommitted changes."""
    root = Path(evalharness.__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return (commit + ("+dirty" if dirty else "")) or None


def output_dir(loaded: LoadedConfig, override: Path | None) -> Path:
    base = override or loaded.config.output_dir or Path("results")
    return Path(base) / loaded.config.run_name


def check_output_dir(out_dir: Path) -> None:
    """Fail before any work when a file stands where the results folder (or a folder above it) must go."""
    for path in (out_dir, *out_dir.parents):
        if path.exists():
            if not path.is_dir():
                raise UserError(f"{out_dir}: cannot create the results folder: {path} is a file, not a folder")
            return


def execute(loaded: LoadedConfig, plan: Plan, out_dir: Path, use_cache: bool = True,
            workers: int | None = None, argv: list[str] | None = None) -> RunOutput:
    started = _now()
    check_output_dir(out_dir)
    cfg = loaded.config
    workers = workers or cfg.workers or default_workers()
    # Every hypothesis first: a bad file fails the run before any scoring or writing.
    ctx = RunContext.create(use_cache=use_cache)
    cell_stats = [CellStats() for _ in plan.cells]
    try:
        hypotheses = [cell.system.hypotheses(plan.datasets[cell.dataset], ctx, stats)
                      for cell, stats in zip(plan.cells, cell_stats)]
    finally:
        ctx.close()
    languages = [detect_all(hyps) for hyps in hypotheses]
    store = Store(default_cache_dir() / "scores.sqlite", "scores") if use_cache else None
    rows: list[Row] = []
    segment_lines: list[str] = []
    hits = misses = 0
    try:
        for name, dataset in plan.datasets.items():
            indices = [i for i, cell in enumerate(plan.cells) if cell.dataset == name]
            if not indices:
                continue
            results = score_systems(plan.metrics, dataset.target_lang, dataset.references,
                                    {str(i): hypotheses[i] for i in indices}, workers=workers,
                                    sentence=True, cache=store)
            for i in indices:
                cell = plan.cells[i]
                off_target = off_target_rate(languages[i], dataset.target_lang)
                empty = sum(1 for hyp in hypotheses[i] if not hyp.strip())
                cell_stats[i].empty = empty
                for metric in plan.metrics:
                    result = results[(str(i), metric.label)]
                    hits += result.cached
                    misses += not result.cached
                    rows.append(Row(name, cell.system.name, cell.settings, metric.label, result.score,
                                    result.direction, result.signature, len(dataset),
                                    "+".join(dataset.reference_names), dataset.langpair, off_target, empty))
                for j, (source, hyp) in enumerate(zip(dataset.sources, hypotheses[i])):
                    record = {
                        "dataset": name, "system": cell.system.name, "settings": cell.settings, "segment": j + 1,
                        "doc_id": dataset.doc_ids[j] if dataset.doc_ids else None, "source": source,
                        "references": [stream[j] for stream in dataset.references], "hypothesis": hyp,
                        "hypothesis_lang": languages[i][j],
                        "scores": {m.label: results[(str(i), m.label)].sentence_scores[j] for m in plan.metrics},
                    }
                    segment_lines.append(json.dumps(record, ensure_ascii=False))
    finally:
        if store is not None:
            store.close()
    scores = scores_frame(rows, plan.sweep_keys)
    summary = summary_frame(scores)
    notes = signature_notes(scores)
    manifest = {
        "evalharness": evalharness.__version__, "sacrebleu": sacrebleu.__version__,
        "python": platform.python_version(), "platform": platform.platform(), "git_commit": _git_commit(),
        "config": str(loaded.path.resolve()), "argv": argv if argv is not None else sys.argv,
        "started": started, "finished": _now(), "workers": workers,
        "cells": len(plan.cells), "score_cache": {"enabled": use_cache, "hits": hits, "misses": misses},
        "translation": {"model_calls": ctx.model_calls, "model_loads": ctx.models.loads, "cells": [
            {"dataset": c.dataset, "system": c.system.name, "settings": c.settings, "translated": st.translated,
             "cached": st.cached, "empty": st.empty, "seconds": round(st.seconds, 3)}
            for c, st in zip(plan.cells, cell_stats) if st.translated or st.cached]},
        "datasets": {name: {"langpair": d.langpair, "segments": len(d), "references": d.reference_names}
                     for name, d in plan.datasets.items()},
    }
    files = {
        "scores.csv": to_csv(scores),
        "summary.csv": to_csv(summary),
        "summary.md": render(summary, "md", notes),
        "summary.tex": render(summary, "latex", notes),
        "segments.jsonl": "\n".join(segment_lines) + "\n",
        "config.yaml": yaml.safe_dump(loaded.config.model_dump(mode="json"), sort_keys=False, allow_unicode=True),
        "manifest.json": json.dumps(manifest, indent=2, ensure_ascii=False) + "\n",
    }
    write_results(out_dir, files)
    return RunOutput(out_dir, scores, summary, hits, misses, ctx.model_calls)


def run(loaded: LoadedConfig, out_override: Path | None = None, use_cache: bool = True,
        workers: int | None = None, argv: list[str] | None = None) -> RunOutput:
    plan = build_plan(loaded.config, loaded.base_dir)
    return execute(loaded, plan, output_dir(loaded, out_override), use_cache, workers, argv)
