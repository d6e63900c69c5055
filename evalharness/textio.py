"""Reading text files strictly and writing result files atomically.

sacrebleu's CLI reads files line by line (split on "\n" only) and does not tell you about invalid UTF-8 or
empty files; here both are errors that name the file and the line. So is a line longer than
`EVALHARNESS_MAX_LINE_LENGTH` characters (default 1,000,000): a file is read a line at a time, so that one
runaway line (a 200 MB JSON object) stops the read early instead of filling memory in what parses it.
"""

from __future__ import annotations

import gzip
import os
import stat
import tempfile
import zlib
from pathlib import Path

from evalharness.errors import UserError


def decode_utf8(data: bytes, path: Path | str) -> str:
    """Decode bytes as strict UTF-8, naming the file and line of the first bad byte."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise UserError(f"{path}:{line}: invalid UTF-8 (byte 0x{data[err.start]:02x} at offset {err.start})") from err
    if text.startswith("\ufeff"):
        text = text[1:]
    return text


MAX_LINE_ENV = "EVALHARNESS_MAX_LINE_LENGTH"
DEFAULT_MAX_LINE_LENGTH = 1_000_000


def max_line_length() -> int:
    """The longest line (in characters) a text file may hold: `$EVALHARNESS_MAX_LINE_LENGTH`, else 1,000,000."""
    text = os.environ.get(MAX_LINE_ENV, "").strip()
    if not text:
        return DEFAULT_MAX_LINE_LENGTH
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise UserError(f"{MAX_LINE_ENV}: expected a whole number of characters (at least 1), got {text!r}")
    return value


def _too_long(line: bytes, limit: int) -> bool:
    """Whether a line (as read, up to its "\n") holds more than `limit` characters. A UTF-8 character is 1 to 4
    bytes, so only a line of more than `limit` bytes needs decoding; an undecodable byte counts as one character
    (its error comes later, from the whole file)."""
    content = line[:-1] if line.endswith(b"\n") else line
    return len(content) > limit and len(content.decode("utf-8", "replace")) > limit


def _read_lines_bounded(path: Path) -> bytes:
    """The file's bytes (decompressed for .gz), read a line at a time, stopping at a line that is too long."""
    limit = max_line_length()
    cap = 4 * limit + 2  # the bytes of `limit` 4-byte characters and "\r\n"; a longer read is a longer line
    opener = gzip.open if path.suffix == ".gz" else open
    parts = []
    with opener(path, "rb") as handle:
        number = 0
        while line := handle.readline(cap):
            number += 1
            if _too_long(line, limit):
                raise UserError(f"{path}:{number}: line longer than {limit} characters (limit: env {MAX_LINE_ENV})")
            parts.append(line)
    return b"".join(parts)


def read_text(path: Path | str) -> str:
    """Read a whole UTF-8 file, with clear errors for missing, unreadable, binary or empty files and for a line
    longer than `max_line_length()`."""
    path = Path(path)
    try:
        data = _read_lines_bounded(path)
    except FileNotFoundError as err:
        raise UserError(f"{path}: file not found") from err
    except IsADirectoryError as err:
        raise UserError(f"{path}: is a directory, expected a file") from err
    except (OSError, EOFError, zlib.error) as err:
        raise UserError(f"{path}: cannot read ({getattr(err, 'strerror', None) or err})") from err
    if not data.strip():
        raise UserError(f"{path}: file is empty")
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise UserError(f"{path}:{line}: binary data (NUL byte), expected UTF-8 text")
    return decode_utf8(data, path)


def split_lines(text: str) -> list[str]:
    """Split like sacrebleu's CLI: on "\\n" only, each line stripped of trailing whitespace."""
    if text.endswith("\n"):
        text = text[:-1]
    return [line.rstrip() for line in text.split("\n")]


def read_lines(path: Path | str) -> list[str]:
    """One segment per line, as sacrebleu reads it."""
    return split_lines(read_text(path))


def check_same_length(expected: int, lines: list[str], path: Path | str, what: str) -> None:
    """Fail with the file name and the line where the two files stop matching."""
    if len(lines) != expected:
        where = min(len(lines), expected) + 1
        raise UserError(f"{path}: has {len(lines)} lines but {what} has {expected} (files differ from line {where} on)")


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_writable(path: Path, what: str) -> None:
    """Fail now, not after hours of work, when `path` (a folder to be created or written in) cannot be written:
    a file is written and removed in the nearest folder that exists (creating nothing else)."""
    existing = next(p for p in (path, *path.parents) if p.exists() or p == Path(p.anchor))
    if not existing.is_dir():
        raise UserError(f"{path}: cannot create the {what}: {existing} is a file, not a folder")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as err:
        raise UserError(f"{path}: cannot write the {what} there: {existing}: {err.strerror or err}") from err


def check_replaceable(path: Path) -> None:
    """Only a regular file or a new path may be written: renaming over a symlink, a device or a folder would
    replace it with a regular file (as root, `-o /dev/full` replaced the device)."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISREG(mode):
        kind = (
            "a symbolic link"
            if stat.S_ISLNK(mode)
            else "a folder"
            if stat.S_ISDIR(mode)
            else "a device"
            if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "not a regular file"
        )
        raise UserError(f"{path}: is {kind}; evalharness writes only regular files or new paths (name a file)")


def atomic_write(path: Path | str, content: str | bytes) -> None:
    """Write a file (text as UTF-8, or bytes as they are) so that readers see either the old or the new content,
    never half of it. Refuses anything that is not a regular file or a new path (`check_replaceable`)."""
    path = Path(path)
    check_replaceable(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        if isinstance(content, bytes):
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
        else:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
                handle.write(content)
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp makes 0600; results are ordinary files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def check_stream(stream: object, n: int, what: str) -> None:
    """A stream (references, hypotheses, document ids) is a list of n strings: not a string, not a list of
    lists, not n +- 1. Here, not in datasets/, because metrics check their inputs too (no datasets -> metrics cycle)."""
    if isinstance(stream, str) or not isinstance(stream, (list, tuple)):
        raise UserError(f"{what}: expected a list of segments, got {type(stream).__name__}")
    if len(stream) != n:
        raise UserError(f"{what}: has {len(stream)} segments, expected {n}")
    for i, item in enumerate(stream):
        if not isinstance(item, str):
            raise UserError(f"{what}: segment {i + 1} is a {type(item).__name__}, expected a string")
