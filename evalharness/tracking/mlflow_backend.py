"""MLflow: a parent run per config run (the results folder as its artifacts), a nested run per cell with its
params, metrics and tags. Through `MlflowClient` (no fluent API: no active run, no global state left behind)."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from evalharness.tracking.record import RunRecord
from evalharness.tracking.settings import DEFAULT_MLFLOW_URI, DEFAULT_PLACE, TrackingConfig

# A tracking server that does not answer costs seconds, not MLflow's default minutes of retries (7 retries with
# backoff 2, 120 s each): one line after a finished run, and `evalharness track` logs the folder later. Each
# applies only where the environment does not set it already.
HTTP_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "20",
}
# MLflow 3 keeps its file store (./mlruns) in maintenance mode and refuses it unless asked; the skinny client
# cannot write its sqlite default (no SQLAlchemy), so a local store is the file store, opted into here.
ALLOW_FILE_STORE = "MLFLOW_ALLOW_FILE_STORE"
DATABASE_SCHEMES = ("sqlite", "postgresql", "mysql", "mssql")
SCHEMES = ("file", "http", "https", "databricks", "databricks-uc", "uc", *DATABASE_SCHEMES)
# What urllib3 says, deep in MLflow's message, when no server answers: "[Errno 111] Connection refused", a timeout.
UNREACHABLE = re.compile(r"Max retries exceeded.*?(\[Errno -?\d+\][^'\")]*|timed out|Read timed out)", re.DOTALL)
BATCH = 100  # params or tags per log_batch call (MLflow's limit)
METRIC_BATCH = 1000


def tracking_uri(settings: TrackingConfig) -> str:
    """The store: `uri`, else MLFLOW_TRACKING_URI, else ./mlruns; a folder path as an absolute file: URI."""
    uri = settings.uri or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_MLFLOW_URI
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", uri) and not re.match(r"^[A-Za-z]:[\\/]", uri):
        return uri
    return Path(uri).expanduser().resolve().as_uri()


def key(name: str) -> str:
    """A name as MLflow accepts it for a param, metric or tag (alphanumerics, `_ - . / space`): `chrF2++` is
    `chrF2pp`; any other character becomes `_`."""
    return re.sub(r"[^\w./ -]", "_", name.replace("+", "p"))


def log_run(run: RunRecord, settings: TrackingConfig) -> str:
    """The run logged; returns where (`<uri> experiment X, run ID`). Raises whatever MLflow raises, a server
    that does not answer as a short ConnectionError."""
    uri = tracking_uri(settings)
    try:
        return _log(run, settings, uri)
    except Exception as err:
        refused = UNREACHABLE.search(str(err))
        if refused is None:
            raise
        raise ConnectionError(f"cannot reach the tracking server {uri} ({refused.group(1).strip()})") from err


def _log(run: RunRecord, settings: TrackingConfig, uri: str) -> str:
    from mlflow.entities import Metric, Param, RunStatus
    from mlflow.tracking import MlflowClient

    with _environment(uri):
        client = MlflowClient(tracking_uri=uri, registry_uri=uri if uri.startswith("http") else None)
        name = settings.experiment or DEFAULT_PLACE
        experiment = client.get_experiment_by_name(name)
        experiment_id = experiment.experiment_id if experiment else client.create_experiment(name)
        start = _millis(run.started)
        parent = client.create_run(experiment_id, start_time=start, tags=_tags(run.tags), run_name=run.name)
        parent_id = parent.info.run_id
        try:
            _batch(client, parent_id, [], [Param(key(k), v) for k, v in run.params.items()])
            stamp = start or int(time.time() * 1000)
            for cell in run.cells:
                tags = {**_tags(cell.tags), "mlflow.parentRunId": parent_id}
                child = client.create_run(experiment_id, start_time=start, tags=tags, run_name=cell.name)
                metrics = [Metric(key(k), v, stamp, 0) for k, v in cell.metrics.items()]
                params = [Param(key(k), v) for k, v in cell.params.items()]
                _batch(client, child.info.run_id, metrics, params)
                client.set_terminated(child.info.run_id, end_time=_millis(run.finished))
            client.log_artifacts(parent_id, str(run.folder))
        except BaseException:
            with contextlib.suppress(Exception):  # a half-logged parent says so; the error is what is reported
                client.set_terminated(parent_id, status=RunStatus.to_string(RunStatus.FAILED))
            raise
        client.set_terminated(parent_id, end_time=_millis(run.finished))
    return f"MLflow {_shown(uri)}, experiment {name!r}, run {parent_id}"


def _batch(client: Any, run_id: str, metrics: list, params: list) -> None:
    """log_batch within MLflow's limits per call."""
    for i in range(0, len(params), BATCH):
        client.log_batch(run_id, params=params[i : i + BATCH])
    for i in range(0, len(metrics), METRIC_BATCH):
        client.log_batch(run_id, metrics=metrics[i : i + METRIC_BATCH])


def _tags(tags: dict[str, str]) -> dict[str, str]:
    return {key(k): v for k, v in tags.items()}


def _millis(moment) -> int | None:
    return int(moment.timestamp() * 1000) if moment is not None else None


def _shown(uri: str) -> str:
    """The store as the user would type it: a file: URI under the current folder as its relative path."""
    if uri.startswith("file:"):
        with contextlib.suppress(ValueError):
            return os.path.relpath(Path(unquote(urlparse(uri).path)), Path.cwd())
    return uri


@contextlib.contextmanager
def _environment(uri: str) -> Iterator[None]:
    """MLflow's settings for this call only (`HTTP_DEFAULTS`, the file store's opt-in), where the environment
    does not set them; a database URI without SQLAlchemy is said as such, not as MLflow's registry error."""
    scheme = uri.split(":", 1)[0].split("+", 1)[0].lower()
    if scheme not in SCHEMES:
        raise ValueError(
            f"{uri!r} is no tracking URI MLflow knows (a folder, file:/path, http(s)://host:port, databricks, "
            f"or a database)"
        )
    if scheme in DATABASE_SCHEMES:
        if importlib.util.find_spec("sqlalchemy") is None:
            raise RuntimeError(
                f"a {scheme} store needs MLflow's database support (pip install mlflow); the mlflow extra "
                f"installs the client only: use a folder (./mlruns) or a tracking server (http://...)"
            )
    wanted = dict(HTTP_DEFAULTS)
    if scheme == "file":
        wanted[ALLOW_FILE_STORE] = "true"
    added = [name for name in wanted if name not in os.environ]
    for name in added:
        os.environ[name] = wanted[name]
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)
