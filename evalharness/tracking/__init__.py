"""Experiment tracking: a finished results folder logged to MLflow or W&B (`tracking:` in a config,
`evalharness run --track`, `evalharness track RESULTS_DIR`).

Tracking sits on top of the results: it reads a finished folder (`record.read_run`), so a run logs exactly what
`track` would log later, and a tracker that fails (a server that does not answer, a bad URI, a missing extra) has
nothing left to lose: the folder is already written. Its failure is one `TrackingError` line.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from evalharness.errors import UserError
from evalharness.tracking.settings import TrackingConfig

if TYPE_CHECKING:  # record imports pandas: read when a folder is tracked, not when a config is loaded
    from evalharness.tracking.record import RunRecord

__all__ = ["EXTRAS", "TrackingConfig", "TrackingError", "missing_extra", "settings_of", "track_folder", "track_run"]

EXTRAS = {"mlflow": ("mlflow", "mlflow"), "wandb": ("wandb", "wandb")}  # backend -> (module, extra)
REASON_LENGTH = 300


class TrackingError(UserError):
    """The tracker did not take the run (the results folder is not at fault): one line, redacted."""

    exit_status = 3  # the CLI's TRACKING_FAILED: the folder is whole, `evalharness track` logs it later


def missing_extra(settings: TrackingConfig) -> str | None:
    """Before a run: the line that says its tracker's package is not installed (the run goes on, and its folder
    can be logged once it is), else None."""
    import importlib.util

    module, extra = EXTRAS[settings.backend]
    if importlib.util.find_spec(module) is None:
        return f"tracking: {settings.backend} is not installed: pip install 'evalharness[{extra}]'"
    return None


def track_folder(folder: Path, settings: TrackingConfig) -> str:
    """Log a whole results folder to the configured tracker; returns where it went (one line). A folder that is
    not whole is a UserError; anything the tracker raises is a TrackingError."""
    from evalharness.tracking.record import read_run

    return track_run(read_run(Path(folder)), settings)


def track_run(run: RunRecord, settings: TrackingConfig) -> str:
    """`track_folder` of a folder read already (`record.read_run`: `evalharness track` reads it once for its
    settings and its cells)."""
    line = missing_extra(settings)
    if line:
        raise TrackingError(line)
    try:
        if settings.backend == "mlflow":
            from evalharness.tracking import mlflow_backend

            return mlflow_backend.log_run(run, settings)
        from evalharness.tracking import wandb_backend

        return wandb_backend.log_run(run, settings)
    except Exception as err:  # any failure of the tracker's library is the tracker's, not the folder's
        raise TrackingError(f"tracking: {settings.backend} failed: {reason(err)}") from err


def settings_of(run: RunRecord, given: dict) -> TrackingConfig:
    """The tracking settings for a finished folder (`record.read_run`): its config.yaml's `tracking:` section (a
    run that had one wrote it there), `given` (the command line's options) on top; a one-line UserError when no
    backend is named or a value is wrong."""
    from pydantic import ValidationError

    from evalharness.tracking.record import written_tracking

    settings = {**written_tracking(run), **given}
    if "backend" not in settings:
        raise UserError("track: no tracker: give --backend mlflow or wandb (config.yaml has no tracking section)")
    try:
        return TrackingConfig.model_validate(settings)
    except ValidationError as err:
        first = err.errors()[0]
        raise UserError(f"track: tracking.{'.'.join(map(str, first['loc']))}: {first['msg']}") from err


def reason(err: BaseException) -> str:
    """An exception of a tracker's library in a few words: its type and message on one line, cut short."""
    text = re.sub(r"\s+", " ", str(err)).strip()
    if len(text) > REASON_LENGTH:
        text = text[: REASON_LENGTH - 3] + "..."
    return f"{type(err).__name__}: {text}" if text else type(err).__name__
