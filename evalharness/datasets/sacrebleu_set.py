"""`sacrebleu`: a named test set (e.g. wmt22 de-en) fetched through sacrebleu's own downloader and cache."""

from __future__ import annotations

import difflib
import urllib.error
from typing import Literal

from pydantic import Field

from evalharness.configtypes import LangPair, split_langpair
from evalharness.datasets.base import Dataset, DatasetConfigBase
from evalharness.datasets.wmtxml import from_fields
from evalharness.errors import UserError
from evalharness.metrics import sacrebleu_adapter as sb
from evalharness.textio import read_lines


class SacrebleuConfig(DatasetConfigBase):
    kind: Literal["sacrebleu"]
    test_set: str
    langpair: LangPair
    references: list[str] | None = Field(default=None, description="translator ids (e.g. [A, B]); default: all")


def load(cfg: SacrebleuConfig) -> Dataset:
    sb.ensure_supported()
    from sacrebleu.dataset import DATASETS

    if cfg.test_set not in DATASETS:
        close = difflib.get_close_matches(cfg.test_set, list(DATASETS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UserError(f"dataset {cfg.name}: sacrebleu has no test set {cfg.test_set!r}{hint}")
    ds = DATASETS[cfg.test_set]
    if cfg.langpair not in ds.langpairs:
        raise UserError(
            f"dataset {cfg.name}: sacrebleu test set {cfg.test_set} has no {cfg.langpair} "
            f"(it has: {', '.join(sorted(ds.langpairs))})"
        )
    try:
        ds.process_to_text(cfg.langpair)
    except (urllib.error.URLError, OSError, SystemExit) as err:
        url = ds.data[0] if ds.data else "?"
        tarball = sb.tarball_path(ds, url)
        reason = getattr(err, "reason", None) or err
        raise UserError(
            f"dataset {cfg.name}: sacrebleu test set {cfg.test_set} {cfg.langpair} is not in sacrebleu's cache and "
            f"could not be downloaded ({reason}); offline, download {url} elsewhere, put it at {tarball} and "
            f"extract it in {sb.raw_dir(ds)} (or set SACREBLEU to a folder laid out that way)"
        ) from err
    names = ds.fieldnames(cfg.langpair)
    files = ds.get_files(cfg.langpair)
    fields = {name: read_lines(path) for name, path in zip(names, files, strict=True)}
    src, tgt = split_langpair(cfg.langpair)
    return from_fields(cfg.name, fields, src, tgt, cfg.references, f"sacrebleu:{cfg.test_set}/{cfg.langpair}")
