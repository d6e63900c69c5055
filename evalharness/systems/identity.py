"""`identity`: the hypothesis is the source. The floor every real system must beat (and an off-target probe)."""

from __future__ import annotations

from typing import Literal

from evalharness.datasets.base import Dataset
from evalharness.systems.base import System, SystemConfigBase


class IdentityConfig(SystemConfigBase):
    engine: Literal["identity"]


class IdentitySystem(System):
    config_model = IdentityConfig
    copies_source = True

    def hypotheses(self, dataset: Dataset, ctx=None, stats=None) -> list[str]:
        return list(dataset.sources)

    def translate(self, texts: list[str], src_lang: str, tgt_lang: str, ctx=None, stats=None) -> list[str]:
        return list(texts)
