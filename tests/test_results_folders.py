"""Result files and folders: a run's folder is always entirely one run, a folder the user made is not overwritten
without --force, nothing the project writes replaces a symlink, a device or a folder, a folder proves it is whole
(manifest.json lists every file's sha256) or is refused, and a full disk or a read-only target is one line that
leaves nothing half-written."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from evalharness import api
from evalharness.errors import UserError
from evalharness.textio import atomic_write

from conftest import ROOT, error_lines, run_cli_here, run_cli_read_only, write_three_sentence_run


def two_dataset_config(folder: Path) -> Path:
    """The three-sentence run plus a second dataset (its own plot), copy-source only: no model."""
    config = write_three_sentence_run(folder, "  - {name: copy, engine: identity}")
    text = config.read_text(encoding="utf-8").replace(
        "datasets:\n",
        "datasets:\n  - {name: second, kind: parallel, langpair: de-en, source: src.de, references: [ref.en]}\n",
    )
    config.write_text(text, encoding="utf-8")
    return config


def files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def test_a_rerun_with_fewer_datasets_leaves_no_file_of_the_earlier_run(tmp_path):
    config = two_dataset_config(tmp_path)
    out = tmp_path / "out"
    run_cli_here("run", config, "--output-dir", out, cwd=tmp_path, check=True)
    assert "plots/second.png" in files(out / "run")
    run_cli_here(
        "run",
        config,
        "--output-dir",
        out,
        "--set",
        "datasets=[{name: three, kind: parallel, langpair: de-en, source: src.de, references: [ref.en]}]",
        cwd=tmp_path,
        check=True,
    )
    assert "plots/second.png" not in files(out / "run") and "plots/three.png" in files(out / "run")
    assert [p.name for p in out.iterdir()] == ["run"]  # no temporary or old folder left beside it


def test_a_folder_with_files_no_run_wrote_is_refused_before_any_work(tmp_path):
    config = two_dataset_config(tmp_path)
    mine = tmp_path / "out" / "run"
    mine.mkdir(parents=True)
    (mine / "scores.csv").write_text("my own table\n", encoding="utf-8")
    proc = run_cli_here("run", config, "--output-dir", tmp_path / "out", cwd=tmp_path)
    assert proc.returncode == 2
    [line] = error_lines(proc.stderr)
    assert "is not an evalharness results folder" in line and "--force" in line
    assert "evalharness: translate" not in proc.stderr  # refused before the work
    assert (mine / "scores.csv").read_text(encoding="utf-8") == "my own table\n"


def test_force_replaces_such_a_folder_as_a_whole(tmp_path):
    config = two_dataset_config(tmp_path)
    mine = tmp_path / "out" / "run"
    mine.mkdir(parents=True)
    (mine / "notes.txt").write_text("mine\n", encoding="utf-8")
    run_cli_here("run", config, "--output-dir", tmp_path / "out", "--force", cwd=tmp_path, check=True)
    assert "notes.txt" not in files(mine) and "manifest.json" in files(mine)


def test_an_empty_existing_folder_is_used(tmp_path):
    config = two_dataset_config(tmp_path)
    (tmp_path / "out" / "run").mkdir(parents=True)
    run_cli_here("run", config, "--output-dir", tmp_path / "out", cwd=tmp_path, check=True)
    assert "scores.csv" in files(tmp_path / "out" / "run")


def test_table_output_onto_a_symlink_is_refused_and_the_link_stays(tmp_path):
    config = two_dataset_config(tmp_path)
    run_cli_here("run", config, "--output-dir", tmp_path / "out", cwd=tmp_path, check=True)
    target = tmp_path / "target.md"
    target.write_text("kept\n", encoding="utf-8")
    link = tmp_path / "link.md"
    link.symlink_to(target)
    proc = run_cli_here("table", tmp_path / "out" / "run", "-o", link)
    assert proc.returncode == 2 and "is a symbolic link" in proc.stderr and "Traceback" not in proc.stderr
    assert link.is_symlink() and target.read_text(encoding="utf-8") == "kept\n"


def test_table_output_onto_a_folder_is_one_line(tmp_path):
    config = two_dataset_config(tmp_path)
    run_cli_here("run", config, "--output-dir", tmp_path / "out", cwd=tmp_path, check=True)
    proc = run_cli_here("table", tmp_path / "out" / "run", "-o", tmp_path)
    assert proc.returncode == 2 and error_lines(proc.stderr) == [
        f"evalharness: error: {tmp_path}: is a folder; evalharness writes only regular files or new paths (name a file)"
    ]


@pytest.mark.skipif(sys.platform != "linux", reason="Linux device nodes")
def test_a_device_is_never_replaced():
    with pytest.raises(UserError, match="is a device"):
        atomic_write("/dev/null", "x")
    assert Path("/dev/null").is_char_device()


# ---------------------------------------------------------------------------------------- a folder proves it is whole


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """One finished run (copy-source on two datasets); tests that change it work on a copy (`run_dir`)."""
    folder = tmp_path_factory.mktemp("finished")
    run_cli_here("run", two_dataset_config(folder), "--output-dir", folder / "out", cwd=folder, check=True)
    return folder / "out" / "run"


@pytest.fixture
def run_dir(finished, tmp_path) -> Path:
    return Path(shutil.copytree(finished, tmp_path / "run"))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def manifest_of(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


READERS = ["table", "report", "load"]


def read_back(how: str, folder: Path) -> tuple[int, list[str]]:
    """`evalharness table`, `evalharness report` or `api.load` on a folder: the exit code and the error lines."""
    if how == "load":
        try:
            api.load(folder)
        except UserError as err:
            return 2, [f"evalharness: error: {err}"]
        return 0, []
    proc = run_cli_here(how, folder)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, error_lines(proc.stderr)


def test_the_manifest_lists_every_other_file_with_its_sha256_in_name_order(finished):
    """All but run.json: when and where the run happened changes from run to run, the results do not."""
    listed = manifest_of(finished)["files"]
    hashed = files(finished) - {"manifest.json", "run.json"}
    assert listed == {name: sha256(finished / name) for name in sorted(hashed)}
    assert list(listed) == sorted(listed)


@pytest.mark.parametrize("how", READERS)
def test_a_scores_csv_cut_off_in_its_header_is_refused(run_dir, how):
    scores = run_dir / "scores.csv"
    scores.write_bytes(scores.read_bytes()[:30])
    code, lines = read_back(how, run_dir)
    assert code == 2 and len(lines) == 1, lines
    assert f"{scores} does not match the manifest: the run was cut off or the file was edited" in lines[0]
    assert "rerun `evalharness run run.yaml`" in lines[0]


@pytest.mark.parametrize("how", READERS)
def test_a_listed_file_that_is_missing_is_named(run_dir, how):
    (run_dir / "segments.jsonl").unlink()
    code, lines = read_back(how, run_dir)
    assert code == 2 and len(lines) == 1, lines
    assert f"{run_dir / 'segments.jsonl'} is missing, though the manifest lists it" in lines[0]


@pytest.mark.parametrize("how", READERS)
def test_a_folder_without_its_manifest_is_refused_in_one_line(run_dir, how):
    (run_dir / "manifest.json").unlink()
    code, lines = read_back(how, run_dir)
    assert code == 2 and len(lines) == 1, lines
    assert f"{run_dir}: no manifest.json, so not a whole results folder" in lines[0]


@pytest.mark.parametrize("how", READERS)
def test_a_folder_with_a_foreign_manifest_is_refused_in_one_line(run_dir, how):
    (run_dir / "manifest.json").write_text('{"name": "my notes"}\n', encoding="utf-8")
    code, lines = read_back(how, run_dir)
    assert code == 2 and len(lines) == 1, lines
    assert f"{run_dir / 'manifest.json'}: not a run's manifest" in lines[0]


@pytest.mark.parametrize("command", ["table", "report"])
def test_a_folder_from_before_the_hashes_is_read_with_a_one_line_warning(run_dir, command):
    manifest = manifest_of(run_dir)
    del manifest["files"]  # as an earlier evalharness wrote it
    (run_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    proc = run_cli_here(command, run_dir)
    assert proc.returncode == 0, proc.stderr
    assert error_lines(proc.stderr) == [
        f"evalharness: warning: {run_dir / 'manifest.json'}: lists no file hashes (written by an earlier "
        f"evalharness), so its files could not be checked for completeness; rerun the config to record them"
    ]


def test_the_committed_example_results_still_load():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # written before the hashes, it may have none
        results = api.load(ROOT / "results" / "seeds")
    assert len(results.scores) and set(results.summary["dataset"]) == {"seeds-de-en", "seeds-zh-origin"}


def test_report_records_the_hashes_of_the_files_it_rebuilds(run_dir):
    (run_dir / "report.html").write_text("edited\n", encoding="utf-8")
    (run_dir / "plots" / "three.png").unlink()
    proc = run_cli_here("report", run_dir)
    assert proc.returncode == 0, proc.stderr
    listed = manifest_of(run_dir)["files"]
    assert listed["report.html"] == sha256(run_dir / "report.html")
    assert listed["plots/three.png"] == sha256(run_dir / "plots" / "three.png")
    assert run_cli_here("table", run_dir).returncode == 0


# ------------------------------------------------------------------------- full disks and read-only targets


def snapshot(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in files(folder)}


def test_a_full_disk_while_writing_results_is_one_line_and_keeps_the_earlier_run(tmp_path, monkeypatch):
    config = two_dataset_config(tmp_path)
    monkeypatch.chdir(tmp_path)
    first = api.run(config, output_dir=tmp_path / "out").out_dir
    assert first is not None
    before = snapshot(first)

    def full(fd, *args, **kwargs):
        os.close(fd)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fdopen", full)
    with pytest.raises(UserError) as raised:
        api.run(config, output_dir=tmp_path / "out", use_cache=False)
    monkeypatch.undo()
    assert str(raised.value) == (
        f"{first}: cannot write the results folder (No space left on device); nothing was written and the "
        f"earlier results, if any, are unchanged"
    )
    assert snapshot(first) == before and [p.name for p in (tmp_path / "out").iterdir()] == ["run"]


def test_a_file_over_the_size_limit_while_writing_results_is_one_line_and_keeps_the_earlier_run(tmp_path):
    config = two_dataset_config(tmp_path)
    run_cli_here("run", config, "--output-dir", tmp_path / "out", cwd=tmp_path, check=True)
    before = snapshot(tmp_path / "out" / "run")
    limit = max(len(data) for data in before.values()) // 2  # the largest result file cannot be written

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))  # Python ignores SIGXFSZ: writes fail with EFBIG

    proc = subprocess.run(
        [sys.executable, "-m", "evalharness", "run", config, "--output-dir", tmp_path / "out", "--no-cache"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        preexec_fn=small_files,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert error_lines(proc.stderr) == [
        f"evalharness: error: {tmp_path / 'out' / 'run'}: cannot write the results folder (File too large); nothing "
        f"was written and "
        f"the earlier results, if any, are unchanged"
    ]
    assert snapshot(tmp_path / "out" / "run") == before and [p.name for p in (tmp_path / "out").iterdir()] == ["run"]


def test_table_output_into_a_read_only_folder_is_one_line(finished, tmp_path):
    folder = tmp_path / "tables"
    folder.mkdir()
    proc = run_cli_read_only(folder, "table", finished, "-o", folder / "t.md")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    [line] = error_lines(proc.stderr)
    assert f"{folder}: cannot write the folder of the output file there: {folder}: " in line
    assert not (folder / "t.md").exists()


def test_table_output_under_a_file_is_one_line(finished, tmp_path):
    (tmp_path / "notes").write_text("a file\n", encoding="utf-8")
    proc = run_cli_here("table", finished, "-o", tmp_path / "notes" / "t.md")
    assert proc.returncode == 2 and error_lines(proc.stderr) == [
        f"evalharness: error: {tmp_path / 'notes'}: cannot create the folder of the output file: "
        f"{tmp_path / 'notes'} is a file, not a folder"
    ]


def test_report_on_a_read_only_folder_is_one_line_and_changes_nothing(run_dir):
    before = snapshot(run_dir)
    proc = run_cli_read_only(run_dir, "report", run_dir)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    [line] = error_lines(proc.stderr)
    assert f"{run_dir}: cannot write the report there" in line
    assert snapshot(run_dir) == before
