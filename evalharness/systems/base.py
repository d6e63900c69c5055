"""What every system engine provides: a config model and hypotheses for a dataset.

An engine class is registered in `evalharness.systems.ENGINES`; the runner only calls `expand` and
`hypotheses`, so new engines (model-based translation) plug in without touching the runner.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar, get_args

from pydantic import BaseModel, Field
from pydantic.fields import FieldInfo

from evalharness.configtypes import Name, Strict
from evalharness.datasets.base import Dataset
from evalharness.systems.context import CellStats, RunContext

# Fields of a system config that describe the entry rather than a setting a sweep could vary.
IDENTITY_FIELDS = frozenset({"name", "engine", "datasets", "resources", "replicas", "floor"})

# Whether a config field can change a system's outputs, declared on the field itself as
# `json_schema_extra={"affects_output": ...}`, and with it whether the field is in the translation cache's key:
#   True: in the key (the model, a decoding setting, the prompt);
#   False: never (speed, where and how it runs, how results show it): changing it keeps the cached translations;
#   "when sampling": only when do_sample is true (a sampled draw depends on the batch; greedy outputs do not);
#   "when set": only at a value other than its default (a field added after translations were cached, whose
#   default is the old behaviour: the caches made before it stay valid).
# Every field of an engine's config declares it (tests/test_fingerprint.py checks); `engine` itself, the
# discriminator of the union of configs, is always in the key.
AFFECTS_OUTPUT = "affects_output"
WHEN_SAMPLING = "when sampling"
WHEN_SET = "when set"
AFFECTS_OUTPUT_VALUES = (True, False, WHEN_SAMPLING, WHEN_SET)


def affects_output(field: FieldInfo) -> bool | str:
    """A field's declared `affects_output`; a field that declares nothing is in the key (a forgotten marker costs a
    retranslation, never a wrong cached output)."""
    extra = field.json_schema_extra
    return extra.get(AFFECTS_OUTPUT, True) if isinstance(extra, dict) else True  # type: ignore[return-value]


def undeclared_fields(model: type[BaseModel]) -> list[str]:
    """The fields of an engine's config that do not say whether they change its outputs (or say it with a value
    other than AFFECTS_OUTPUT_VALUES): each would enter the translation cache's key unasked."""
    bad = []
    for name, info in model.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        if name != "engine" and extra.get(AFFECTS_OUTPUT, "undeclared") not in AFFECTS_OUTPUT_VALUES:
            bad.append(name)
    return bad


class Resources(Strict):
    """What one actor of a system asks Ray's scheduler for (the `ray` executor; the local one ignores it)."""

    num_cpus: float = Field(default=1, ge=0)
    num_gpus: float = Field(default=0, ge=0)
    memory: int | None = Field(strict=True, default=None, ge=1, description="bytes")


class SystemConfigBase(Strict):
    """What every system entry has: how the run names it, where it runs and how the report shows it; none of it
    changes its outputs."""

    name: Name = Field(json_schema_extra={AFFECTS_OUTPUT: False})
    datasets: list[str] | None = Field(
        default=None,
        description="only these datasets (by name); default: all",
        json_schema_extra={AFFECTS_OUTPUT: False},
    )
    # A floor (a trivial system every real one must beat, e.g. a word-for-word lookup): the report marks it and
    # leaves it out of "segments where systems differ most". The identity engine is always one.
    floor: bool = Field(strict=True, default=False, json_schema_extra={AFFECTS_OUTPUT: False})
    resources: Resources | None = Field(
        default=None,
        description="ray executor: per actor (default: 1 CPU)",
        json_schema_extra={AFFECTS_OUTPUT: False},
    )
    replicas: int | None = Field(
        strict=True,
        default=None,
        ge=1,
        description="ray executor: actors (default: as many as resources allow)",
        json_schema_extra={AFFECTS_OUTPUT: False},
    )
    if TYPE_CHECKING:
        # Every engine's config declares it, as the Literal of its engine name (the discriminator of the union).
        engine: str


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    """The settings model a field holds (`PromptConfig`, also as `PromptConfig | None`), else None."""
    for kind in (annotation, *get_args(annotation)):
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            return kind
    return None


def setting_paths(model: type[BaseModel], field: str) -> frozenset[str]:
    """The dotted paths below `field` of `model` (`n_shots`, `stop`, ... of `prompt`), as far as settings models
    nest; empty for a plain value."""
    inner = _nested_model(model.model_fields[field].annotation)
    if inner is None:
        return frozenset()
    paths = set(inner.model_fields)
    for name in inner.model_fields:
        paths |= {f"{name}.{deeper}" for deeper in setting_paths(inner, name)}
    return frozenset(paths)


class System(ABC):
    """One configured system, ready to produce hypotheses."""

    config_model: ClassVar[type[SystemConfigBase]]
    # A floor, not an MT system (the identity engine copies the source): left out of agreement with humans.
    copies_source: ClassVar[bool] = False

    def __init__(self, cfg: SystemConfigBase):
        self.cfg = cfg

    @property
    def name(self) -> str:
        return self.cfg.name

    @property
    def is_floor(self) -> bool:
        """A floor, not an MT system: the identity engine, or a system marked `floor: true` in its config."""
        return self.copies_source or self.cfg.floor

    @classmethod
    def settings(cls) -> frozenset[str]:
        """Config fields that a `sweep` may vary for this engine."""
        return frozenset(cls.config_model.model_fields) - IDENTITY_FIELDS

    @classmethod
    def has_setting(cls, key: str) -> bool:
        """Whether a sweep key names a setting of this engine: a field (`temperature`) or, dotted, a field of a
        field's own settings (`prompt.n_shots`)."""
        return key in cls.settings() or key in cls.nested_settings(key.split(".")[0])

    @classmethod
    def nested_settings(cls, field: str) -> frozenset[str]:
        """The dotted sweep keys below a field (`prompt` -> `prompt.n_shots`, `prompt.stop`, ...); none for a
        field that holds a plain value or is not a setting."""
        if field not in cls.settings():
            return frozenset()
        return frozenset(f"{field}.{path}" for path in setting_paths(cls.config_model, field))

    @classmethod
    def inert_settings(cls, cfg: SystemConfigBase) -> dict[str, str]:
        """Settings that cannot change this engine's outputs under `cfg` (setting -> why): a sweep over them
        gives one cell, not identical rows."""
        return {}

    def check(self, dataset: Dataset) -> None:  # noqa: B027 (most engines refuse nothing ahead)
        """Raise the UserError the engine would raise at run time on this dataset for its settings or languages,
        before any model loads (at plan time, so `run --dry-run` finds it)."""

    @classmethod
    def expand(cls, cfg: SystemConfigBase, dataset: Dataset) -> list[System]:
        """The systems this config entry stands for on a dataset (one, unless it discovers several)."""
        return [cls(cfg)]

    def runtime(self) -> dict:
        """How this system runs on this machine (backend, library version, threads), for the manifest."""
        return {}

    def translate(
        self,
        texts: list[str],
        src_lang: str,
        tgt_lang: str,
        ctx: RunContext | None = None,
        stats: CellStats | None = None,
    ) -> list[str]:
        """Translate arbitrary texts (round trips need this); systems with fixed outputs cannot."""
        from evalharness.errors import UserError

        raise UserError(
            f"system {self.name}: engine {self.cfg.engine} has fixed outputs and cannot translate "
            f"{src_lang}->{tgt_lang} texts (as a round trip needs)"
        )

    @abstractmethod
    def hypotheses(self, dataset: Dataset, ctx: RunContext | None = None, stats: CellStats | None = None) -> list[str]:
        """One hypothesis per source segment, in order. `ctx` holds the run's caches and models."""
