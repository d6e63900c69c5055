"""MLflow tracking, read back with MLflow's own client: a parent run per config run holding the results folder, a
child run per cell with its params, metrics and tags; no secret in the store; a tracker that fails loses nothing
and `evalharness track` logs the folder later. Everything in a local store under tmp: no server, no network."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import evalharness
import pandas as pd
import pytest
from evalharness.config import load_config
from evalharness.errors import ResultsWarning, UserError
from evalharness.results import check_whole, read_csv
from evalharness.tracking import TrackingConfig, TrackingError, track_folder
from evalharness.tracking.mlflow_backend import key

from conftest import error_lines, run_cli, write_three_sentence_run
from tracking_run import CELL_PARAMS, SECRET, every_file, finished_run, write_config

mlflow = pytest.importorskip("mlflow")
from mlflow.tracking import MlflowClient  # noqa: E402

FAST_FAILURE = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "5"}


@pytest.fixture(autouse=True)
def hermetic_mlflow(monkeypatch, tmp_path):
    """No test reads the user's MLflow settings or reaches a server; each store is a folder under tmp."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", (tmp_path / "default-store").as_uri())
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    for name, value in FAST_FAILURE.items():
        monkeypatch.setenv(name, value)


@pytest.fixture(scope="module")
def logged(tmp_path_factory):
    """The small run, finished, then logged to a file store of its own: (folder, client, parent, children)."""
    folder = finished_run(tmp_path_factory.mktemp("tracked"))
    store = tmp_path_factory.mktemp("mlruns")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
        where = track_folder(folder, TrackingConfig(backend="mlflow", uri=str(store)))
        client = MlflowClient(tracking_uri=store.as_uri())
        experiment = client.get_experiment_by_name("evalharness")
        runs = client.search_runs([experiment.experiment_id])
        [parent] = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
        children = {r.info.run_name: r for r in runs if "mlflow.parentRunId" in r.data.tags}
        yield folder, client, parent, children, store, where


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ------------------------------------------------------------------------------------------ what is logged


def test_a_config_run_is_a_parent_run_with_a_nested_run_per_cell(logged):
    _, _, parent, children, _, where = logged
    assert parent.info.run_name == "run" and parent.info.status == "FINISHED"
    assert sorted(children) == ["three/cat timeout=1.0", "three/cat timeout=2.5", "three/copy"]
    assert {c.data.tags["mlflow.parentRunId"] for c in children.values()} == {parent.info.run_id}
    assert parent.info.run_id in where


def test_a_cell_run_has_its_system_engine_dataset_settings_and_model_identity_as_params(logged):
    _, _, _, children, _, _ = logged
    params = children["three/cat timeout=2.5"].data.params
    assert {k: params[k] for k in CELL_PARAMS} == CELL_PARAMS
    assert params["command"] == '["cat"]'  # every setting of the system, not only the swept one
    assert len(params["model.program_sha256"]) == 64  # run.json's identity of the program that translated
    assert children["three/copy"].data.params["engine"] == "identity"


def test_each_score_and_its_confidence_interval_are_metrics_equal_to_scores_csv(logged):
    folder, _, _, children, _, _ = logged
    scores = read_csv(folder / "scores.csv")
    rows = scores[(scores.system == "cat") & (scores.timeout == 1.0)]
    metrics = children["three/cat timeout=1.0"].data.metrics
    assert len(rows) == 3
    for row in rows.itertuples():
        name = key(f"{row.level}/{row.metric}")
        assert metrics[name] == row.score
        assert metrics[f"{name}_ci_low"] == row.ci_low and metrics[f"{name}_ci_high"] == row.ci_high
        assert metrics[f"{name}_p_value"] == row.p_value  # against the baseline
    assert "segment/chrF2pp" in metrics  # chrF2++: MLflow takes no '+' in a name


def test_the_baseline_has_no_comparison_with_itself(logged):
    _, _, _, children, _, _ = logged
    metrics = children["three/copy"].data.metrics
    assert "segment/BLEU" in metrics and "segment/BLEU_p_value" not in metrics


def test_runs_are_tagged_with_signatures_commit_config_hash_and_version(logged):
    folder, _, parent, children, _, _ = logged
    manifest = check_whole(folder)
    tags = children["three/copy"].data.tags
    scores = read_csv(folder / "scores.csv")
    assert tags["signature.BLEU"] == scores[scores.metric == "BLEU"].signature.iloc[0]
    assert tags["evalharness.config_sha256"] == manifest["files"]["config.yaml"]
    assert tags["evalharness.version"] == manifest["evalharness"]
    for run in (parent, children["three/copy"]):
        assert run.data.tags["evalharness.git_commit"]  # run.json's commit of the evalharness source
        assert run.data.tags["evalharness.version"] == manifest["evalharness"]


def test_the_parent_run_holds_the_results_folder_as_artifacts(logged):
    folder, client, parent, _, _, _ = logged
    local = Path(client.download_artifacts(parent.info.run_id, "", str(folder.parent / "downloaded")))
    written = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert sorted(str(p.relative_to(local)) for p in local.rglob("*") if p.is_file()) == written
    assert (local / "scores.csv").read_bytes() == (folder / "scores.csv").read_bytes()


def test_no_secret_reaches_the_store(logged):
    folder, _, _, children, store, _ = logged
    assert children["three/cat timeout=1.0"].data.params["env.TOKEN"] == "${MY_TOKEN}"
    assert SECRET.encode() not in every_file(store)


def test_a_config_without_tracking_writes_no_tracking_section(logged):
    folder, *_ = logged
    assert "tracking" not in (folder / "config.yaml").read_text(encoding="utf-8")


def test_the_experiment_is_the_configs(logged, tmp_path):
    folder, *_ = logged
    track_folder(folder, TrackingConfig(backend="mlflow", uri=str(tmp_path / "store"), experiment="mt sweeps"))
    client = MlflowClient(tracking_uri=(tmp_path / "store").as_uri())
    experiment = client.get_experiment_by_name("mt sweeps")
    assert len(client.search_runs([experiment.experiment_id])) == 4


# ------------------------------------------------------------------------------------------ failures


def test_an_unreachable_server_is_one_tracking_error_and_the_folder_stays_whole(logged):
    folder, *_ = logged
    before = every_file(folder)
    uri = f"http://127.0.0.1:{closed_port()}"
    with pytest.raises(TrackingError) as info:
        track_folder(folder, TrackingConfig(backend="mlflow", uri=uri))
    assert str(info.value) == f"tracking: mlflow failed: ConnectionError: cannot reach the tracking server {uri} " + (
        "([Errno 111] Connection refused)"
    )
    assert every_file(folder) == before


def test_credentials_in_the_uri_never_reach_the_error(logged):
    folder, *_ = logged
    with pytest.raises(TrackingError) as info:
        track_folder(folder, TrackingConfig(backend="mlflow", uri=f"http://me:pw-9a8b7c@127.0.0.1:{closed_port()}"))
    assert "pw-9a8b7c" not in str(info.value) and "http://***@127.0.0.1" in str(info.value)


def test_a_uri_mlflow_does_not_know_is_a_tracking_error(logged):
    folder, *_ = logged
    with pytest.raises(TrackingError, match="'nosuch://x' is no tracking URI MLflow knows"):
        track_folder(folder, TrackingConfig(backend="mlflow", uri="nosuch://x"))


def test_a_database_store_without_sqlalchemy_says_what_to_install(logged):
    folder, *_ = logged
    import importlib.util

    if importlib.util.find_spec("sqlalchemy") is not None:
        pytest.skip("SQLAlchemy is installed: a sqlite store works")
    with pytest.raises(TrackingError, match=r"a sqlite store needs MLflow's database support \(pip install mlflow\)"):
        track_folder(folder, TrackingConfig(backend="mlflow", uri="sqlite:///mlflow.db"))


def test_a_missing_extra_names_it(logged, monkeypatch):
    folder, *_ = logged
    monkeypatch.setitem(sys.modules, "mlflow", None)  # what an import finds where the package is not installed
    with pytest.raises(TrackingError) as info:
        track_folder(folder, TrackingConfig(backend="mlflow"))
    assert str(info.value) == "tracking: mlflow is not installed: pip install 'evalharness[mlflow]'"


def test_a_missing_extra_is_said_before_the_run_and_the_run_goes_on(tmp_path, monkeypatch):
    config = write_three_sentence_run(tmp_path, "  - {name: copy, engine: identity}")
    config.write_text(config.read_text() + "statistics: {bootstrap: 0}\ntracking: {backend: mlflow}\n")
    monkeypatch.setitem(sys.modules, "mlflow", None)
    with pytest.warns(ResultsWarning, match=r"^tracking: mlflow is not installed: pip install 'evalharness\[mlflow\]'"):
        results = evalharness.run(config, write=False)
    assert len(results.scores) == 2 and results.tracked is None


def test_a_folder_that_is_not_whole_is_a_user_error_not_a_tracking_error(logged, tmp_path):
    folder, *_ = logged
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in ("manifest.json", "config.yaml"):
        (copy / name).write_bytes((folder / name).read_bytes())
    with pytest.raises(UserError) as info:
        track_folder(copy, TrackingConfig(backend="mlflow", uri=str(tmp_path / "store")))
    assert not isinstance(info.value, TrackingError) and "is missing, though the manifest lists it" in str(info.value)


# ------------------------------------------------------------------------------------------ the config


def test_an_unknown_backend_is_an_error_naming_the_line(tmp_path, monkeypatch):
    monkeypatch.setenv("MY_TOKEN", SECRET)
    config = write_config(tmp_path, "tracking:\n  backend: mlfow\n")
    with pytest.raises(UserError) as info:
        load_config(config)
    assert str(info.value) == f"{config}:12: tracking.backend: Input should be 'mlflow' or 'wandb' (got 'mlfow')"


def test_tracking_settings_are_not_a_systems_setting(tmp_path, monkeypatch):
    monkeypatch.setenv("MY_TOKEN", SECRET)
    loaded = load_config(write_config(tmp_path, "tracking: {backend: mlflow, uri: http://host:5000}\n"))
    assert loaded.config.tracking == TrackingConfig(backend="mlflow", uri="http://host:5000")
    assert all("tracking" not in system.model_dump() for system in loaded.config.systems)


# ------------------------------------------------------------------------------------------ the command line


@pytest.mark.slow
def test_run_with_a_dead_server_exits_3_in_one_line_with_the_results_whole_and_track_logs_them_later(tmp_path):
    config = write_config(tmp_path)
    dead = f"http://127.0.0.1:{closed_port()}"
    env = {**FAST_FAILURE, "MY_TOKEN": SECRET}
    proc = run_cli("run", config, "--track", "mlflow", "--set", f"tracking.uri={dead}", cwd=tmp_path, env=env)
    assert proc.returncode == 3
    [line] = [line for line in error_lines(proc.stderr) if "tracking" in line]
    assert f"cannot reach the tracking server {dead}" in line and "evalharness track results/run" in line
    folder = tmp_path / "results" / "run"
    check_whole(folder)
    store = tmp_path / "later"
    later = run_cli("track", folder, "--uri", store, cwd=tmp_path)
    assert later.returncode == 0, later.stderr
    assert later.stderr.startswith("tracked: MLflow later, experiment 'evalharness', run ")
    client = MlflowClient(tracking_uri=store.as_uri())
    runs = client.search_runs([client.get_experiment_by_name("evalharness").experiment_id])
    assert len(runs) == 4 and SECRET.encode() not in every_file(store)


@pytest.mark.slow
def test_tracking_changes_no_cache_key_and_no_score(tmp_path):
    """The same config run again with --track: every translation and every score comes from the caches."""
    config = write_config(tmp_path)
    run_cli("run", config, cwd=tmp_path, env={"MY_TOKEN": SECRET}, check=True)
    first = (tmp_path / "results" / "run" / "scores.csv").read_bytes()
    store = f"tracking.uri={tmp_path / 'store'}"
    proc = run_cli("run", config, "--track", "mlflow", "--set", store, cwd=tmp_path, env={"MY_TOKEN": SECRET})
    assert proc.returncode == 0, proc.stderr
    assert "segments translated: 0; score cache: 9 hits, 0 computed" in proc.stderr
    assert (tmp_path / "results" / "run" / "scores.csv").read_bytes() == first
    assert "tracked: MLflow store, experiment 'evalharness'" in proc.stderr


def test_track_without_a_backend_says_how_to_give_one(logged, capsys):
    from evalharness.cli import main

    folder, *_ = logged
    assert main(["track", str(folder)]) == 2
    assert capsys.readouterr().err == (
        "evalharness: error: track: no tracker: give --backend mlflow or wandb (config.yaml has no tracking section)\n"
    )


def test_track_with_a_tracker_that_fails_exits_3_in_one_line(logged, capsys):
    from evalharness.cli import TRACKING_FAILED, main

    folder, *_ = logged
    assert main(["track", str(folder), "--backend", "mlflow", "--uri", "nosuch://x"]) == TRACKING_FAILED == 3
    assert capsys.readouterr().err == (
        "evalharness: error: tracking: mlflow failed: ValueError: 'nosuch://x' is no tracking URI MLflow knows "
        "(a folder, file:/path, http(s)://host:port, databricks, or a database)\n"
    )


def test_track_reads_the_folder_once_so_an_old_manifest_warns_once(logged, tmp_path, capsys):
    """A manifest from before the file hashes: `track` logs the folder, saying once that it could not check it."""
    import json
    import shutil

    from evalharness.cli import main

    folder, *_ = logged
    copy = tmp_path / "old"
    shutil.copytree(folder, copy)
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    del manifest["files"]
    (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert main(["track", str(copy), "--backend", "mlflow", "--uri", str(tmp_path / "s")]) == 0
    warned = [line for line in capsys.readouterr().err.splitlines() if line.startswith("evalharness: warning: ")]
    assert warned == [
        f"evalharness: warning: {copy / 'manifest.json'}: lists no file hashes "
        + (
            "(written by an earlier evalharness), so its files could not be checked for completeness; rerun the config "
            "to record them"
        )
    ]


def test_track_takes_the_backend_from_the_command_line(logged, tmp_path, capsys):
    from evalharness.cli import main

    folder, *_ = logged
    assert main(["track", str(folder), "--backend", "mlflow", "--uri", str(tmp_path / "s")]) == 0
    assert "run " in capsys.readouterr().err
    assert pd.notna(MlflowClient(tracking_uri=(tmp_path / "s").as_uri()).get_experiment_by_name("evalharness"))
