"""tests/golden/wmt22-sacrebleu-stats.npz.xz, the stored sacrebleu statistics the exhaustive tests compare with
(tests/golden_stats.py): made from the data in the repository, complete, and equal to sacrebleu's own."""

from __future__ import annotations

import random
import subprocess
import sys

import pytest
import sacrebleu

import golden_stats as gs
from conftest import ROOT


@pytest.fixture(scope="module")
def golden() -> gs.Golden:
    return gs.Golden()


def test_the_golden_file_was_made_from_the_data_in_the_repository(golden):
    """A changed hypothesis or reference file needs new golden statistics: scripts/make_golden_stats.py."""
    assert golden.meta["data_sha256"] == gs.data_hashes()


def test_the_golden_file_was_made_with_the_pinned_sacrebleu(golden):
    assert golden.sacrebleu_version == gs.SACREBLEU_VERSION
    assert golden.meta["metrics"] == gs.METRIC_CALLS
    assert golden.meta["references"] == {name: list(refs) for name, refs in gs.REFERENCES.items()}


def test_the_golden_file_holds_every_segment_of_every_system(golden):
    assert golden.meta["systems"] == {pair: gs.systems(pair) for pair in gs.PAIRS}
    assert sum(len(golden.meta["systems"][pair]) for pair in gs.PAIRS) == 21
    for pair in gs.PAIRS:
        for system in gs.systems(pair):
            n = len(gs.read_lines(gs.hypothesis_file(pair, system)))
            for metric in gs.METRICS:
                for refs in gs.REFERENCES:
                    assert len(golden.statistics(pair, system, metric, refs)) == n, (pair, system, metric, refs)


SAMPLE_SEED = 20261207


def sample() -> list[tuple[str, str, list[int]]]:
    """Two systems of each pair, 12 random segments of each (seeded)."""
    rng = random.Random(SAMPLE_SEED)
    chosen = []
    for pair in gs.PAIRS:
        for system in rng.sample(gs.systems(pair), 2):
            n = len(gs.read_lines(gs.hypothesis_file(pair, system)))
            chosen.append((pair, system, sorted(rng.sample(range(n), 12))))
    return chosen


@pytest.mark.parametrize("metric", gs.METRICS)
@pytest.mark.parametrize("refs", gs.REFERENCES)
def test_a_random_sample_equals_sacrebleus_own_statistics(golden, metric, refs):
    """The stored rows against sacrebleu as installed, with `==` and their types (ints; TER's length a float)."""
    for pair, system, picked in sample():
        hyps, streams = gs.segments(pair, system, refs)
        expected = gs.sacrebleu_statistics(metric, [hyps[i] for i in picked], [[s[i] for i in picked] for s in streams])
        stored = golden.statistics(pair, system, metric, refs)
        got = [stored[i] for i in picked]
        assert got == expected, (pair, system, metric, refs)
        assert [list(map(type, row)) for row in got] == [list(map(type, row)) for row in expected]


def test_the_generator_refuses_another_sacrebleu(monkeypatch, tmp_path):
    monkeypatch.setattr(sacrebleu, "__version__", "2.6.99")
    with pytest.raises(SystemExit, match=r"sacrebleu 2\.6\.99 is installed.*pinned sacrebleu 2\.6\.0"):
        gs.write(tmp_path / "golden.npz", processes=1)
    assert not (tmp_path / "golden.npz").exists()


def test_the_generator_script_is_the_one_the_golden_file_names(golden):
    assert (ROOT / golden.meta["generator"]).is_file()
    proc = subprocess.run(
        [sys.executable, str(ROOT / golden.meta["generator"]), "--help"], capture_output=True, text=True, cwd=ROOT
    )
    assert proc.returncode == 0 and "--processes" in proc.stdout, proc.stderr
