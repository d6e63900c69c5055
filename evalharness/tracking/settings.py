"""The `tracking:` section of a config: where a finished run is logged (MLflow or W&B). Nothing here changes a
result: no field is in the translation or score cache's key, and the section is left out of a results folder's
config.yaml unless it is set."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from evalharness.configtypes import Name, Strict

CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")

# Where the runs go when the config names no experiment (MLflow) or project (W&B).
DEFAULT_PLACE = "evalharness"
# MLflow's local store when neither `uri` nor MLFLOW_TRACKING_URI names one (MLflow 3's file store: the skinny
# client has no SQLAlchemy for its sqlite default).
DEFAULT_MLFLOW_URI = "./mlruns"


class TrackingConfig(Strict):
    """An experiment tracker that receives each finished run: a parent run (MLflow) or group (W&B) per config run
    and a run per cell, read from the results folder (`evalharness track RESULTS_DIR` logs one afterwards)."""

    backend: Literal["mlflow", "wandb"]
    uri: str | None = Field(
        default=None,
        description="mlflow: the tracking URI (http://host:5000, file:/path, a folder); default: "
        "MLFLOW_TRACKING_URI, else ./mlruns (relative to the current folder, as MLflow takes it)",
        json_schema_extra={"affects_output": False},
    )
    experiment: str | None = Field(
        default=None,
        min_length=1,
        description=f"mlflow: the experiment (created if missing); default: {DEFAULT_PLACE}",
        json_schema_extra={"affects_output": False},
    )
    project: Name | None = Field(
        default=None,
        description=f"wandb: the project; default: {DEFAULT_PLACE}",
        json_schema_extra={"affects_output": False},
    )
    entity: Name | None = Field(
        default=None,
        description="wandb: the team or user (default: yours)",
        json_schema_extra={"affects_output": False},
    )
    mode: Literal["offline", "online"] = Field(
        default="offline",
        description="wandb: offline writes the runs to `dir` only (send them with `wandb sync`); online sends them",
        json_schema_extra={"affects_output": False},
    )
    dir: str | None = Field(
        default=None,
        min_length=1,
        description="wandb: the folder that receives ./wandb/ (default: WANDB_DIR, else the current folder)",
        json_schema_extra={"affects_output": False},
    )

    @field_validator("uri", "experiment", "dir")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        if value is not None and CONTROL.search(value):
            raise ValueError(f"{value!r} holds a control character; give one line of printable text")
        return value
