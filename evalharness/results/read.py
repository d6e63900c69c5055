"""Reading a results folder back: the one door of the API's `load`, `evalharness table`, `evalharness report`,
the leaderboard, and (config.yaml, `read_config`) of `evalharness track` and the app. A folder is whole or refused
in one line (`check_whole`); CSV files come back as written (names as text, only an empty cell missing, swept
settings typed by their values); `schema.typed` gives the declared dtypes on top.
"""

from __future__ import annotations

import hashlib
import io
import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from evalharness import csvsafe
from evalharness.errors import ResultsWarning, UserError
from evalharness.results.schema import (
    AGREEMENT_FILE,
    ANALYSIS_FILES,
    CONFIG_FILE,
    FILES,
    HUMAN_FILE,
    MANIFEST,
    META_FILE,
    REQUIRED,
    SCORES_FILE,
    SEGMENTS_FILE,
    SUMMARY_FILE,
    TEXT_COLUMNS,
    RunData,
    setting_columns,
    typed_setting,
)
from evalharness.textio import read_text


def read_csv(path: Path) -> pd.DataFrame:
    """The one reader of the CSV files a run writes (scores, summary, pairwise, agreement, human scores): only an empty
    cell is missing (pandas would also take `NA`, `null`, `nan`, ... for missing), names are text, and a file
    that is not such a table is a one-line error."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as err:
        raise UserError(f"{path}: not found (not a complete results folder)") from err
    except (OSError, UnicodeDecodeError) as err:
        raise UserError(f"{path}: cannot read it ({err})") from err
    try:
        header = list(pd.read_csv(io.StringIO(text), nrows=0, keep_default_na=False).columns)
        settings = setting_columns(header)
        frame = pd.read_csv(
            io.StringIO(text),
            keep_default_na=False,
            na_values=[""],
            dtype={c: str for c in [*TEXT_COLUMNS, *settings] if c in header},
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as err:
        raise UserError(f"{path}: not a valid CSV table ({err})") from err
    frame = csvsafe.read_back(frame)
    settings = [str(csvsafe.restored(column)) for column in settings]
    for column in settings:
        frame[column] = typed_setting(frame[column])
    return frame


def never(name: str) -> bool:
    """No file is about to be rebuilt: every file the manifest lists is checked."""
    return False


def _listed_path(folder: Path, name: str) -> Path:
    """A file the manifest lists, refused when the name leads outside the folder (a manifest is data, not trusted)."""
    parts = Path(name).parts
    if not name or Path(name).is_absolute() or ".." in parts:
        raise UserError(f"{folder / MANIFEST}: lists {name!r}, which is not a file inside the folder")
    return folder / name


def check_whole(folder: Path, rebuilt: Callable[[str], bool] = never) -> dict:
    """The folder's manifest, once every file it lists is there with the bytes it had when the run wrote it: a
    results folder proves it is whole or is refused, in one line naming the file (a copy cut off, a file edited
    by hand, a folder that is not a run's). `rebuilt`: files the caller is about to write again, not checked.
    A manifest from before the file hashes were recorded is read unchecked, with a `ResultsWarning`."""
    path = folder / MANIFEST
    if not folder.is_dir():
        raise UserError(f"{folder}: not a results folder (no such folder)")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as err:
        raise UserError(
            f"{folder}: no {MANIFEST}, so not a whole results folder (a run writes it last: the run was cut off, "
            f"or this is not a run's results folder)"
        ) from err
    except (OSError, UnicodeDecodeError) as err:
        raise UserError(f"{path}: cannot read it ({err})") from err
    try:
        manifest = json.loads(text)
    except ValueError as err:
        raise UserError(f"{path}: not valid JSON ({err})") from err
    if not isinstance(manifest, dict) or "evalharness" not in manifest:
        raise UserError(f"{path}: not a run's manifest (it names no evalharness version): not a results folder")
    listed = manifest.get(FILES)
    if listed is None:
        warnings.warn(
            f"{path}: lists no file hashes (written by an earlier evalharness), so its files could not be checked "
            f"for completeness; rerun the config to record them",
            ResultsWarning,
            stacklevel=2,
        )
        return manifest
    if not isinstance(listed, dict) or not all(isinstance(v, str) for v in listed.values()):
        raise UserError(f"{path}: `{FILES}` is not a map of file names to sha256 hashes")
    rerun = f"rerun `evalharness run {manifest['config']}`" if manifest.get("config") else "rerun its config"
    for name, expected in listed.items():
        if rebuilt(name):
            continue
        file = _listed_path(folder, name)
        try:
            with open(file, "rb") as handle:
                actual = hashlib.file_digest(handle, "sha256").hexdigest()
        except FileNotFoundError as err:
            raise UserError(
                f"{file} is missing, though the manifest lists it: the run was cut off or the file was removed; {rerun}"
            ) from err
        except OSError as err:
            raise UserError(f"{file}: cannot read it ({err.strerror or err})") from err
        if actual != expected:
            raise UserError(f"{file} does not match the manifest: the run was cut off or the file was edited; {rerun}")
    return manifest


def is_results_folder(folder: Path) -> bool:
    """A folder a run wrote: its manifest.json is a run's manifest (it names the evalharness version)."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and "evalharness" in manifest


def read_scores(
    folder: Path, required: set[str] = REQUIRED, rebuilt: Callable[[str], bool] = never
) -> tuple[pd.DataFrame, dict]:
    """A whole folder's scores.csv (as written) and its manifest: the one door every reader of a results folder
    goes through (`read_folder`, the leaderboard). Refused in one line when the folder is not whole
    (`check_whole`; `rebuilt`: files about to be written again, not checked) or scores.csv lacks a `required`
    column (a header cut off in a folder whose manifest has no hashes: not an empty run)."""
    manifest = check_whole(folder, rebuilt)
    path = folder / SCORES_FILE
    if not path.exists():
        raise UserError(f"{folder}: no {SCORES_FILE} (not a complete results folder)")
    read_text(path)  # clear errors for empty or non-UTF-8 files
    scores = read_csv(path)
    absent = required - set(scores.columns)
    if absent:
        raise UserError(f"{path}: missing columns {', '.join(sorted(absent))}")
    return scores, manifest


def read_folder(folder: Path | str, rebuilt: Callable[[str], bool] = never) -> RunData:
    """Everything a results folder holds, read back: scores.csv, summary.csv, segments.jsonl, manifest.json, and
    agreement.csv, meta.csv, human_scores.csv and the analysis tables when the run wrote them; refused unless the
    folder is whole (`check_whole`, which skips the files `rebuilt` names)."""
    folder = Path(folder)
    scores, manifest = read_scores(folder, REQUIRED, rebuilt)
    if not (folder / SUMMARY_FILE).exists():
        raise UserError(f"{folder}: no {SUMMARY_FILE} (not a complete results folder)")
    summary = read_csv(folder / SUMMARY_FILE)
    segments = read_segments(folder)
    agreement = read_csv(folder / AGREEMENT_FILE) if (folder / AGREEMENT_FILE).exists() else None
    human = read_csv(folder / HUMAN_FILE) if (folder / HUMAN_FILE).exists() else None
    meta = read_csv(folder / META_FILE) if (folder / META_FILE).exists() else None
    analysis = {path: _text(folder, path) for path in ANALYSIS_FILES.values() if (folder / path).exists()}
    return RunData(folder.name, scores, summary, segments, manifest, agreement, human, meta, analysis=analysis)


def read_config(folder: Path, missing_ok: bool = False) -> dict:
    """The folder's config.yaml (the config as the run resolved it) as a mapping; a file that is not one is a
    one-line error. `missing_ok`: a folder without one (the app shows a folder copied without it) reads as {}."""
    path = folder / CONFIG_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as err:
        if missing_ok:
            return {}
        raise UserError(f"{path}: not found (not a complete results folder)") from err
    except (OSError, UnicodeDecodeError) as err:
        raise UserError(f"{path}: cannot read it ({err})") from err
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise UserError(f"{path}: not valid YAML ({err})") from err
    if not isinstance(data, dict):
        raise UserError(f"{path}: not a run's config (not a mapping)")
    return data


def read_segments(folder: Path) -> list[dict]:
    """segments.jsonl's records (`schema.SEGMENT_RECORD_KEYS`), a line that is not JSON named by its number."""
    return [
        _json(folder, f"{SEGMENTS_FILE}:{number}", line)
        for number, line in enumerate(_text(folder, SEGMENTS_FILE).splitlines(), 1)
        if line.strip()
    ]


def _text(folder: Path, name: str) -> str:
    try:
        return (folder / name).read_text(encoding="utf-8")
    except FileNotFoundError as err:
        raise UserError(f"{folder}: no {name} (not a complete results folder)") from err


def _json(folder: Path, where: str, text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as err:
        raise UserError(f"{folder / where}: not valid JSON ({err})") from err
