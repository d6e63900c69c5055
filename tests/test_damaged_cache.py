"""A damaged cache (random bytes, a truncated file, a flipped byte in a value) never gives a traceback: `run` and
`cache stats` say so in one line, `cache clear` always recovers, and an undecodable entry is a miss."""

from __future__ import annotations

import os
import random
import sqlite3
import sys
from pathlib import Path

import pytest
from evalharness.cache import Store

from conftest import error_lines, run_cli, write_three_sentence_run

UPPER = "import sys\nfor line in sys.stdin:\n    print(line.rstrip('\\n').upper(), flush=True)\n"


def project(folder: Path) -> Path:
    (folder / "upper.py").write_text(UPPER, encoding="utf-8")
    return write_three_sentence_run(
        folder, f"  - {{name: upper, engine: command, command: [{sys.executable}, upper.py]}}"
    )


def run(folder: Path, cache: Path, *args):
    return run_cli(*args, cwd=folder, env={"EVALHARNESS_CACHE_DIR": str(cache)})


def damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "random bytes":
        path.write_bytes(random.Random(0).randbytes(len(data)))
    else:  # truncated: the header survives, the pages do not
        path.write_bytes(data[:300])


@pytest.mark.parametrize("how", ["random bytes", "truncated"])
def test_a_damaged_cache_file_is_one_line_in_run_and_stats_and_clear_recovers(tmp_path, how):
    config, cache = project(tmp_path), tmp_path / "cache"
    assert run(tmp_path, cache, "run", config, "--output-dir", tmp_path / "out").returncode == 0
    for side in ("-wal", "-shm"):
        Path(f"{cache / 'translations.sqlite'}{side}").unlink(missing_ok=True)
    damage(cache / "translations.sqlite", how)
    for args in (["run", config, "--output-dir", tmp_path / "again"], ["cache", "stats"]):
        proc = run(tmp_path, cache, *args)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        [line] = error_lines(proc.stderr)
        assert "translations.sqlite: the cache file is damaged" in line and "evalharness cache clear" in line
    assert not (tmp_path / "again").exists()
    proc = run(tmp_path, cache, "cache", "clear")
    assert proc.returncode == 0 and "was damaged; removed the file" in proc.stdout, proc.stderr
    assert run(tmp_path, cache, "run", config, "--output-dir", tmp_path / "again").returncode == 0


def test_a_flipped_byte_in_a_value_is_a_miss_and_is_translated_again(tmp_path):
    store = Store(tmp_path / "t.sqlite", "translations")
    store.put_many([("a", "first translation"), ("b", "second translation")])
    store.close()
    with sqlite3.connect(tmp_path / "t.sqlite") as db:
        blob = bytearray(db.execute("SELECT value FROM translations WHERE key = 'a'").fetchone()[0])
        blob[len(blob) // 2] ^= 0xFF
        db.execute("UPDATE translations SET value = ? WHERE key = 'a'", (bytes(blob),))
    store = Store(tmp_path / "t.sqlite", "translations")
    assert store.get("a") is None and store.get("b") == "second translation"
    store.put("a", "again")
    assert store.get("a") == "again"
    store.close()


def test_cache_clear_on_healthy_caches_still_counts_entries(tmp_path):
    config, cache = project(tmp_path), tmp_path / "cache"
    run(tmp_path, cache, "run", config, "--output-dir", tmp_path / "out")
    proc = run(tmp_path, cache, "cache", "clear")
    assert proc.returncode == 0 and "translation cache: removed 3 entries" in proc.stdout
    assert os.path.exists(cache / "translations.sqlite")
