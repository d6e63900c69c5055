"""`hf`: a test set in a Hugging Face `datasets` format, read through `datasets` (the extra `hf`).

`path` is a folder written by `save_to_disk`, a Parquet / Arrow / JSON-lines / CSV file (or a folder of them,
`data_files` picking some), or a hub id (`openlanguagedata/flores_plus`, `google/wmt24pp`) read from the local
Hugging Face hub cache only: an evaluation never downloads a test set behind the user's back, and a missing one is
one line naming the command that fetches it. Columns are named with the `tsv` kind's keys (`source_column`,
`reference_columns`, `doc_id_column`), or come from a ready `shape`:

- `flores`: FLORES-200 / FLORES+ with one column per language (`sentence_deu_Latn`, the FLORES-200 codes of
  `langcodes`), or FLORES+'s long layout (one row per language and sentence: `iso_639_3`, `iso_15924`, `text`,
  `id`), the two languages joined on `id`;
- `wmt24pp`: WMT24++ (`source`, `target`, `document_id`, `lp` such as `en-de_DE`), without the rows its authors
  flag `is_bad_source` unless `keep_bad_sources`.

`lp` keeps the rows whose `lp_column` says that language pair (WMT24++ puts every pair in one table). The caches
see the texts themselves (the translation cache keys each source, the score cache the references and
hypotheses), so an edited dataset is never served another's scores; the files read and their sha256 are recorded
in the results folder (`hf/<name>.json`), and the manifest has the texts' hashes as for every kind.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from evalharness.configtypes import LangPair, ModelRef, split_langpair
from evalharness.datasets.base import Dataset, DatasetConfigBase
from evalharness.errors import UserError
from evalharness.fileid import file_sha256
from evalharness.langcodes import nllb

# Builders of `datasets` by file suffix (a single file given as `path`).
BUILDERS = {".parquet": "parquet", ".arrow": "arrow", ".jsonl": "json", ".json": "json", ".csv": "csv"}
SHAPES = ("flores", "wmt24pp")


class HfConfig(DatasetConfigBase):
    kind: Literal["hf"]
    langpair: LangPair
    path: ModelRef = Field(description="a save_to_disk folder, a data file or folder, or a hub id in the local cache")
    subset: str | None = Field(default=None, description="the hub dataset's configuration (load_dataset's `name`)")
    split: str | None = Field(default=None, description="which split; may be left out when there is one")
    data_files: str | list[str] | dict[str, str | list[str]] | None = Field(
        default=None, description="file patterns inside `path` (load_dataset's `data_files`)"
    )
    revision: str | None = Field(default=None, description="a hub dataset's revision (branch, tag or commit)")
    shape: Literal["flores", "wmt24pp"] | None = Field(default=None, description="ready column names")
    source_column: str | None = None
    reference_columns: list[str] | None = Field(default=None, min_length=1)
    doc_id_column: str | None = None
    lp: str | None = Field(default=None, description="keep the rows whose lp_column equals this (en-de_DE)")
    lp_column: str = "lp"
    keep_bad_sources: bool = Field(default=False, description="wmt24pp: keep the rows flagged is_bad_source")

    @model_validator(mode="after")
    def _columns_or_shape(self):
        if self.shape is None and (self.source_column is None or self.reference_columns is None):
            raise ValueError("give source_column and reference_columns, or a shape (flores, wmt24pp)")
        if self.keep_bad_sources and self.shape != "wmt24pp":
            raise ValueError("keep_bad_sources is for shape: wmt24pp")
        return self


def _import_datasets():
    try:
        import datasets  # type: ignore[import-untyped]
    except ImportError as err:
        raise UserError("kind: hf needs the datasets package: pip install 'evalharness[hf]'") from err
    datasets.disable_progress_bars()  # the run has its own progress display
    return datasets


def _cache_dir() -> str:
    """Where `datasets` converts local data files to Arrow: evalharness' cache, not the user's hub cache."""
    from evalharness.cache import default_cache_dir

    return str(default_cache_dir() / "hf-datasets")


def download_hint(cfg: HfConfig) -> str:
    subset = f", {cfg.subset!r}" if cfg.subset else ""
    return (
        f'hf download {cfg.path} --repo-type dataset (or: python -c "import datasets; '
        f"datasets.load_dataset('{cfg.path}'{subset})\"; `hf auth login` first for a gated dataset)"
    )


def _hub_snapshot(cfg: HfConfig) -> Path:
    """The hub dataset's folder in the local hub cache (never the network)."""
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(cfg.path, repo_type="dataset", revision=cfg.revision, local_files_only=True))
    except Exception as err:  # not cached, a bad id, a revision not cached: all say the same thing
        raise UserError(
            f"dataset {cfg.name}: path {cfg.path!r} is neither a local file or folder nor a dataset in the local "
            f"Hugging Face cache; download it with: {download_hint(cfg)}"
        ) from err


def _open(cfg: HfConfig) -> tuple[Any, list[Path], str | None]:
    """The loaded table or tables (a `datasets.Dataset` or `DatasetDict`), the local files they were read from,
    and a hub dataset's commit (the snapshot folder's name; None for local data, whose files say what it is)."""
    datasets = _import_datasets()
    path = Path(cfg.path)
    if not path.exists():
        snapshot = _hub_snapshot(cfg)
        return _load(cfg, datasets, str(snapshot), cfg.subset, data_files=cfg.data_files), [], snapshot.name
    if path.is_dir() and ((path / "state.json").exists() or (path / "dataset_dict.json").exists()):
        if cfg.data_files is not None or cfg.subset is not None:
            raise UserError(f"dataset {cfg.name}: {path} is a save_to_disk folder: data_files and subset do not apply")
        return datasets.load_from_disk(str(path)), sorted(path.rglob("*.arrow")), None
    if path.is_file():
        if cfg.data_files is not None:
            raise UserError(f"dataset {cfg.name}: data_files picks files inside a folder, and path {path} is a file")
        builder = BUILDERS.get(path.suffix.lower())
        if builder is None:
            raise UserError(
                f"dataset {cfg.name}: path {path}: expected a save_to_disk folder or a "
                f"{', '.join(BUILDERS)} file, not {path.suffix or 'a file without a suffix'}"
            )
        return _load(cfg, datasets, builder, data_files=str(path)), [path], None
    return _load(cfg, datasets, str(path), cfg.subset, data_files=cfg.data_files), _data_files(cfg, path), None


def _load(cfg: HfConfig, datasets, *args, **kwargs):
    """`datasets.load_dataset` into evalharness' cache; what it cannot read is one line naming the path."""
    try:
        return datasets.load_dataset(*args, cache_dir=_cache_dir(), **kwargs)
    except (FileNotFoundError, ValueError, datasets.exceptions.DatasetGenerationError) as err:
        # no data files, no such subset: datasets says which; a malformed file: the parser under it says where
        cause = err.__cause__ if isinstance(err, datasets.exceptions.DatasetGenerationError) and err.__cause__ else err
        first = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
        raise UserError(f"dataset {cfg.name}: path {cfg.path}: {first}") from err


def _data_files(cfg: HfConfig, folder: Path) -> list[Path]:
    """The data files of a folder that `datasets` reads (those `data_files` names, else every one)."""
    found = [p for p in folder.rglob("*") if p.suffix.lower() in BUILDERS and ".cache" not in p.parts]
    if cfg.data_files is None:
        return sorted(found)
    patterns = cfg.data_files.values() if isinstance(cfg.data_files, dict) else [cfg.data_files]
    flat = [p for group in patterns for p in ([group] if isinstance(group, str) else group)]
    return sorted(p for p in found if any(p.relative_to(folder).match(pattern) for pattern in flat))


def _pick_split(cfg: HfConfig, loaded) -> Any:
    """One split: the one asked for, or the only one there is."""
    if not hasattr(loaded, "keys"):  # a single table (save_to_disk of a Dataset)
        if cfg.split is not None:
            raise UserError(f"dataset {cfg.name}: split {cfg.split!r}: {cfg.path} holds one table without splits")
        return loaded
    splits = list(loaded.keys())
    if cfg.split is None:
        if len(splits) != 1:
            raise UserError(f"dataset {cfg.name}: split: {cfg.path} has several splits, pick one ({', '.join(splits)})")
        return loaded[splits[0]]
    if cfg.split not in splits:
        raise UserError(f"dataset {cfg.name}: split {cfg.split!r} not in {cfg.path} (splits: {', '.join(splits)})")
    return loaded[cfg.split]


def _column(cfg: HfConfig, table, column: str, key: str) -> list[str]:
    """A column's values as strings; a missing column or a value that is not text is one line naming `key`."""
    if column not in table.column_names:
        raise UserError(
            f"dataset {cfg.name}: {key} {column!r} is not a column of {cfg.path} "
            f"(columns: {', '.join(table.column_names)})"
        )
    values = table[column]
    for row, value in enumerate(values):
        if not isinstance(value, str):
            raise UserError(
                f"dataset {cfg.name}: {key} {column!r}, row {row}: {type(value).__name__}, expected a string"
            )
    return list(values)


def _keep_rows(cfg: HfConfig, table, src: str, tgt: str):
    """The rows of the language pair (`lp`, or WMT24++'s `en-de_DE` for `en-de`) and, for WMT24++, without the
    sources its authors flag as bad."""
    lp = cfg.lp
    if lp is None and cfg.shape == "wmt24pp" and cfg.lp_column in table.column_names:
        found = sorted({v for v in table[cfg.lp_column] if v == f"{src}-{tgt}" or str(v).startswith(f"{src}-{tgt}_")})
        if len(found) > 1:
            raise UserError(
                f"dataset {cfg.name}: lp: {cfg.path} has several {src}-{tgt} pairs, pick one ({', '.join(found)})"
            )
        lp = found[0] if found else f"{src}-{tgt}"
    if lp is not None:
        pairs = _column(cfg, table, cfg.lp_column, "lp_column")
        keep = [i for i, value in enumerate(pairs) if value == lp]
        if not keep:
            raise UserError(
                f"dataset {cfg.name}: lp {lp!r}: no row of {cfg.path} has it in column {cfg.lp_column!r} "
                f"(it has: {', '.join(sorted(set(pairs))[:20])})"
            )
        table = table.select(keep)
    if cfg.shape == "wmt24pp" and not cfg.keep_bad_sources and "is_bad_source" in table.column_names:
        table = table.select([i for i, bad in enumerate(table["is_bad_source"]) if not bad])
    return table


def _flores_long(cfg: HfConfig, table, src: str, tgt: str) -> tuple[list[str], list[str]]:
    """FLORES+'s long layout: the rows of each language, joined on `id`."""
    for column in ("iso_639_3", "iso_15924", "text", "id"):
        if column not in table.column_names:
            raise UserError(
                f"dataset {cfg.name}: shape flores: no column {column!r} in {cfg.path} and no "
                f"sentence_{nllb(src)} column either (columns: {', '.join(table.column_names)})"
            )
    by_lang: dict[str, dict[Any, str]] = {}
    for lang, script, text, row_id in zip(
        table["iso_639_3"], table["iso_15924"], table["text"], table["id"], strict=True
    ):
        by_lang.setdefault(f"{lang}_{script}", {})[row_id] = text
    sides = []
    for code in (nllb(src), nllb(tgt)):
        if code not in by_lang:
            raise UserError(
                f"dataset {cfg.name}: langpair {cfg.langpair}: no {code} rows in {cfg.path} "
                f"(it has: {', '.join(sorted(by_lang)[:20])})"
            )
        sides.append(by_lang[code])
    ids = [i for i in sides[0] if i in sides[1]]
    if not ids:
        raise UserError(f"dataset {cfg.name}: no `id` has both a {nllb(src)} and a {nllb(tgt)} sentence")
    return [sides[0][i] for i in ids], [sides[1][i] for i in ids]


def _texts(cfg: HfConfig, table, src: str, tgt: str) -> tuple[list[str], list[list[str]], list[str], list | None]:
    """(sources, reference streams, reference names, document ids) from the named columns or the shape."""
    source_column, reference_columns, doc_column = cfg.source_column, cfg.reference_columns, cfg.doc_id_column
    if cfg.shape == "flores" and source_column is None:
        wide = f"sentence_{nllb(src)}"
        if wide not in table.column_names:
            sources, targets = _flores_long(cfg, table, src, tgt)
            return sources, [targets], [nllb(tgt)], None
        source_column = wide
    if cfg.shape == "flores" and reference_columns is None:
        reference_columns = [f"sentence_{nllb(tgt)}"]
    if cfg.shape == "wmt24pp":
        source_column = source_column or "source"
        reference_columns = reference_columns or ["target"]
        doc_column = doc_column or ("document_id" if "document_id" in table.column_names else None)
    assert source_column is not None and reference_columns is not None  # the config's validator
    sources = _column(cfg, table, source_column, "source_column")
    references = [_column(cfg, table, c, "reference_columns") for c in reference_columns]
    doc_ids = _column(cfg, table, doc_column, "doc_id_column") if doc_column is not None else None
    return sources, references, list(reference_columns), doc_ids


def _file_key(cfg: HfConfig, file: Path) -> str:
    """A file's path inside the dataset's folder (splits' files share names), or its name for a file path."""
    folder = Path(cfg.path)
    return file.relative_to(folder).as_posix() if folder.is_dir() else file.name


def record(cfg: HfConfig, table, files: list[Path], rows_read: int, commit: str | None) -> str:
    """hf/<name>.json: where the test set came from, for the results folder."""
    entry = {
        "commit": commit,
        "path": Path(cfg.path).name if Path(cfg.path).exists() else str(cfg.path),  # no machine paths
        "subset": cfg.subset,
        "split": cfg.split,
        "revision": cfg.revision,
        "rows_read": rows_read,
        "rows_selected": len(table),
        "files_sha256": {_file_key(cfg, f): file_sha256(f) for f in files if f.is_file()},
    }
    return json.dumps(entry, indent=2, sort_keys=True) + "\n"


def load(cfg: HfConfig) -> Dataset:
    src, tgt = split_langpair(cfg.langpair)
    loaded, files, commit = _open(cfg)
    table = _pick_split(cfg, loaded)
    rows_read = len(table)
    table = _keep_rows(cfg, table, src, tgt)
    if len(table) == 0:
        raise UserError(f"dataset {cfg.name}: no rows left in {cfg.path} (split {cfg.split or 'the only one'})")
    sources, references, names, doc_ids = _texts(cfg, table, src, tgt)
    dataset = Dataset(cfg.name, src, tgt, sources, references, names, doc_ids)
    dataset.artifacts[f"hf/{cfg.name}.json"] = record(cfg, table, files, rows_read, commit)
    return dataset
