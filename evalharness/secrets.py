"""What must never reach a result file or a message: secrets. A secret is the value of an environment variable
that the config reads (`${NAME}`) when the variable's name says it is one (it holds KEY, TOKEN, SECRET, PASS,
PASSWORD, PASSWD, CREDENTIAL or AUTH, in any case) or the config marks it (`${NAME:secret}`); the value of a
`command` system's `env` entry; the API key of an `openai` system; and credentials in URLs
(`https://user:pw@host`), also in the base64 form an HTTP client sends them in (`Authorization: Basic ...`), which a
server may echo in an error. Other values from the environment (a dataset name, a port, a path) are no secrets:
they are written as they are.

The values are remembered while the config is loaded, for the life of the process (one command), and `redact`
replaces them in the texts that would show them: config.yaml, manifest.json (and the report built from it), and
every error (`UserError` redacts its message when it is made). Scores, segments and tables are not redacted:
they hold no config values, and a short value such as a language pair could occur in them by chance.
"""

from __future__ import annotations

import base64
import re
from urllib.parse import unquote

# Shorter values (a thread count, a language code) are no secrets and would be found everywhere.
MIN_LENGTH = 4
SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASS|CREDENTIAL|AUTH", re.IGNORECASE)  # PASS covers PASSWORD, PASSWD
_URL_CREDENTIALS = re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s@:]*(?::[^/\s@]*)?@")
_URL_USERINFO = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://([^/\s@]*)@")
_placeholders: dict[str, str] = {}  # secret value -> what is written instead


def is_secret_name(name: str) -> bool:
    """Whether an environment variable's name says that its value is a secret (`OPENAI_API_KEY`, `DB_PASSWORD`)."""
    return SECRET_NAME.search(name) is not None


def remember(value: str, placeholder: str) -> None:
    """A value that must not be shown, and what to show instead (`${NAME}`, `<env NAME>`)."""
    if isinstance(value, str) and len(value) >= MIN_LENGTH:
        _placeholders.setdefault(value, placeholder)


def remember_url_credentials(text: str) -> None:
    """The credentials of every URL in `text`: the password alone, and `user:password` in base64, as written and
    percent-decoded (what an HTTP client sends as `Authorization: Basic`)."""
    for match in _URL_USERINFO.finditer(text):
        user, _, password = match.group(1).partition(":")
        for name, secret in {(user, password), (unquote(user), unquote(password))}:
            remember(secret, "***")
            remember(base64.b64encode(f"{name}:{secret}".encode()).decode(), "***")


def redact(text: str) -> str:
    """`text` with every remembered value replaced (longest first) and URL credentials masked."""
    for value in sorted(_placeholders, key=len, reverse=True):
        if value in text:
            text = text.replace(value, _placeholders[value])
    return _URL_CREDENTIALS.sub(r"\1***@", text)


def forget() -> None:
    """For tests and long-lived processes that load several configs."""
    _placeholders.clear()
