"""Runs started together share one cache file: none of them fails because another is creating it."""

from __future__ import annotations

import functools
import multiprocessing
import sqlite3
from pathlib import Path

import pytest
from evalharness import cache
from evalharness.cache import Store


class LockedTwiceOnWal(sqlite3.Connection):
    """What a second process sees when two switch a new file to WAL at once: "locked" at once, no waiting."""

    refusals = 2

    def execute(self, sql, *args):
        if sql.startswith("PRAGMA journal_mode") and LockedTwiceOnWal.refusals:
            LockedTwiceOnWal.refusals -= 1
            raise sqlite3.OperationalError("database is locked")
        return super().execute(sql, *args)


def test_a_locked_answer_while_setting_up_a_new_cache_is_waited_out(tmp_path, monkeypatch):
    monkeypatch.setattr(LockedTwiceOnWal, "refusals", 2)
    monkeypatch.setattr(cache.sqlite3, "connect", functools.partial(sqlite3.connect, factory=LockedTwiceOnWal))
    store = Store(tmp_path / "t.sqlite", "translations")
    store.put("k", [1])
    assert LockedTwiceOnWal.refusals == 0
    assert store.get("k") == [1]


def test_a_cache_that_stays_locked_is_still_an_error_after_the_timeout(tmp_path, monkeypatch):
    monkeypatch.setattr(LockedTwiceOnWal, "refusals", 10**9)
    monkeypatch.setattr(cache, "LOCK_TIMEOUT", 0.2)
    monkeypatch.setattr(cache.sqlite3, "connect", functools.partial(sqlite3.connect, factory=LockedTwiceOnWal))
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        Store(tmp_path / "t.sqlite", "translations")


def _open_and_write(path: str, key: str) -> str:
    try:
        store = Store(Path(path), "translations")
        store.put(key, key)
        store.close()
        return "ok"
    except Exception as err:  # reported to the parent, which names it
        return repr(err)


def test_eight_processes_opening_one_new_cache_all_open_it(tmp_path):
    with multiprocessing.get_context("fork").Pool(8) as pool:
        for trial in range(10):
            path = str(tmp_path / f"trial{trial}" / "t.sqlite")
            answers = pool.starmap(_open_and_write, [(path, f"k{i}") for i in range(8)])
            assert answers == ["ok"] * 8
            assert Store(Path(path), "translations").count() == 8
