"""The run config: YAML in, a validated `Config` out, or one clear line naming the file, line and key.

Order of work: parse YAML (syntax errors with line and column), apply `--set` overrides, expand `${ENV}` and
`${ENV:-default}`, validate with pydantic (paths resolve against the config file's folder), then check what
pydantic cannot see alone (unique names, references between sections, sweep keys).
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, field_validator

from evalharness import secrets
from evalharness.configtypes import Name, OutputDir, Strict, check_one_line
from evalharness.datasets import LOADERS, DatasetConfig
from evalharness.errors import UserError
from evalharness.executors.settings import ExecutorConfig
from evalharness.metrics import METRICS, MetricConfig, make_metric
from evalharness.statistics.compare import StatisticsConfig
from evalharness.systems import ENGINES, SystemConfig, engine_of
from evalharness.textio import read_text
from evalharness.tracking.settings import TrackingConfig

# ${NAME}, ${NAME:-default}; `:secret` (${NAME:secret}, ${NAME:secret:-default}) marks the value a secret.
ENV_PATTERN = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:secret)?(?::-([^}]*))?\}")


class Config(Strict):
    """A run: datasets x systems (x sweep) scored with metrics."""

    run_name: Name | None = Field(default=None, description="results go to <output_dir>/<run_name>; default: file stem")
    output_dir: OutputDir | None = Field(default=None, description="default: ./results")
    datasets: list[DatasetConfig] = Field(min_length=1)
    systems: list[SystemConfig] = Field(min_length=1)
    metrics: list[MetricConfig] = Field(
        default_factory=lambda: [{"name": "bleu"}, {"name": "chrf"}], min_length=1, validate_default=True
    )
    sweep: dict[str, list[Any]] = Field(
        default_factory=dict,
        description="setting -> values; a value may be {label: NAME, value: VALUE}, shown as NAME in results",
    )
    aggregate: list[Literal["seed"]] = Field(
        default_factory=list, description="swept settings summarised over (mean, std, min, max rows)"
    )
    workers: int | None = Field(
        strict=True, default=None, ge=1, description="processes for scoring; default: all cores"
    )
    statistics: StatisticsConfig = Field(default_factory=StatisticsConfig)
    executor: ExecutorConfig = Field(default_factory=ExecutorConfig)
    tracking: TrackingConfig | None = Field(
        default=None,
        description="log each finished run to MLflow or W&B (evalharness.tracking); changes no result",
        json_schema_extra={"affects_output": False},
    )

    @field_validator("metrics", mode="before")
    @classmethod
    def _metric_names(cls, value):
        if isinstance(value, list):
            return [{"name": item} if isinstance(item, str) else item for item in value]
        return value


@dataclass(frozen=True)
class SweepPoint:
    """One value of a swept setting, with the label results show for it (None: the value itself)."""

    value: Any
    label: str | None = None


def sweep_points(values: list[Any]) -> list[SweepPoint]:
    """A sweep's values; `{label: NAME, value: VALUE}` (exactly these two keys) is a labelled value."""
    return [
        SweepPoint(v["value"], v["label"]) if isinstance(v, dict) and set(v) == {"label", "value"} else SweepPoint(v)
        for v in values
    ]


@dataclass
class LoadedConfig:
    config: Config
    path: Path  # the YAML file, or a name such as <config dict> for a config given as a Python dict
    data: dict  # the YAML after overrides and ${ENV} expansion, as validated
    folder: Path | None = None  # where relative paths resolve for a dict; a file's own folder otherwise

    @property
    def base_dir(self) -> Path:
        """Relative paths in the config resolve against its folder."""
        return self.folder.resolve() if self.folder is not None else self.path.resolve().parent


# ---------------------------------------------------------------- YAML with line numbers


class _Located:
    """The composed YAML node tree, to turn a key path into a line number."""

    def __init__(self, path: Path, root: yaml.Node | None):
        self.path = path
        self.root = root

    def line(self, loc: tuple) -> int | None:
        node = self.root
        line = node.start_mark.line + 1 if node is not None else None
        for depth, elem in enumerate(loc):
            if (
                depth == 2
                and loc[0] in _SECTION_WORD
                and isinstance(node, yaml.MappingNode)
                and any(key.value == _SECTION_WORD[loc[0]][1] and value.value == elem for key, value in node.value)
            ):
                continue  # the discriminator tag (see key_path)
            if isinstance(node, yaml.MappingNode):
                for key, value in node.value:
                    if key.value == elem:
                        line = key.start_mark.line + 1
                        node = value
                        break
            elif isinstance(node, yaml.SequenceNode) and isinstance(elem, int) and elem < len(node.value):
                node = node.value[elem]
                line = node.start_mark.line + 1
        return line

    def where(self, loc: tuple) -> str:
        line = self.line(loc)
        return f"{self.path}:{line}" if line else str(self.path)


def _check_duplicate_keys(node: yaml.Node | None, located: _Located) -> None:
    if isinstance(node, yaml.MappingNode):
        seen = set()
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in seen:
                    raise UserError(f"{located.path}:{key.start_mark.line + 1}: duplicate key {key.value!r}")
                seen.add(key.value)
            _check_duplicate_keys(value, located)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _check_duplicate_keys(item, located)


# A config is a few hundred nodes; aliases may repeat a part, but not into an "alias bomb" (each level doubling
# the last) that takes minutes and gigabytes to walk, and not into itself.
MAX_NODES = 100_000
MAX_DEPTH = 64


LOOP = "a YAML alias refers to a node that contains it (the value never ends)"


def _check_shape(root: yaml.Node | None, place: Callable[[yaml.Node], str], loop: str = LOOP) -> None:
    """Refuse, before anything walks the data, an alias that contains itself, nesting deeper than MAX_DEPTH and a
    document that expands (aliases followed) to more than MAX_NODES nodes. `place(node)` names where a node is
    (FILE:LINE, `--set KEY`); `loop` says what a value that contains itself is, for its reader."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node: yaml.Node, depth: int) -> int:
        where = place(node)
        if depth > MAX_DEPTH:
            raise UserError(f"{where}: the config nests deeper than {MAX_DEPTH} levels")
        if id(node) in sizes:
            return sizes[id(node)]
        if id(node) in open_nodes:
            raise UserError(f"{where}: {loop}")
        open_nodes.add(id(node))
        if isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        else:
            children = node.value if isinstance(node, yaml.SequenceNode) else []
        total = 1 + sum(size(child, depth + 1) for child in children)
        if total > MAX_NODES:
            raise UserError(f"{where}: the config expands to more than {MAX_NODES} values through YAML aliases")
        open_nodes.discard(id(node))
        sizes[id(node)] = total
        return total

    if root is not None:
        size(root, 0)


def _parse_yaml(path: Path, text: str) -> tuple[Any, _Located]:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except RecursionError as err:
        raise UserError(
            f"{path}: the config nests too deeply to read (more than {MAX_DEPTH} levels are refused)"
        ) from err
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = getattr(err, "problem", None) or str(err)
        raise UserError(f"{where}: YAML syntax error: {problem}") from err
    _check_shape(root, lambda node: f"{path}:{node.start_mark.line + 1}")
    located = _Located(path, root)
    _check_duplicate_keys(root, located)
    return data, located


# ---------------------------------------------------------------- key paths

_SECTION_WORD = {
    "datasets": ("dataset kind", "kind"),
    "systems": ("system engine", "engine"),
    "metrics": ("metric", "name"),
}


def key_path(loc: tuple, data: Any) -> str:
    """('datasets', 0, 'parallel', 'source') -> 'datasets[0].source' (pydantic's union tags dropped)."""
    out = ""
    node = data
    for depth, elem in enumerate(loc):
        if (
            depth == 2
            and loc[0] in _SECTION_WORD
            and isinstance(node, dict)
            and node.get(_SECTION_WORD[loc[0]][1]) == elem
        ):
            continue  # the discriminator tag, also where a field has the tag's name (engine `command`, field `command`)
        if isinstance(node, dict) and elem in node:
            node = node[elem]
        elif isinstance(node, list) and isinstance(elem, int) and elem < len(node):
            out += f"[{elem}]"
            node = node[elem]
            continue
        elif depth == 2 and loc[0] in _SECTION_WORD:
            continue  # the discriminator tag pydantic puts after the list index
        elif isinstance(node, dict) and isinstance(elem, str):
            node = None  # a key that is not in the data: missing or unknown
        else:
            continue
        out += f".{elem}" if out else str(elem)
    return out or "(top level)"


def _entry_model(loc: tuple, data: dict):
    """The config model whose fields are valid at `loc` (for 'did you mean')."""
    if len(loc) <= 1:
        return Config
    section, index = loc[0], loc[1]
    try:
        entry = data[section][index]
    except (KeyError, IndexError, TypeError):
        return None
    if not isinstance(entry, dict):
        return None
    if section == "datasets" and entry.get("kind") in LOADERS:
        return LOADERS[entry["kind"]][0]
    if section == "systems" and entry.get("engine") in ENGINES:
        return ENGINES[entry["engine"]].config_model
    if section == "metrics" and entry.get("name") in METRICS:
        return METRICS[entry["name"]][0]
    return None


def _did_you_mean(word: str, candidates) -> str:
    close = difflib.get_close_matches(str(word), list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _describe(error: Mapping[str, Any], data: dict) -> tuple[tuple, str]:
    """One pydantic error -> (loc for the line number, message)."""
    loc = tuple(error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        key = loc[-1]
        model = _entry_model(loc[:-1], data) if len(loc) > 1 else Config
        hint = _did_you_mean(key, model.model_fields) if model else ""
        parent = key_path(loc[:-1], data) if len(loc) > 1 else ""
        return loc, f"{parent + ': ' if parent else ''}unknown key {key!r}{hint}"
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        section = loc[0] if loc else ""
        word, field = _SECTION_WORD.get(section, ("value", error.get("ctx", {}).get("discriminator", "kind")))
        field = field.strip("'")
        if kind == "union_tag_not_found":
            return loc, f"{key_path(loc, data)}: missing key {field!r}"
        tag = error["ctx"]["tag"]
        registries: dict[str, Mapping[str, object]] = {"datasets": LOADERS, "systems": ENGINES, "metrics": METRICS}
        known = registries.get(section, {})
        return loc + (field,), (
            f"{key_path(loc, data)}.{field}: unknown {word} {tag!r}{_did_you_mean(tag, known)}"
            f"; known: {', '.join(known)}"
        )
    if kind == "missing":
        return loc[:-1], f"{key_path(loc, data)}: missing required key"
    message = error["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix) :]
    if (
        kind not in ("value_error", "assertion_error")
        and "input" in error
        and not isinstance(error["input"], (dict, list))
    ):
        message += f" (got {error['input']!r})"
    return loc, f"{key_path(loc, data)}: {message}"


def describe_entry_error(error: Mapping[str, Any], section: str, index: int, entry: Any) -> str:
    """One pydantic error of a section's entry validated on its own (a metric dict given to the API), worded as
    the same error in a config file: `metrics[1].char_order: ...`, `metrics[0]: unknown key ... (did you mean ...)`."""
    data = {section: [None] * index + [entry]}
    return _describe({**error, "loc": (section, index, *error["loc"])}, data)[1]


# ---------------------------------------------------------------- overrides and environment


def _parse_override(item: str) -> tuple[list[str], Any]:
    if "=" not in item:
        raise UserError(f"--set {item}: expected KEY=VALUE, e.g. --set workers=2")
    key, _, value = item.partition("=")
    parts = [p for p in key.strip().split(".") if p]
    if not parts:
        raise UserError(f"--set {item}: empty key")
    if not value.strip():
        return parts, ""
    # The value is YAML, read with the file's limits: an alias into itself or an alias bomb stops here.
    place = f"--set {key.strip()}"
    try:
        _check_shape(yaml.compose(value, Loader=yaml.SafeLoader), lambda node: place)
        return parts, yaml.safe_load(value)
    except RecursionError as err:
        raise UserError(f"{place}: the value nests too deeply to read (over {MAX_DEPTH} levels are refused)") from err
    except yaml.YAMLError:
        return parts, value  # not YAML: the text as it is


def apply_overrides(data: dict, items: list[str]) -> None:
    """`--set a.b=1`; list entries are addressed by index or by their `name`."""
    for item in items:
        parts, value = _parse_override(item)
        node: Any = data
        for depth, part in enumerate(parts):
            last = depth == len(parts) - 1
            where = ".".join(parts[: depth + 1])
            if isinstance(node, list):
                index = (
                    int(part)
                    if part.isdigit()
                    else next((i for i, e in enumerate(node) if isinstance(e, dict) and e.get("name") == part), None)
                )
                if index is None or index >= len(node):
                    names = [e.get("name") for e in node if isinstance(e, dict)]
                    raise UserError(
                        f"--set {item}: no entry {part!r} in {'.'.join(parts[:depth]) or 'config'}"
                        f"{_did_you_mean(part, [n for n in names if n])}"
                    )
                if last:
                    node[index] = value
                else:
                    node = node[index]
            elif isinstance(node, dict):
                if last:
                    node[part] = value
                else:
                    node = node.setdefault(part, {})
            else:
                raise UserError(f"--set {item}: {where} is not a mapping or list")


def expand_env(data: Any, located: _Located, root: Any = None, loc: tuple = ()) -> Any:
    """Replace ${NAME} and ${NAME:-default} in every string value; a secret's value is remembered (never shown),
    other values are written as they are (see `evalharness.secrets`)."""
    root = data if root is None else root
    if isinstance(data, dict):
        return {k: expand_env(v, located, root, loc + (k,)) for k, v in data.items()}
    if isinstance(data, list):
        return [expand_env(v, located, root, loc + (i,)) for i, v in enumerate(data)]
    if isinstance(data, str):

        def replace(match: re.Match) -> str:
            name, marked, default = match.group(1), match.group(2), match.group(3)
            if name in os.environ:
                if marked or secrets.is_secret_name(name):
                    secrets.remember(os.environ[name], f"${{{name}}}")
                return os.environ[name]
            if default is not None:
                return default
            raise UserError(
                f"{located.where(loc)}: {key_path(loc, root)}: environment variable {name} is "
                f"not set (write ${{{name}:-default}} for a fallback)"
            )

        expanded = ENV_PATTERN.sub(replace, data)
        secrets.remember_url_credentials(expanded)
        return expanded
    return data


# ---------------------------------------------------------------- checks across sections


def _cross_checks(cfg: Config, data: dict, located: _Located) -> None:
    def fail(loc: tuple, message: str):
        raise UserError(f"{located.where(loc)}: {message}")

    for section in ("datasets", "systems"):
        seen: dict[str, int] = {}
        for i, entry in enumerate(getattr(cfg, section)):
            if entry.name in seen:
                fail(
                    (section, i, "name"),
                    f"{section}[{i}].name: duplicate name {entry.name!r} (also {section}[{seen[entry.name]}])",
                )
            seen[entry.name] = i
    dataset_names = [d.name for d in cfg.datasets]
    for i, system in enumerate(cfg.systems):
        for name in system.datasets or []:
            if name not in dataset_names:
                fail(
                    ("systems", i, "datasets"),
                    f"systems[{i}].datasets: no dataset named {name!r}{_did_you_mean(name, dataset_names)}",
                )
    labels: dict[str, int] = {}
    for i, metric_cfg in enumerate(cfg.metrics):
        label = make_metric(metric_cfg).label
        if label in labels:
            fail(
                ("metrics", i),
                f"metrics[{i}]: metric {label!r} appears twice (also metrics[{labels[label]}]); "
                f"give one a different 'label'",
            )
        labels[label] = i
    engines = [engine_of(s) for s in cfg.systems]
    settings = set().union(*(engine.settings() for engine in engines))
    for key, values in cfg.sweep.items():
        if not any(engine.has_setting(key) for engine in engines):
            nested = set().union(*(engine.nested_settings(key.split(".")[0]) for engine in engines))
            shown = nested if "." in key and nested else settings
            fail(
                ("sweep", key),
                f"sweep.{key}: no system in this config has a setting {key!r}"
                f"{_did_you_mean(key, shown)}" + (f"; settings: {', '.join(sorted(shown))}" if shown else ""),
            )
        if not values:
            fail(("sweep", key), f"sweep.{key}: needs at least one value")
        point_labels: dict[str, int] = {}
        for i, point in enumerate(sweep_points(values)):
            if point.label is None:
                continue
            if not isinstance(point.label, str) or not point.label.strip() or re.search(r"[@,=]", point.label):
                fail(
                    ("sweep", key, i),
                    f"sweep.{key}[{i}].label: a label is a non-empty text without '@', ',' or '=' "
                    f"(got {point.label!r})",
                )
            check_one_line(point.label, f"{located.where(('sweep', key, i))}: sweep.{key}[{i}].label")
            if point.label in point_labels:
                fail(
                    ("sweep", key, i),
                    f"sweep.{key}[{i}].label: {point.label!r} also labels sweep.{key}[{point_labels[point.label]}]",
                )
            point_labels[point.label] = i
    for i, key in enumerate(cfg.aggregate):
        if key not in cfg.sweep:
            fail(("aggregate", i), f"aggregate[{i}]: {key!r} is not swept (sweep.{key} needs several values)")


# ---------------------------------------------------------------- entry point


def load_config(path: str | Path, overrides: list[str] | None = None) -> LoadedConfig:
    """A YAML config file, with `--set` overrides: validated, or a one-line error naming the file and line."""
    path = Path(path)
    data, located = _parse_yaml(path, read_text(path))
    if not isinstance(data, dict):
        raise UserError(f"{path}: the config must be a YAML mapping with datasets, systems and metrics")
    stem = re.sub(r"[^A-Za-z0-9._+-]", "_", path.stem) or "run"
    return _validated(data, overrides, located, path.resolve().parent, path, stem, None)


DICT_CONFIG = Path("<config dict>")


def config_from_dict(
    data: dict, overrides: list[str] | None = None, base_dir: str | Path | None = None
) -> LoadedConfig:
    """A config given as a Python dict (the YAML's structure), as from the API: relative paths resolve against
    `base_dir` (default: the current folder); errors name the key path, as for a file without line numbers."""
    if not isinstance(data, dict):
        raise UserError(
            f"{DICT_CONFIG}: the config must be a mapping with datasets, systems and metrics, not {type(data).__name__}"
        )
    try:
        text = yaml.safe_dump(data)  # and back: a deep copy, and only what a YAML file could hold
        _check_shape(
            yaml.compose(text, Loader=yaml.SafeLoader),
            lambda node: str(DICT_CONFIG),
            "a value (a dict or a list) contains itself (the config never ends)",
        )
        data = yaml.safe_load(text)
    except RecursionError as err:
        raise UserError(f"{DICT_CONFIG}: the config nests too deeply (over {MAX_DEPTH} levels are refused)") from err
    except yaml.YAMLError as err:
        raise UserError(f"{DICT_CONFIG}: holds a value a YAML config cannot ({str(err).splitlines()[0]})") from err
    folder = Path(base_dir) if base_dir is not None else Path.cwd()
    return _validated(data, overrides, _Located(DICT_CONFIG, None), folder.resolve(), DICT_CONFIG, "run", folder)


def _validated(
    data: dict,
    overrides: list[str] | None,
    located: _Located,
    base_dir: Path,
    path: Path,
    stem: str,
    folder: Path | None,
) -> LoadedConfig:
    apply_overrides(data, overrides or [])
    data = expand_env(data, located)
    try:
        cfg = Config.model_validate(data, context={"base_dir": base_dir})
    except ValidationError as err:
        errors = err.errors()
        # An unknown key first: a typo (`sourc:`) also makes its key missing, and the typo is the thing to fix.
        first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        loc, message = _describe(first, data)
        more = f" (and {len(errors) - 1} more error{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
        raise UserError(f"{located.where(loc)}: {message}{more}") from err
    for system in cfg.systems:
        for name, value in (getattr(system, "env", None) or {}).items():
            secrets.remember(value, f"<env {name}>")
    if cfg.run_name is None:
        cfg = cfg.model_copy(update={"run_name": stem})
    _cross_checks(cfg, data, located)
    return LoadedConfig(cfg, path, data, folder)
