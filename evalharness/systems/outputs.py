"""`outputs`: precomputed hypotheses, from text files or from the <hyp system=...> of a WMT XML dataset.

`path` may hold placeholders: {dataset}, {langpair}, {src}, {tgt} are filled from the dataset, and {system}
discovers every file that matches, one system per file, named by what {system} matched.
"""

from __future__ import annotations

import glob
import re
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from evalharness.configtypes import PathPattern, check_one_line
from evalharness.datasets.base import Dataset
from evalharness.errors import UserError
from evalharness.systems.base import AFFECTS_OUTPUT, System, SystemConfigBase
from evalharness.textio import check_same_length, read_lines

PLACEHOLDER = re.compile(r"\{([a-z_]*)\}")
KNOWN = ("dataset", "langpair", "src", "tgt", "system")


class OutputsConfig(SystemConfigBase):
    engine: Literal["outputs"]
    # The hypotheses themselves (no translation cache: nothing is translated).
    path: PathPattern | None = Field(default=None, json_schema_extra={AFFECTS_OUTPUT: True})
    xml_system: str | None = Field(
        default=None,
        description='a system of a wmt-xml/sacrebleu dataset, or "*" for all of them',
        json_schema_extra={AFFECTS_OUTPUT: True},
    )

    @model_validator(mode="after")
    def _one_source(self):
        if (self.path is None) == (self.xml_system is None):
            raise ValueError(
                "give exactly one of 'path' (hypothesis files) or 'xml_system' (hypotheses in the dataset)"
            )
        if self.path is not None:
            for name in PLACEHOLDER.findall(self.path):
                if name not in KNOWN:
                    raise ValueError(
                        f"unknown placeholder {{{name}}} in path (known: {', '.join(f'{{{k}}}' for k in KNOWN)})"
                    )
        return self


def fill(pattern: str, dataset: Dataset) -> str:
    values = {
        "dataset": dataset.name,
        "langpair": dataset.langpair,
        "src": dataset.source_lang,
        "tgt": dataset.target_lang,
    }
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), pattern)


class OutputsSystem(System):
    config_model = OutputsConfig
    cfg: OutputsConfig

    @classmethod
    def expand(cls, cfg: SystemConfigBase, dataset: Dataset) -> list[System]:
        assert isinstance(cfg, OutputsConfig)  # the runner expands each entry with its own engine
        if cfg.xml_system is not None:
            if cfg.xml_system != "*":
                return [cls(cfg)]
            if not dataset.system_outputs:
                raise UserError(f"system {cfg.name}: dataset {dataset.name} has no system outputs (xml_system: '*')")
            return [
                cls(cfg.model_copy(update={"name": name, "xml_system": name}))
                for name in sorted(dataset.system_outputs)
            ]
        assert cfg.path is not None  # the config has exactly one of path and xml_system
        path = fill(cfg.path, dataset)
        if "{system}" not in path:
            return [cls(cfg.model_copy(update={"path": path}))]
        head, _, tail = path.partition("{system}")
        if "{system}" in tail:
            raise UserError(f"system {cfg.name}: path has {{system}} more than once: {cfg.path}")
        matches = sorted(glob.glob(glob.escape(head) + "*" + glob.escape(tail)))
        if not matches:
            raise UserError(f"system {cfg.name}: no file matches {path} for dataset {dataset.name}")
        systems: list[System] = []
        for match in matches:
            name = match[len(head) : len(match) - len(tail) if tail else None]
            if name and "/" not in name:
                check_one_line(name, f"system {cfg.name}: {match!r} names a system")
                systems.append(cls(cfg.model_copy(update={"name": name, "path": match})))
        return systems

    def hypotheses(self, dataset: Dataset, ctx=None, stats=None) -> list[str]:
        if self.cfg.xml_system is not None:
            if self.cfg.xml_system not in dataset.system_outputs:
                known = ", ".join(sorted(dataset.system_outputs)) or "none"
                raise UserError(
                    f"system {self.name}: dataset {dataset.name} has no outputs of system "
                    f"{self.cfg.xml_system!r} (it has: {known})"
                )
            return list(dataset.system_outputs[self.cfg.xml_system])
        assert self.cfg.path is not None  # the config has exactly one of path and xml_system
        path = Path(self.cfg.path)
        lines = read_lines(path)
        check_same_length(dataset.full_length or len(dataset), lines, path, f"dataset {dataset.name}")
        return lines[: len(dataset)]
