"""What must never reach a result file or a message: the values of environment variables that the config reads
(`${NAME}`), the values of a `command` system's `env` entries, and credentials in URLs (`https://user:pw@host`).

The values are remembered while the config is loaded, for the life of the process (one command), and `redact`
replaces them in the texts that would show them: config.yaml, manifest.json (and the report built from it), and
every error line. Scores, segments and tables are not redacted: they hold no config values, and a short value such
as a language pair could occur in them by chance.
"""

from __future__ import annotations

import re

# Shorter values (a thread count, a language code) are no secrets and would be found everywhere.
MIN_LENGTH = 4
_URL_CREDENTIALS = re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s@:]*(?::[^/\s@]*)?@")
_placeholders: dict[str, str] = {}  # secret value -> what is written instead


def remember(value: str, placeholder: str) -> None:
    """A value that must not be shown, and what to show instead (`${NAME}`, `<env NAME>`)."""
    if isinstance(value, str) and len(value) >= MIN_LENGTH:
        _placeholders.setdefault(value, placeholder)


def redact(text: str) -> str:
    """`text` with every remembered value replaced (longest first) and URL credentials masked."""
    for value in sorted(_placeholders, key=len, reverse=True):
        if value in text:
            text = text.replace(value, _placeholders[value])
    return _URL_CREDENTIALS.sub(r"\1***@", text)


def forget() -> None:
    """For tests and long-lived processes that load several configs."""
    _placeholders.clear()
