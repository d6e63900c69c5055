"""Weights & Biases: a group per config run, a run per cell (job type `cell`: its params as the run's config, its
metrics as its summary), and one run of job type `results` in the same group holding the results folder as an
artifact and scores.csv as a table.

A run per cell, not one run with tables: W&B's runs table, its parallel-coordinates and scatter panels and its
grouping all compare runs by config and summary, the way a W&B sweep logs one run per point; a cell of a sweep is
such a point. The results run keeps the whole folder beside them, as MLflow's parent run does.

Offline (the default) writes the runs under `dir`/wandb/ and sends nothing until `wandb sync`. W&B's own
collection of the machine, the command line, git state, the console and installed packages is off: what a run
holds is what the results folder holds, already redacted.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from evalharness.tracking.record import RunRecord
from evalharness.tracking.settings import DEFAULT_PLACE, TrackingConfig

# Seconds to wait for W&B's service and, online, for its server to accept a run (its default: 90).
INIT_TIMEOUT = 30


def log_run(run: RunRecord, settings: TrackingConfig) -> str:
    """The run logged; returns where. Raises whatever W&B raises."""
    quiet = "WANDB_SILENT" not in os.environ  # W&B's own lines ("Adding directory to artifact") would join ours
    if quiet:
        os.environ["WANDB_SILENT"] = "true"
    try:
        return _log(run, settings)
    finally:
        if quiet:
            os.environ.pop("WANDB_SILENT", None)


def _log(run: RunRecord, settings: TrackingConfig) -> str:
    import wandb

    folder = Path(settings.dir).expanduser() if settings.dir else None
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    project = settings.project or DEFAULT_PLACE
    group = f"{run.name}-{run.results_id}"
    options = wandb.Settings(
        silent=True,
        console="off",
        save_code=False,
        disable_code=True,
        disable_git=True,
        x_disable_meta=True,
        x_disable_stats=True,
        x_disable_machine_info=True,
        x_save_requirements=False,
        init_timeout=INIT_TIMEOUT,
    )

    def start(name: str, job_type: str, config: dict[str, str]) -> Any:
        return wandb.init(
            project=project,
            entity=settings.entity,
            group=group,
            name=name,
            job_type=job_type,
            config=config,
            dir=str(folder) if folder is not None else None,
            mode=settings.mode,
            settings=options,
            reinit="create_new",
        )

    for cell in run.cells:
        wb = start(cell.name, "cell", {**cell.params, **cell.tags})
        try:
            wb.summary.update(cell.metrics)
        finally:
            wb.finish()
    wb = start(run.name, "results", {**run.params, **run.tags})
    try:
        artifact = wandb.Artifact(f"results-{run.name}", type="results", metadata=run.tags)
        artifact.add_dir(str(run.folder))
        wb.log_artifact(artifact)
        scores = run.scores
        wb.log({"scores": wandb.Table(dataframe=scores.astype(object).where(scores.notna(), None))})
    finally:
        wb.finish()
    runs_dir = Path(wb.dir).parent.parent  # the folder of every run's offline-run-* folder
    if wandb.run is None:  # no run of the caller's own is active: wait until W&B's service has written every file
        wandb.teardown()
    where = f"W&B project {project!r}, group {group!r}, {len(run.cells) + 1} runs"
    if settings.mode == "offline":
        return f"{where} offline in {runs_dir} (send them: wandb sync {runs_dir}/offline-run-*)"
    return where
