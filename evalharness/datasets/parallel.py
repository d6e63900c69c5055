"""`parallel`: plain text, one segment per line, one source file and one or more reference files."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from evalharness.configtypes import InputFile, LangPair, split_langpair
from evalharness.datasets.base import Dataset, DatasetConfigBase
from evalharness.errors import UserError
from evalharness.textio import check_same_length, read_lines


class ParallelConfig(DatasetConfigBase):
    kind: Literal["parallel"]
    langpair: LangPair
    source: InputFile
    references: list[InputFile] = Field(min_length=1)
    reference_names: list[str] | None = Field(default=None, description="defaults to the file names")


def load(cfg: ParallelConfig) -> Dataset:
    sources = read_lines(cfg.source)
    streams = []
    for path in cfg.references:
        lines = read_lines(path)
        check_same_length(len(sources), lines, path, f"source {cfg.source}")
        streams.append(lines)
    names = cfg.reference_names or [path.name for path in cfg.references]
    if len(names) != len(streams):
        raise UserError(f"dataset {cfg.name}: reference_names has {len(names)} names for {len(streams)} references")
    src, tgt = split_langpair(cfg.langpair)
    return Dataset(cfg.name, src, tgt, sources, streams, names)
