"""A damaged cache (random bytes, a truncated file, a flipped byte in a value) never gives a traceback: `run` and
`cache stats` say so in one line, `cache clear` always recovers, and an undecodable entry is a miss. Every cache
the harness keeps is listed, checked and cleared by `cache stats|clear`, one or all; a read-only cache folder is
read by `stats` and is one line for `clear`, never called damaged."""

from __future__ import annotations

import os
import random
import sqlite3
import sys
from pathlib import Path

import numpy as np
import pytest
from evalharness.cache import Store
from evalharness.fileid import file_sha256
from evalharness.metrics.embedding import EmbeddingCache

from conftest import error_lines, run_cli_here, run_cli_read_only, write_three_sentence_run

UPPER = "import sys\nfor line in sys.stdin:\n    print(line.rstrip('\\n').upper(), flush=True)\n"


def project(folder: Path) -> Path:
    (folder / "upper.py").write_text(UPPER, encoding="utf-8")
    return write_three_sentence_run(
        folder, f"  - {{name: upper, engine: command, command: [{sys.executable}, upper.py]}}"
    )


def run(folder: Path, cache: Path, *args):
    return run_cli_here(*args, cwd=folder, env={"EVALHARNESS_CACHE_DIR": str(cache)})


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


def fill_embedding_and_file_hash_caches(folder: Path) -> None:
    """An entry in each of the caches the models' code keeps (the cache folder is the test's private one)."""
    embeddings = EmbeddingCache("model-sha256")
    embeddings.vectors(["a text"], lambda texts: np.ones((len(texts), 4), dtype=np.float32))
    embeddings.close()
    (folder / "model.bin").write_bytes(b"weights")
    file_sha256(folder / "model.bin")


def test_cache_stats_lists_every_cache_the_harness_keeps(tmp_path, private_cache):
    config = project(tmp_path)
    assert run(tmp_path, private_cache, "run", config, "--output-dir", tmp_path / "out").returncode == 0
    fill_embedding_and_file_hash_caches(tmp_path)
    proc = run(tmp_path, private_cache, "cache", "stats")
    assert proc.returncode == 0, proc.stderr
    labels = [line.split(":")[0] for line in proc.stdout.splitlines()]
    assert labels == ["translation cache", "score cache", "embedding cache", "model file hash cache"]
    assert "embeddings.sqlite: 1 entries" in proc.stdout and "filehashes.sqlite: 0 entries" not in proc.stdout


@pytest.mark.parametrize("name,filename", [("embeddings", "embeddings.sqlite"), ("filehashes", "filehashes.sqlite")])
def test_a_damaged_embedding_or_file_hash_cache_is_named_by_stats_and_removed_by_clear(
    tmp_path, private_cache, name, filename
):
    fill_embedding_and_file_hash_caches(tmp_path)
    for side in ("-wal", "-shm"):
        Path(f"{private_cache / filename}{side}").unlink(missing_ok=True)
    damage(private_cache / filename, "random bytes")
    proc = run(tmp_path, private_cache, "cache", "stats")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    [line] = error_lines(proc.stderr)
    assert f"{filename}: the cache file is damaged" in line and "evalharness cache clear" in line
    proc = run(tmp_path, private_cache, "cache", "clear")
    assert proc.returncode == 0 and f"{filename} was damaged; removed the file" in proc.stdout, proc.stderr
    assert not (private_cache / filename).exists()


def test_cache_clear_of_one_cache_leaves_the_others(tmp_path, private_cache):
    fill_embedding_and_file_hash_caches(tmp_path)
    proc = run(tmp_path, private_cache, "cache", "clear", "embeddings")
    assert proc.returncode == 0 and proc.stdout.splitlines() == [
        f"embedding cache: removed 1 entries from {private_cache / 'embeddings.sqlite'}"
    ]
    assert "filehashes.sqlite: 1 entries" in run(tmp_path, private_cache, "cache", "stats", "filehashes").stdout


@pytest.fixture
def filled_cache(tmp_path) -> Path:
    """A cache folder with the three-sentence run's translations and scores in it."""
    cache = tmp_path / "cache"
    assert run(tmp_path, cache, "run", project(tmp_path), "--output-dir", tmp_path / "out").returncode == 0
    return cache


def test_cache_stats_reads_a_read_only_cache_folder(filled_cache):
    proc = run_cli_read_only(filled_cache, "cache", "stats", env={"EVALHARNESS_CACHE_DIR": str(filled_cache)})
    assert proc.returncode == 0, proc.stderr
    assert f"translation cache: {filled_cache / 'translations.sqlite'}: 3 entries" in proc.stdout
    assert "damaged" not in proc.stdout + proc.stderr


def test_cache_clear_on_a_read_only_cache_folder_is_one_line_and_removes_nothing(filled_cache):
    before = {path.name: path.read_bytes() for path in filled_cache.iterdir()}
    proc = run_cli_read_only(filled_cache, "cache", "clear", env={"EVALHARNESS_CACHE_DIR": str(filled_cache)})
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    [line] = error_lines(proc.stderr)
    assert f"{filled_cache / 'translations.sqlite'}: cannot use the cache file" in line and "damaged" not in line
    assert {path.name: path.read_bytes() for path in filled_cache.iterdir()} == before
