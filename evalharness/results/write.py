"""Writing a results folder: every file staged, then renamed into place, manifest.json last with the sha256 of
every other file; CSV text as the harness writes it.

Times and versions go to manifest.json and run.json (`schema.RUN_KEYS`), never to the CSV files, so a rerun of
the same config gives the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from evalharness import csvsafe
from evalharness.errors import UserError
from evalharness.results.schema import FILES, MANIFEST, RUN_FILE, RUN_KEYS
from evalharness.textio import check_replaceable, current_umask


def to_csv(frame: pd.DataFrame) -> str:
    """A frame as the harness writes CSV (cells a spreadsheet would run neutralised: `evalharness.csvsafe`)."""
    return csvsafe.to_csv(frame)


def _bytes(content: str | bytes) -> bytes:
    return content if isinstance(content, bytes) else content.encode("utf-8")


def file_hashes(files: dict[str, str | bytes]) -> dict[str, str]:
    """manifest.json's `files`: the sha256 of every file but the manifest, by name (sorted, so a rerun that writes
    the same files lists them the same way)."""
    return {
        name: hashlib.sha256(_bytes(files[name])).hexdigest()
        for name in sorted(files)
        if name not in (MANIFEST, RUN_FILE)
    }


def split_manifest(manifest: dict) -> tuple[dict, dict]:
    """(manifest.json, run.json): what the results are and how they were made, apart from the run's
    circumstances (RUN_KEYS), which change with every run."""
    return (
        {k: v for k, v in manifest.items() if k not in RUN_KEYS},
        {k: v for k, v in manifest.items() if k in RUN_KEYS},
    )


def manifest_text(manifest: dict) -> str:
    return json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"


def write_results(out_dir: Path, files: dict[str, str | bytes]) -> None:
    """Every file to a temporary name first, then each renamed into place, manifest.json last: a full disk or a
    read-only folder fails while nothing is replaced yet (the temporary files are removed), and a folder with
    its manifest is complete. Text is written as UTF-8, bytes (PNGs) as they are."""
    staged: list[tuple[Path, Path]] = []
    try:
        for name in sorted(files, key=lambda n: n == MANIFEST):
            path = out_dir / name
            check_replaceable(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            staged.append((Path(tmp), path))
            with os.fdopen(fd, "wb") as handle:
                handle.write(_bytes(files[name]))
            os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp makes 0600; results are ordinary files
        while staged:
            tmp_path, path = staged[0]
            os.replace(tmp_path, path)
            staged.pop(0)
    finally:
        for tmp_path, _ in staged:
            tmp_path.unlink(missing_ok=True)


def write_error(folder: Path, err: OSError, what: str, kept: str) -> UserError:
    """An OSError while writing results (a full disk, a file over the size limit, a read-only folder) as one line:
    where, why, and what stayed as it was."""
    return UserError(f"{folder}: cannot write {what} ({err.strerror or err}); {kept}")


def rewrite_results(
    folder: Path, files: dict[str, str | bytes], manifest: dict, rebuilt: Callable[[str], bool], what: str
) -> None:
    """Some files of a finished results folder written again (`evalharness report`: the plots and report.html),
    and manifest.json's hashes with them, so the folder stays whole. `rebuilt`: the names these files replace
    (the entries of a plot no longer made are dropped). A manifest without hashes is left as it was: its other
    files were never checked, so nothing would vouch for them."""
    out = dict(files)
    listed = manifest.get(FILES)
    if isinstance(listed, dict):
        kept = {name: sha for name, sha in listed.items() if not rebuilt(name)}
        out[MANIFEST] = manifest_text({**manifest, FILES: dict(sorted({**kept, **file_hashes(files)}.items()))})
    try:
        write_results(folder, out)
    except OSError as err:
        raise write_error(folder, err, what, "nothing in the folder was changed") from err


def replace_results_folder(out_dir: Path, files: dict[str, str | bytes]) -> None:
    """The whole results folder at once: built beside the old one, then swapped in by two renames, so the folder
    is always entirely one run (no stale plots or agreement.csv of an earlier run, no half-written file). An
    interruption between the renames leaves the old folder under a hidden name beside it, never a mix. A full
    disk or a file over the size limit is one line, and the earlier results stay as they were."""
    try:
        _replace_folder(out_dir, files)
    except OSError as err:
        raise write_error(
            out_dir, err, "the results folder", "nothing was written and the earlier results, if any, are unchanged"
        ) from err


def _replace_folder(out_dir: Path, files: dict[str, str | bytes]) -> None:
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    new = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.new-", dir=out_dir.parent))
    old: Path | None = None
    try:
        os.chmod(new, 0o777 & ~current_umask())  # mkdtemp makes 0700; a results folder is an ordinary folder
        write_results(new, files)
        if out_dir.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
            os.rmdir(old)  # a free name to move the old folder to
            os.rename(out_dir, old)
        os.rename(new, out_dir)
    except BaseException:
        if old is not None and old.exists() and not out_dir.exists():
            os.rename(old, out_dir)  # put the earlier run back
            old = None
        shutil.rmtree(new, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
