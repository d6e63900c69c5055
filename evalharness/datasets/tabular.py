"""`tsv` and `jsonl`: one segment per row, source and references in named columns or fields."""

from __future__ import annotations

import csv
import json
from typing import Literal

from pydantic import Field

from evalharness.configtypes import InputFile, LangPair, split_langpair
from evalharness.datasets.base import Dataset, DatasetConfigBase
from evalharness.errors import UserError
from evalharness.textio import read_text, split_lines


class TsvConfig(DatasetConfigBase):
    kind: Literal["tsv"]
    langpair: LangPair
    path: InputFile
    source_column: str | int = Field(description="header name, or 0-based index when header is false")
    reference_columns: list[str | int] = Field(min_length=1)
    doc_id_column: str | int | None = None
    header: bool = True


class JsonlConfig(DatasetConfigBase):
    kind: Literal["jsonl"]
    langpair: LangPair
    path: InputFile
    source_field: str
    reference_fields: list[str] = Field(min_length=1)
    doc_id_field: str | None = None


def _column_index(column: str | int, header: list[str] | None, path, key: str) -> int:
    if isinstance(column, int) and column < 0:  # Python would count -1 from the end: a column nobody meant
        raise UserError(f"{path}: {key} {column}: a column index counts from 0 (the first column)")
    if header is None:
        if not isinstance(column, int):
            raise UserError(f"{path}: {key} {column!r} must be a 0-based column index when header is false")
        return column
    if isinstance(column, int):
        return column
    if column not in header:
        raise UserError(f"{path}:1: no column {column!r} for {key} (columns: {', '.join(header)})")
    return header.index(column)


def load_tsv(cfg: TsvConfig) -> Dataset:
    rows = list(csv.reader(split_lines(read_text(cfg.path)), delimiter="\t", quoting=csv.QUOTE_NONE))
    header = rows.pop(0) if cfg.header else None
    first_line = 2 if cfg.header else 1
    if not rows:
        raise UserError(f"{cfg.path}: no data rows")
    src_i = _column_index(cfg.source_column, header, cfg.path, "source_column")
    ref_is = [_column_index(c, header, cfg.path, "reference_columns") for c in cfg.reference_columns]
    doc_i = (
        _column_index(cfg.doc_id_column, header, cfg.path, "doc_id_column") if cfg.doc_id_column is not None else None
    )
    needed = max([src_i, *ref_is] + ([doc_i] if doc_i is not None else []))
    # Every row has the header's columns (the first row's without a header): a tab inside a segment's text adds
    # one, and the row's source or reference would silently be the wrong part of it.
    width, where = (len(header), "the header (line 1)") if header is not None else (len(rows[0]), "line 1")
    for n, row in enumerate(rows, first_line):
        if len(row) <= needed:
            raise UserError(f"{cfg.path}:{n}: has {len(row)} columns, expected at least {needed + 1}")
        if len(row) != width:
            raise UserError(
                f"{cfg.path}:{n}: has {len(row)} columns, {where} has {width} (a tab inside a segment's text?)"
            )
    sources = [row[src_i] for row in rows]
    refs = [[row[i] for row in rows] for i in ref_is]
    doc_ids = [row[doc_i] for row in rows] if doc_i is not None else None
    src, tgt = split_langpair(cfg.langpair)
    return Dataset(cfg.name, src, tgt, sources, refs, [str(c) for c in cfg.reference_columns], doc_ids)


def load_jsonl(cfg: JsonlConfig) -> Dataset:
    records = []
    for n, line in enumerate(split_lines(read_text(cfg.path)), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise UserError(f"{cfg.path}:{n}: invalid JSON ({err.msg})") from err
        except RecursionError as err:
            raise UserError(f"{cfg.path}:{n}: the JSON nests too deeply to read") from err
        if not isinstance(record, dict):
            raise UserError(f"{cfg.path}:{n}: expected a JSON object per line")
        wanted = [cfg.source_field, *cfg.reference_fields] + ([cfg.doc_id_field] if cfg.doc_id_field else [])
        for key in wanted:
            if key not in record:
                raise UserError(f"{cfg.path}:{n}: no field {key!r}")
            if not isinstance(record[key], str):
                raise UserError(f"{cfg.path}:{n}: field {key!r} is {type(record[key]).__name__}, expected a string")
        records.append(record)
    sources = [r[cfg.source_field] for r in records]
    refs = [[r[f] for r in records] for f in cfg.reference_fields]
    doc_ids = [r[cfg.doc_id_field] for r in records] if cfg.doc_id_field else None
    src, tgt = split_langpair(cfg.langpair)
    return Dataset(cfg.name, src, tgt, sources, refs, list(cfg.reference_fields), doc_ids)
