"""W&B tracking offline, read back from the runs' own .wandb files (W&B's transaction log, decoded with its own
protobuf records): a run per cell in one group per config run, their config and summary, the results run with the
folder as an artifact; nothing sent, no secret written. W&B's folders all under tmp; its server a closed port."""

from __future__ import annotations

import json
import struct
import sys
from pathlib import Path

import pytest
from evalharness.results import read_csv
from evalharness.tracking import TrackingConfig, TrackingError, track_folder

from tracking_run import CELL_PARAMS, SECRET, every_file, finished_run

wandb = pytest.importorskip("wandb")
from wandb.proto import wandb_internal_pb2  # noqa: E402

BLOCK = 32 * 1024  # the .wandb log's block size (LevelDB's log format, with a 7-byte W&B header first)


def records(path: Path) -> list:
    """Every record of a .wandb file: LevelDB log chunks (checksum, length, type: full, first, middle, last)."""
    data = path.read_bytes()
    assert data[:4] == b":W&B", f"{path}: not a W&B transaction log"
    found, pos, parts = [], 7, b""
    while pos + 7 <= len(data):
        if BLOCK - pos % BLOCK < 7:  # a block's tail too short for a chunk header is padding
            pos += BLOCK - pos % BLOCK
            continue
        _, length, kind = struct.unpack("<IHB", data[pos : pos + 7])
        chunk, pos = data[pos + 7 : pos + 7 + length], pos + 7 + length
        if kind == 0:
            break
        if kind in (1, 4):  # full, last
            record = wandb_internal_pb2.Record()
            record.ParseFromString(parts + chunk if kind == 4 else chunk)
            found.append(record)
            parts = b""
        else:  # first, middle
            parts = (parts if kind == 3 else b"") + chunk
    return found


def items(update) -> dict:
    return {item.key: json.loads(item.value_json) for item in update if item.key}


def read_runs(root: Path) -> dict[str, dict]:
    """Each offline run under root/wandb: its run record, config, summary and artifacts, by display name."""
    runs = {}
    for path in sorted(root.glob("wandb/offline-run-*/run-*.wandb")):
        found = records(path)
        kinds = [r.WhichOneof("record_type") for r in found]
        assert kinds.count("run") == 1, (path, path.stat().st_size, kinds)
        [run] = [r.run for r in found if r.WhichOneof("record_type") == "run"]
        summary: dict = {}
        for r in found:
            if r.WhichOneof("record_type") == "summary":
                summary.update(items(r.summary.update))
        artifacts = [r.artifact for r in found if r.WhichOneof("record_type") == "artifact"]
        runs[run.display_name] = {
            "run": run,
            "config": items(run.config.update),
            "summary": summary,
            "artifacts": artifacts,
        }
    return runs


@pytest.fixture(scope="module")
def logged(tmp_path_factory):
    """The small run, finished, then logged offline with every W&B folder under tmp and no server to reach."""
    folder = finished_run(tmp_path_factory.mktemp("tracked"))
    root = tmp_path_factory.mktemp("wandb")
    with pytest.MonkeyPatch.context() as patch:
        for name in ("CACHE", "DATA", "CONFIG", "ARTIFACT"):
            patch.setenv(f"WANDB_{name}_DIR", str(root / name.lower()))
        patch.setenv("WANDB_SILENT", "true")
        patch.setenv("WANDB_BASE_URL", "http://127.0.0.1:9")  # a closed port: offline must never need it
        patch.delenv("WANDB_API_KEY", raising=False)
        patch.delenv("WANDB_MODE", raising=False)  # offline because the config says so (the default)
        where = track_folder(folder, TrackingConfig(backend="wandb", dir=str(root / "runs")))
    return folder, root, read_runs(root / "runs"), where


def test_each_cell_is_a_run_in_one_group_with_a_results_run(logged):
    _, _, runs, where = logged
    assert sorted(runs) == ["run", "three/cat timeout=1.0", "three/cat timeout=2.5", "three/copy"]
    assert len({r["run"].run_group for r in runs.values()}) == 1
    assert {name: r["run"].job_type for name, r in runs.items()} == {
        "run": "results",
        "three/cat timeout=1.0": "cell",
        "three/cat timeout=2.5": "cell",
        "three/copy": "cell",
    }
    assert {r["run"].project for r in runs.values()} == {"evalharness"}
    assert "offline" in where and "wandb sync" in where


def test_a_cell_runs_config_holds_its_params_and_tags(logged):
    folder, _, runs, _ = logged
    config = runs["three/cat timeout=2.5"]["config"]
    assert {k: config[k] for k in CELL_PARAMS} == CELL_PARAMS
    scores = read_csv(folder / "scores.csv")
    assert config["signature.chrF2++"] == scores[scores.metric == "chrF2++"].signature.iloc[0]
    assert (
        config["evalharness.config_sha256"]
        == json.loads((folder / "manifest.json").read_text())["files"]["config.yaml"]
    )


def test_a_cell_runs_summary_holds_its_scores_and_confidence_intervals(logged):
    folder, _, runs, _ = logged
    scores = read_csv(folder / "scores.csv")
    summary = runs["three/copy"]["summary"]
    for row in scores[scores.system == "copy"].itertuples():
        name = f"{row.level}/{row.metric}"
        assert (summary[name], summary[f"{name}_ci_low"], summary[f"{name}_ci_high"]) == (
            row.score,
            row.ci_low,
            row.ci_high,
        )


def test_the_results_run_holds_the_folder_as_an_artifact(logged):
    folder, _, runs, _ = logged
    [artifact] = [a for a in runs["run"]["artifacts"] if a.type == "results"]
    assert artifact.name == "results-run"
    written = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert sorted(entry.path for entry in artifact.manifest.contents) == written


def test_the_results_run_holds_scores_csv_as_a_table(logged):
    folder, root, _, _ = logged
    [path] = (root / "runs" / "wandb").glob("offline-run-*/files/media/table/scores_*.table.json")
    table = json.loads(path.read_text(encoding="utf-8"))
    scores = read_csv(folder / "scores.csv")
    assert table["columns"] == list(scores.columns)
    assert [row[table["columns"].index("signature")] for row in table["data"]] == list(scores["signature"])


def test_nothing_is_sent_until_wandb_sync(logged):
    _, root, runs, _ = logged
    folders = list((root / "runs" / "wandb").glob("*run-*"))
    assert len(folders) == len(runs) and all(f.name.startswith("offline-run-") for f in folders)
    assert not list(root.rglob("*.wandb.synced"))


def test_no_secret_reaches_a_wandb_file(logged):
    _, root, runs, _ = logged
    assert runs["three/copy"]["config"].get("env.TOKEN") is None
    assert runs["three/cat timeout=1.0"]["config"]["env.TOKEN"] == "${MY_TOKEN}"
    assert SECRET.encode() not in every_file(root)


def test_a_missing_extra_names_it(logged, monkeypatch):
    folder, *_ = logged
    monkeypatch.setitem(sys.modules, "wandb", None)  # what an import finds where the package is not installed
    with pytest.raises(TrackingError) as info:
        track_folder(folder, TrackingConfig(backend="wandb"))
    assert str(info.value) == "tracking: wandb is not installed: pip install 'evalharness[wandb]'"


def test_online_without_an_account_is_one_tracking_error(logged, tmp_path, monkeypatch):
    folder, *_ = logged
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    monkeypatch.setenv("WANDB_BASE_URL", "http://127.0.0.1:9")
    with pytest.raises(TrackingError) as info:
        track_folder(folder, TrackingConfig(backend="wandb", mode="online", dir=str(tmp_path / "runs")))
    assert str(info.value).startswith("tracking: wandb failed: ") and "API key" in str(info.value)
