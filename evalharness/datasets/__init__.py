"""Dataset kinds: each turns its config section into a `Dataset` (sources + reference streams).

To add a kind, write a module with a config model (a `kind: Literal[...]` field) and a `load` function, and
register both below.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Union

from pydantic import Field

from evalharness.datasets import documents, hf, parallel, sacrebleu_set, tabular, wmtxml
from evalharness.datasets.base import Dataset, DatasetConfigBase
from evalharness.datasets.humanscores import load_judgments

LOADERS: dict[str, tuple[type, Callable]] = {
    "parallel": (parallel.ParallelConfig, parallel.load),
    "tsv": (tabular.TsvConfig, tabular.load_tsv),
    "jsonl": (tabular.JsonlConfig, tabular.load_jsonl),
    "wmt-xml": (wmtxml.WmtXmlConfig, wmtxml.load),
    "sacrebleu": (sacrebleu_set.SacrebleuConfig, sacrebleu_set.load),
    "documents": (documents.DocumentsConfig, documents.load_documents),
    "roundtrip": (documents.RoundtripConfig, documents.load_roundtrip),
    "hf": (hf.HfConfig, hf.load),
}

if TYPE_CHECKING:  # a type checker cannot follow the union built below: any kind's config
    DatasetConfig = DatasetConfigBase
else:
    # A Union of a tuple built at runtime: no `X | Y` spelling of it (ruff's UP007 fix would drop the Union).
    DatasetConfig = Annotated[
        Union[tuple(model for model, _ in LOADERS.values())], Field(discriminator="kind")  # noqa: UP007
    ]


def load_dataset(cfg) -> Dataset:
    """Load a dataset, cut it to `max_segments`, and attach its human system scores."""
    _, loader = LOADERS[cfg.kind]
    full = loader(cfg)
    dataset = full.head(cfg.max_segments)
    human = load_judgments(cfg, full.n_segments, dataset.n_segments)
    if human is not None:
        dataset.human_scores = human.systems
        dataset.human = human
    return dataset


__all__ = ["Dataset", "DatasetConfig", "LOADERS", "load_dataset"]
