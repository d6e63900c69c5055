"""Building blocks shared by every config model: strict models, names, language pairs and paths.

Paths in a config are relative to the config file's folder; the folder travels in pydantic's validation
context (`{"base_dir": Path}`) so that each path field resolves itself while it is validated. When a resolved
config is written out (a results folder's config.yaml), `{"relative_to": folder}` in the serialization context
writes every path relative to that folder instead: no machine's absolute paths in results, and each path
still leads to the same file from where the written config lies.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    PlainSerializer,
    SerializationInfo,
    StringConstraints,
    ValidationInfo,
)

from evalharness.errors import UserError

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._+-]*$"


class Strict(BaseModel):
    """A config section: unknown keys are errors, values are checked, nothing is coerced silently (whole-number
    fields are declared `strict=True`: `max_segments: true` or `"10"` is an error, not 1 or 10)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN, max_length=120)]


# C0 and C1 control characters (newline, tab, escape, ...), DEL, and the line and paragraph separators.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def check_one_line(text: str, where: str) -> str:
    """A name from outside a config's own checks (a file name, `--hyp NAME=PATH`, the API, a sweep label): one line
    of printable text, since a control character would split or garble a table row; else a UserError."""
    control = _CONTROL.search(text)
    if control is not None:
        raise UserError(
            f"{where}: {text!r} holds a control character (U+{ord(control.group()):04X}); "
            f"a name is one line of printable text"
        )
    return text


def check_langpair(value: str) -> str:
    if not re.fullmatch(r"[a-z]{2,3}-[a-z]{2,3}", value):
        raise ValueError(f"expected a language pair such as 'de-en', got {value!r}")
    return value


LangPair = Annotated[str, AfterValidator(check_langpair)]


def split_langpair(langpair: str) -> tuple[str, str]:
    source, target = langpair.split("-")
    return source, target


def _base_dir(info: ValidationInfo) -> Path:
    context = info.context or {}
    return Path(context.get("base_dir", "."))


def _resolve(value: str | Path, info: ValidationInfo) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else (_base_dir(info) / path)


def _existing_file(value: str | Path, info: ValidationInfo) -> Path:
    path = _resolve(value, info)
    if not path.exists():
        raise ValueError(f"file not found: {path}")
    if not path.is_file():
        raise ValueError(f"not a file: {path}")
    return path


def _pattern(value: str, info: ValidationInfo) -> str:
    """A path that may hold {placeholders}: resolved against the config folder, not checked yet."""
    return str(_resolve(value, info))


def _model_ref(value: str, info: ValidationInfo) -> str:
    """A local model folder or file, resolved against the config folder when it exists there; else a hub id."""
    path = _resolve(value, info)
    return str(path) if path.exists() else value


def _path_out(value: str | Path, info: SerializationInfo) -> str:
    """A path as JSON: relative to the serialization context's `relative_to` folder when one is given."""
    folder = (info.context or {}).get("relative_to")
    text = str(value)
    if folder is None or not os.path.isabs(text):  # hub model ids and relative paths stay as they are
        return text
    return Path(os.path.relpath(text, folder)).as_posix()


InputFile = Annotated[Path, AfterValidator(_existing_file), PlainSerializer(_path_out, when_used="json")]
ModelRef = Annotated[str, AfterValidator(_model_ref), PlainSerializer(_path_out, when_used="json")]
OutputDir = Annotated[Path, AfterValidator(_resolve), PlainSerializer(_path_out, when_used="json")]
PathPattern = Annotated[str, AfterValidator(_pattern), PlainSerializer(_path_out, when_used="json")]
