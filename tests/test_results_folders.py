"""Result files and folders: a run's folder is always entirely one run, a folder the user made is not overwritten
without --force, and nothing the project writes replaces a symlink, a device or a folder."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from evalharness.errors import UserError
from evalharness.textio import atomic_write

from conftest import error_lines, run_cli, write_three_sentence_run


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
    run_cli("run", config, "--output-dir", out, cwd=tmp_path, check=True)
    assert "plots/second.png" in files(out / "run")
    run_cli(
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
    proc = run_cli("run", config, "--output-dir", tmp_path / "out", cwd=tmp_path)
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
    run_cli("run", config, "--output-dir", tmp_path / "out", "--force", cwd=tmp_path, check=True)
    assert "notes.txt" not in files(mine) and "manifest.json" in files(mine)


def test_an_empty_existing_folder_is_used(tmp_path):
    config = two_dataset_config(tmp_path)
    (tmp_path / "out" / "run").mkdir(parents=True)
    run_cli("run", config, "--output-dir", tmp_path / "out", cwd=tmp_path, check=True)
    assert "scores.csv" in files(tmp_path / "out" / "run")


def test_table_output_onto_a_symlink_is_refused_and_the_link_stays(tmp_path):
    config = two_dataset_config(tmp_path)
    run_cli("run", config, "--output-dir", tmp_path / "out", cwd=tmp_path, check=True)
    target = tmp_path / "target.md"
    target.write_text("kept\n", encoding="utf-8")
    link = tmp_path / "link.md"
    link.symlink_to(target)
    proc = run_cli("table", tmp_path / "out" / "run", "-o", link)
    assert proc.returncode == 2 and "is a symbolic link" in proc.stderr and "Traceback" not in proc.stderr
    assert link.is_symlink() and target.read_text(encoding="utf-8") == "kept\n"


def test_table_output_onto_a_folder_is_one_line(tmp_path):
    config = two_dataset_config(tmp_path)
    run_cli("run", config, "--output-dir", tmp_path / "out", cwd=tmp_path, check=True)
    proc = run_cli("table", tmp_path / "out" / "run", "-o", tmp_path)
    assert proc.returncode == 2 and error_lines(proc.stderr) == [
        f"evalharness: error: {tmp_path}: is a folder; evalharness writes only regular files or new paths (name a file)"
    ]


@pytest.mark.skipif(sys.platform != "linux", reason="Linux device nodes")
def test_a_device_is_never_replaced():
    with pytest.raises(UserError, match="is a device"):
        atomic_write("/dev/null", "x")
    assert Path("/dev/null").is_char_device()
