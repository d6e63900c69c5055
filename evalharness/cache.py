"""A small persistent key-value store in SQLite (one file, WAL mode) for scores and, later, translations.

Values are JSON, compressed. Keys are hex digests of everything that determines the value, so a stale entry
can never be returned: a change of input or option is simply a different key.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import sqlite3
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from evalharness.errors import UserError

LOCK_TIMEOUT = 60.0  # seconds a run waits for another run that holds the cache file


def default_cache_dir() -> Path:
    """$EVALHARNESS_CACHE_DIR, else $XDG_CACHE_HOME/evalharness, else ~/.cache/evalharness."""
    if os.environ.get("EVALHARNESS_CACHE_DIR"):
        return Path(os.environ["EVALHARNESS_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "evalharness"


def model_dir() -> Path:
    """Converted model weights: $EVALHARNESS_MODEL_DIR, else <cache dir>/models. Separate from the caches of
    results so that a private translation cache (tests, benchmarks) can still share a converted model."""
    if os.environ.get("EVALHARNESS_MODEL_DIR"):
        return Path(os.environ["EVALHARNESS_MODEL_DIR"])
    return default_cache_dir() / "models"


def digest(*parts: str | list[str] | list[list[str]]) -> str:
    """A stable sha256 over strings and (nested) lists of strings; list boundaries are part of the hash."""
    h = hashlib.sha256()
    for part in parts:
        h.update(json.dumps(part, ensure_ascii=False).encode("utf-8"))
        h.update(b"\x1e")
    return h.hexdigest()


class DamagedCache(UserError):
    """A cache file that is not a database, or is one with corrupt pages: `cache clear` removes it."""


# SQLite's primary result codes that mean the file itself is damaged; any other error (read-only, cannot open,
# disk full, I/O) is about where the file lies, and removing the file would lose an intact cache.
DAMAGE_CODES = {sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB}


class Store:
    """One table of key -> JSON value in a SQLite file.

    A damaged file (not a database, truncated, corrupt pages) is a one-line `DamagedCache` that says how to
    recover (`evalharness cache clear` removes it); a damaged value (a flipped byte) is a miss, so it is computed
    again. With `read_only` the file is only read (`cache stats` on a read-only folder): nothing is created."""

    def __init__(self, path: Path, table: str, read_only: bool = False):
        self.path = Path(path)
        self.table = table
        if read_only:
            with self._guard():
                self._db = self._open_read_only()
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._guard():
            self._db = sqlite3.connect(self.path, timeout=LOCK_TIMEOUT)
            self._set_up()

    def _open_read_only(self) -> sqlite3.Connection:
        """The file opened for reading only. A WAL database needs its -shm file, which a read-only folder cannot
        get once the last writer removed it: then the file is read as immutable (nothing can change it there)."""
        uri = self.path.resolve().as_uri()
        db = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=LOCK_TIMEOUT)
        try:
            db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            return db
        except sqlite3.OperationalError as err:
            db.close()
            if getattr(err, "sqlite_errorcode", None) != sqlite3.SQLITE_CANTOPEN:
                raise
        return sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True, timeout=LOCK_TIMEOUT)

    def _set_up(self) -> None:
        """WAL mode and the table, retried while another process does the same to a new file.

        Switching a new file to WAL takes an exclusive lock, and SQLite answers "database is locked" at once,
        without waiting the connection's timeout, when two processes race to do it (four runs started together on
        one fresh cache did so in CI). The retry waits as long as the timeout would have."""
        deadline = time.monotonic() + LOCK_TIMEOUT
        pause = 0.01
        while True:
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute(f"CREATE TABLE IF NOT EXISTS {self.table} (key TEXT PRIMARY KEY, value BLOB NOT NULL)")
                self._db.commit()
                return
            except sqlite3.OperationalError as err:
                if "locked" not in str(err) or time.monotonic() > deadline:
                    raise
                self._db.rollback()
                time.sleep(pause * (1 + random.random()))
                pause = min(pause * 2, 0.5)

    @contextlib.contextmanager
    def _guard(self):
        try:
            yield
        except sqlite3.DatabaseError as err:
            if isinstance(err, sqlite3.OperationalError) and "locked" in str(err):
                raise  # another run holds the file longer than the timeout: not damage
            code = getattr(err, "sqlite_errorcode", None)
            if code is not None and code & 0xFF not in DAMAGE_CODES:
                raise UserError(
                    f"{self.path}: cannot use the cache file ({err}); is it or its folder read-only, or the disk full?"
                ) from err
            raise DamagedCache(
                f"{self.path}: the cache file is damaged ({err}); `evalharness cache clear` removes it"
            ) from err

    @staticmethod
    def remove_files(path: Path) -> None:
        """The database and its WAL side files: what `cache clear` does with a damaged cache."""
        for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            name.unlink(missing_ok=True)

    def get(self, key: str):
        with self._guard():
            row = self._db.execute(f"SELECT value FROM {self.table} WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        try:
            return json.loads(zlib.decompress(row[0]))
        except (zlib.error, ValueError, TypeError):
            return None  # an undecodable entry is a miss: computed again and written over

    def put(self, key: str, value) -> None:
        self.put_many([(key, value)])

    def put_many(self, items: Sequence[tuple[str, object]]) -> None:
        """Many entries in one transaction (one fsync instead of one per entry)."""
        rows = [(key, zlib.compress(json.dumps(value, separators=(",", ":")).encode("utf-8"))) for key, value in items]
        with self._guard(), self._db:
            self._db.executemany(f"INSERT OR REPLACE INTO {self.table} (key, value) VALUES (?, ?)", rows)

    def _has_table(self) -> bool:
        """False for a file opened read-only before any run made the table (an empty cache)."""
        with self._guard():
            found = self._db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (self.table,))
            return found.fetchone() is not None

    def count(self) -> int:
        if not self._has_table():
            return 0
        with self._guard():
            return self._db.execute(f"SELECT COUNT(*) FROM {self.table}").fetchone()[0]

    def size_bytes(self) -> int:
        if not self._has_table():
            return 0
        with self._guard():
            return self._db.execute(f"SELECT COALESCE(SUM(LENGTH(value)), 0) FROM {self.table}").fetchone()[0]

    def clear(self) -> int:
        n = self.count()
        with self._guard():
            with self._db:
                self._db.execute(f"DELETE FROM {self.table}")
            self._db.execute("VACUUM")
        return n

    def close(self) -> None:
        self._db.close()


@dataclass(frozen=True)
class Cache:
    """One of the caches the harness keeps in the cache folder: `cache stats|clear` go through this list, so
    every cache the harness opens is one they list, check and clear."""

    name: str  # as `evalharness cache stats|clear NAME` takes it
    label: str
    filename: str
    table: str

    @property
    def path(self) -> Path:
        return default_cache_dir() / self.filename

    def open(self, read_only: bool = False) -> Store:
        return Store(self.path, self.table, read_only)


CACHES = {
    cache.name: cache
    for cache in (
        Cache("translations", "translation cache", "translations.sqlite", "translations"),
        Cache("scores", "score cache", "scores.sqlite", "scores"),
        Cache("embeddings", "embedding cache", "embeddings.sqlite", "embeddings"),
        Cache("filehashes", "model file hash cache", "filehashes.sqlite", "hashes"),
    )
}
