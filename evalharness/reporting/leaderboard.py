"""A leaderboard across finished runs: load each run's scores.csv, check that the runs' scores are comparable,
merge them into one table.

Two scores are comparable only when they were computed the same way on the same data: the same sacrebleu
signature (tokenizer, smoothing, version, ...), the same references, segments and language pair. Merging runs
that differ in any of these would put incomparable numbers in one column, so it is refused with one line that
says what differs. Within-run statistics (p-values, significance, ranks) are relative to each run's own baseline
and systems, so the merged summary leaves them out.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from evalharness.errors import UserError
from evalharness.reporting.tables import directions_of, few_segments_notes, pick_datasets, signature_notes
from evalharness.results import REQUIRED, read_scores, summary_frame, sweep_columns

# What must agree, for a dataset x level x metric that several runs scored.
COMPARED = ["signature", "references", "n_segments", "langpair"]
# Relative to each run's baseline and system set: meaningless across runs.
WITHIN_RUN = [
    "p_value",
    "significant",
    "significantly_worse",
    "delta",
    "delta_ci_low",
    "delta_ci_high",
    "human_agreement",
    "baseline",
    "rank",
    "rank_low",
    "rank_high",
]
# Levels whose segments are chosen per system (the round-trip segments whose pivot is on target), so their
# n_segments differ between systems even within one run and say nothing about the test set.
PER_SYSTEM_LEVELS = {"segment, pivot on target"}
WITHIN_RUN_NOTE = (
    "p-values, significance, deltas, the baseline and ranks are left out: each run tests against its own baseline "
    "and systems, so they do not compare across runs"
)


# Content hashes of each dataset's texts in manifest.json (runs made before they were recorded have none).
TEXT_DIGESTS = {"sources_sha256": "source texts", "references_sha256": "reference texts"}


@dataclass
class Run:
    name: str
    folder: Path  # as given on the command line, for messages
    scores: pd.DataFrame
    datasets: dict[str, dict] = field(default_factory=dict)  # manifest.json's datasets, when there is one


def load_scores(folder: Path, required: set[str] = REQUIRED) -> tuple[pd.DataFrame, dict]:
    """A run's tidy scores.csv and its manifest, with one-line errors for a folder that is not a run's results
    or is not whole (`check_whole`)."""
    if not (folder / "scores.csv").exists():  # before the manifest: a folder that is no run's at all
        raise UserError(f"{folder}: no scores.csv (is this a run's results folder?)")
    return read_scores(folder, required)


def load_runs(folders: list[Path]) -> list[Run]:
    """One Run per folder, named by the folder's name (by the path as given where two names collide)."""
    seen: dict[Path, Path] = {}
    for folder in folders:
        real = folder.resolve()
        if real in seen:
            same = f"{seen[real]}" if str(seen[real]) == str(folder) else f"{seen[real]} and {folder}"
            raise UserError(f"{same}: the same run folder is given twice")
        seen[real] = folder
    names = [os.path.basename(os.path.abspath(folder)) for folder in folders]
    required = REQUIRED | (set(COMPARED) if len(folders) > 1 else set())
    runs = []
    for name, folder in zip(names, folders, strict=True):
        scores, manifest = load_scores(folder, required)
        datasets = manifest.get("datasets") if len(folders) > 1 else None
        datasets = datasets if isinstance(datasets, dict) else {}
        runs.append(Run(str(folder) if names.count(name) > 1 else name, folder, scores, datasets))
    return runs


def signature_difference(a: str, b: str) -> str:
    """Only the `key:value` fields of two sacrebleu signatures that differ, e.g. 'tok:13a vs tok:intl'."""
    fields_a, fields_b = (dict(part.partition(":")[::2] for part in sig.split("|") if part) for sig in (a, b))
    keys = [k for k in dict.fromkeys([*fields_a, *fields_b]) if fields_a.get(k) != fields_b.get(k)]
    side = lambda fields: "|".join(f"{k}:{fields[k]}" for k in keys if k in fields) or "(none)"  # noqa: E731
    return f"{side(fields_a)} vs {side(fields_b)}"


def _values(scores: pd.DataFrame, column: str) -> list:
    """The distinct values of a column, without empty cells (a score that could not be computed has no signature)."""
    values = scores[column].dropna()
    return sorted(set(values[values.astype(str) != ""]), key=str)


def check_same_texts(runs: list[Run]) -> None:
    """Refuse datasets of the same name whose source or reference texts differ (file names alone can agree)."""
    first: dict[str, Run] = {}
    for run in runs:
        for dataset, entry in run.datasets.items():
            other = first.setdefault(dataset, run)
            for key, what in TEXT_DIGESTS.items():
                a, b = other.datasets[dataset].get(key), entry.get(key)
                if a and b and a != b:
                    raise UserError(
                        f"{other.folder} and {run.folder} are not comparable: dataset {dataset}: "
                        f"different {what} (same names, other contents)"
                    )


def check_comparable(runs: list[Run]) -> None:
    """Refuse, in one line naming both folders, the first dataset x level x metric two runs scored differently,
    then datasets whose texts differ under the same names."""
    first: dict[tuple, tuple[Run, pd.DataFrame]] = {}
    for run in runs:
        for key, rows in run.scores.groupby(["dataset", "level", "metric"], sort=False, dropna=False):
            if key not in first:
                first[key] = (run, rows)
                continue
            other, other_rows = first[key]
            for column in COMPARED:
                if column == "n_segments" and key[1] in PER_SYSTEM_LEVELS:
                    continue
                a, b = _values(other_rows, column), _values(rows, column)
                if a == b or not a or not b:  # no values: nothing was scored there
                    continue
                if column == "signature" and len(a) == len(b) == 1:
                    what = signature_difference(a[0], b[0])
                else:
                    what = f"{', '.join(map(str, a))} vs {', '.join(map(str, b))}"
                dataset, level, metric = key
                raise UserError(
                    f"{other.folder} and {run.folder} are not comparable: dataset {dataset}, level "
                    f"{level}, metric {metric}: different {column} ({what})"
                )
    check_same_texts(runs)


def _with_run(frames: list[pd.DataFrame], runs: list[Run]) -> list[pd.DataFrame]:
    return [frame.assign(run=run.name)[["run", *frame.columns]] for frame, run in zip(frames, runs, strict=True)]


def _union(frames: list[pd.DataFrame]) -> list[str]:
    """The columns of several tables in first-seen order, each run's sweep settings before `level`."""
    sweeps = list(dict.fromkeys(c for f in frames for c in sweep_columns(f)))
    rest = list(dict.fromkeys(c for f in frames for c in f.columns if c not in sweeps))
    at = rest.index("level")
    return rest[:at] + sweeps + rest[at:]


def merged_tidy(runs: list[Run]) -> pd.DataFrame:
    """The runs' tidy tables one after the other, with a `run` column; sweep settings a run lacks stay empty."""
    frames = _with_run([run.scores for run in runs], runs)
    return pd.concat([f.reindex(columns=_union(frames)) for f in frames], ignore_index=True)


def merged_summary(runs: list[Run], directions: dict[str, bool]) -> pd.DataFrame:
    """One row per run x dataset x system x settings x level, best first by the first metric of each dataset and
    level; no within-run statistics."""
    summaries = [summary_frame(run.scores.drop(columns=WITHIN_RUN, errors="ignore")) for run in runs]
    frames = _with_run(summaries, runs)
    columns = _union(frames)
    metrics = list(dict.fromkeys(m for run in runs for m in run.scores["metric"]))
    # As in a run's summary: the keys, each metric with its CI, the per-cell columns.
    ordered = columns[: columns.index("level") + 1]
    ordered += [c for m in metrics for c in (m, f"{m} ci_low", f"{m} ci_high") if c in columns]
    ordered += [c for c in columns if c not in ordered]
    merged = pd.concat([f.reindex(columns=ordered) for f in frames], ignore_index=True)
    parts = []
    for _, group in merged.groupby(["dataset", "level"], sort=False, dropna=False):
        metric = next((m for m in metrics if group[m].notna().any()), None)
        if metric is not None:  # an invalid cell (round trip off the pivot language) is never on top
            invalid = group["valid"].astype(str) == "False" if "valid" in group else False
            group = (
                group.assign(_invalid=invalid)
                .sort_values(["_invalid", metric], ascending=[True, not directions[metric]], na_position="last")
                .drop(columns="_invalid")
            )
        parts.append(group)
    return pd.concat(parts, ignore_index=True)


def table(
    folders: list[Path], tidy: bool = False, datasets: list[str] | None = None
) -> tuple[pd.DataFrame, list[str], dict[str, bool] | None]:
    """The frame, notes and directions (for bold best) to render; one folder gives that run's own table.
    `datasets`: names or globs of the datasets to keep (`--datasets`), before the runs are compared."""
    runs = load_runs(folders)
    if datasets:
        every = pd.concat([run.scores[["dataset"]] for run in runs], ignore_index=True)
        kept = set(pick_datasets(every, datasets)["dataset"].astype(str))
        for run in runs:
            run.scores = run.scores[run.scores["dataset"].astype(str).isin(kept)].reset_index(drop=True)
    if len(runs) == 1:
        scores = runs[0].scores
        if tidy:
            return scores, signature_notes(scores) + few_segments_notes(scores), None
        return summary_frame(scores), signature_notes(scores) + few_segments_notes(scores), directions_of(scores)
    check_comparable(runs)
    scores = merged_tidy(runs)
    notes = signature_notes(scores)
    if tidy:
        return scores, notes, None
    directions = directions_of(scores)
    notes += ["bold: best per dataset and level across runs", WITHIN_RUN_NOTE]
    return merged_summary(runs, directions), notes, directions
