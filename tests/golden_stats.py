"""sacrebleu's own per-segment statistics of all 21 WMT22 systems, computed once and stored in tests/golden/.

Re-running sacrebleu's pure-Python TER, BLEU and chrF on every WMT22 segment took about a third of the whole test
suite. `scripts/make_golden_stats.py` computes them once with the pinned sacrebleu (`SACREBLEU_VERSION`, and it
refuses any other) and writes them, tagged with that version and the sha256 of every data file they come from;
the exhaustive tests compare the harness's compiled statistics with these files. `tests/test_golden_stats.py`
checks the files: their data hashes against data/wmt22, and a random sample of segments against sacrebleu as
installed.

What is stored, per pair, metric and references: the statistics `_extract_corpus_statistics` returns (the step
of `corpus_score` before the sum), one row per segment, for reference A alone and for references A and B.
"""

from __future__ import annotations

import hashlib
import io
import json
import lzma
import multiprocessing
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import sacrebleu
from sacrebleu.metrics import BLEU, CHRF, TER

ROOT = Path(__file__).resolve().parents[1]
WMT22 = ROOT / "data" / "wmt22"
GOLDEN = ROOT / "tests" / "golden" / "wmt22-sacrebleu-stats.npz.xz"
SACREBLEU_VERSION = "2.6.0"  # the release the golden file was computed with; the generator refuses any other

PAIRS = ("de-en", "zh-en")
METRICS: dict[str, Callable[[], BLEU | CHRF | TER]] = {
    "BLEU": BLEU,
    "chrF": CHRF,
    "chrF++": lambda: CHRF(word_order=2),
    "TER": TER,
}
METRIC_CALLS = {"BLEU": "BLEU()", "chrF": "CHRF()", "chrF++": "CHRF(word_order=2)", "TER": "TER()"}  # as written
REFERENCES = {"A": ("A",), "A+B": ("A", "B")}


def systems(pair: str) -> list[str]:
    """The WMT22 systems of a pair, as data/wmt22/system-outputs names them, sorted."""
    return sorted(
        p.name.split(".hyp.")[1][: -len(".en")] for p in (WMT22 / "system-outputs").glob(f"*.{pair}.hyp.*.en")
    )


def hypothesis_file(pair: str, system: str) -> Path:
    return WMT22 / "system-outputs" / f"generaltest2022.{pair}.hyp.{system}.en"


def reference_file(pair: str, name: str) -> Path:
    return WMT22 / "references" / f"generaltest2022.{pair}.ref.{name}.en"


def read_lines(path: Path) -> list[str]:
    """As evalharness.textio.read_lines reads a data file: UTF-8, one segment a line, the final newline dropped."""
    from evalharness.textio import read_lines as harness_read_lines

    return harness_read_lines(path)


def data_files() -> list[Path]:
    """Every file the statistics are computed from."""
    files = []
    for pair in PAIRS:
        files += [reference_file(pair, name) for name in ("A", "B")]
        files += [hypothesis_file(pair, system) for system in systems(pair)]
    return files


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def data_hashes() -> dict[str, str]:
    """sha256 of each data file, by its path inside the repository."""
    return {str(path.relative_to(ROOT)): sha256(path) for path in data_files()}


def segments(pair: str, system: str, refs: str) -> tuple[list[str], list[list[str]]]:
    """(hypotheses, reference streams) of one system, every segment."""
    hyps = read_lines(hypothesis_file(pair, system))
    return hyps, [read_lines(reference_file(pair, name)) for name in REFERENCES[refs]]


def sacrebleu_statistics(metric: str, hyps: list[str], ref_streams: list[list[str]]) -> list[list]:
    """sacrebleu's own per-segment statistics, as `corpus_score` computes them before summing."""
    return METRICS[metric]()._extract_corpus_statistics(hyps, ref_streams)


# ------------------------------------------------------------------------------------------ the generator


def memoised_ter(original: Callable[[list[str], list[str]], tuple[int, int]]):
    """sacrebleu's own `translation_edit_rate` (a pure function, its pure-Python TER), computed once per
    (hypothesis, reference): with references A+B, TER combines the two as it does, but A's edit distances are not
    recomputed. The one memoiser of the tests (conftest's block, test_ter_compiled's fixture, this module)."""
    memo: dict[tuple[tuple[str, ...], tuple[str, ...]], tuple[int, int]] = {}

    def remembered(words_hyp: list[str], words_ref: list[str]) -> tuple[int, int]:
        key = (tuple(words_hyp), tuple(words_ref))
        if key not in memo:
            memo[key] = original(words_hyp, words_ref)
        return memo[key]

    return remembered


def _remember_ter() -> None:
    """sacrebleu's TER memoised for the rest of this process (`memoised_ter`)."""
    import sacrebleu.metrics.ter as ter_module

    ter_module.translation_edit_rate = memoised_ter(ter_module.translation_edit_rate)


def _chunk(job: tuple[str, int, int]) -> dict[tuple[str, str, str], list[list]]:
    """Worker: every metric's statistics of segments start:end of every system of a pair, for both reference
    sets (the systems side by side, so that a hypothesis two systems share is scored by TER once)."""
    pair, start, end = job
    out = {}
    for system in systems(pair):
        for refs in REFERENCES:
            hyps, streams = segments(pair, system, refs)
            for metric in METRICS:
                rows = sacrebleu_statistics(metric, hyps[start:end], [s[start:end] for s in streams])
                out[(system, metric, refs)] = rows
    return out


CHUNK = 25  # segments per job


def jobs() -> list[tuple[str, int, int]]:
    """(pair, start, end): every pair's segments in chunks, the unit of work (and of resuming)."""
    out = []
    for pair in PAIRS:
        n = len(read_lines(reference_file(pair, "A")))
        out += [(pair, start, min(n, start + CHUNK)) for start in range(0, n, CHUNK)]
    return out


def _chunk_file(work: Path, job: tuple[str, int, int]) -> Path:
    pair, start, end = job
    return work / f"{pair}.{start:05d}-{end:05d}.json"


def _chunk_into(task: tuple[Path, tuple[str, int, int]]) -> bool:
    """Worker: one chunk into its file, unless another run wrote it meanwhile (False then)."""
    work, job = task
    if _chunk_file(work, job).exists():
        return False
    rows = [[system, metric, refs, stats] for (system, metric, refs), stats in _chunk(job).items()]
    temporary = _chunk_file(work, job).with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(json.dumps(rows), encoding="utf-8")  # floats as repr: read back exactly
    temporary.replace(_chunk_file(work, job))
    return True


def compute(work: Path, processes: int, part: tuple[int, int] = (0, 1)) -> None:
    """Computes the chunks of `part` (k, n: every n-th chunk from the k-th) that `work` does not hold, in
    `processes` processes, each into a file of its own: a run that is stopped resumes where it was, and several
    runs (each its own part) can share the work."""
    k, n = part
    todo = jobs()[k::n]
    work.mkdir(parents=True, exist_ok=True)
    with multiprocessing.get_context("fork").Pool(processes, initializer=_remember_ter) as pool:
        for done, _ in enumerate(pool.imap_unordered(_chunk_into, [(work, job) for job in todo]), 1):
            print(f"part {k}/{n}: {done}/{len(todo)} chunks of {CHUNK} segments", end="\r", flush=True)
    print()


def collect(work: Path) -> dict[tuple[str, str, str, str], list[list]] | None:
    """{(pair, system, metric, refs): per-segment statistics} from the chunk files; None while some are missing."""
    if not all(_chunk_file(work, job).exists() for job in jobs()):
        return None
    stats: dict[tuple[str, str, str, str], list[list]] = {}
    for job in jobs():
        for system, metric, refs, rows in json.loads(_chunk_file(work, job).read_text(encoding="utf-8")):
            stats.setdefault((job[0], system, metric, refs), []).extend(rows)
    return stats


def _smallest_int(values: np.ndarray) -> np.ndarray:
    for dtype in (np.uint8, np.uint16, np.uint32, np.int64):
        if values.min() >= np.iinfo(dtype).min and values.max() <= np.iinfo(dtype).max:
            return values.astype(dtype)
    raise AssertionError("unreachable")


def _key(pair: str, metric: str, refs: str, column: str = "") -> str:
    return "/".join(part for part in (pair, metric, refs, column) if part)


def encode(stats: dict[tuple[str, str, str, str], list[list]]) -> dict[str, np.ndarray]:
    """The statistics as arrays, one per pair, metric and references, shaped (statistic, system, segment) so that
    each statistic's values lie together (they compress best so): integer statistics in the smallest integer type
    that holds them; TER's edits an integer array and its reference length (a float, the mean over references) a
    float64 array, which holds it exactly."""
    arrays = {}
    for pair in PAIRS:
        for metric in METRICS:
            for refs in REFERENCES:
                rows = np.array([stats[(pair, system, metric, refs)] for system in systems(pair)], dtype=object)
                if metric == "TER":
                    assert all(type(e) is int and type(r) is float for e, r in rows.reshape(-1, 2)), "TER: [int, float]"
                    arrays[_key(pair, metric, refs, "edits")] = _smallest_int(rows[:, :, 0].astype(np.int64))
                    arrays[_key(pair, metric, refs, "ref_length")] = rows[:, :, 1].astype(np.float64)
                else:
                    assert all(type(v) is int for v in rows.flat), f"{metric}: integer statistics"
                    arrays[_key(pair, metric, refs)] = _smallest_int(rows.astype(np.int64).transpose(2, 0, 1))
    return arrays


def write(path: Path = GOLDEN, processes: int = 2, work: Path | None = None, part: tuple[int, int] = (0, 1)) -> bool:
    """Computes every statistic with the installed sacrebleu (which must be SACREBLEU_VERSION) and writes `path`
    once every part is done (True then); `work` keeps the finished chunks (default: a folder beside `path`)."""
    if sacrebleu.__version__ != SACREBLEU_VERSION:
        raise SystemExit(
            f"sacrebleu {sacrebleu.__version__} is installed; the golden statistics are made with the pinned "
            f"sacrebleu {SACREBLEU_VERSION} only (change SACREBLEU_VERSION in {Path(__file__).name} deliberately)"
        )
    work = work or path.parent / f".{path.name.split('.')[0]}.work-sacrebleu-{SACREBLEU_VERSION}"
    compute(work, processes, part)
    stats = collect(work)
    if stats is None:
        return False
    save(path, stats)
    shutil.rmtree(work, ignore_errors=True)  # (another part may have written the same file at the same time)
    return True


def save(path: Path, stats: dict[tuple[str, str, str, str], list[list]]) -> None:
    """`path`: the statistics (`encode`) and what they were made from and with (`meta`)."""
    arrays = encode(stats)
    meta = {
        "sacrebleu": sacrebleu.__version__,
        "data_sha256": data_hashes(),
        "systems": {pair: systems(pair) for pair in PAIRS},
        "metrics": METRIC_CALLS,
        "references": REFERENCES,
        "generator": "scripts/make_golden_stats.py",
    }
    arrays["meta"] = np.frombuffer(json.dumps(meta, indent=1, sort_keys=True).encode("utf-8"), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    np.savez(buffer, **dict(sorted(arrays.items())))  # then xz: half the size of savez_compressed's zip deflate
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_bytes(lzma.compress(buffer.getvalue(), preset=9 | lzma.PRESET_EXTREME))
    temporary.replace(path)


# ------------------------------------------------------------------------------------------ the reader


class Golden:
    """The stored statistics, read once."""

    def __init__(self, path: Path = GOLDEN):
        with np.load(io.BytesIO(lzma.decompress(path.read_bytes()))) as npz:
            self.arrays = {name: npz[name] for name in npz.files}
        self.meta = json.loads(self.arrays.pop("meta").tobytes().decode("utf-8"))

    @property
    def sacrebleu_version(self) -> str:
        return self.meta["sacrebleu"]

    def statistics(self, pair: str, system: str, metric: str, refs: str) -> list[list]:
        """One system's per-segment statistics as sacrebleu returns them (ints; TER's reference length a float)."""
        k = self.meta["systems"][pair].index(system)
        if metric == "TER":
            edits = self.arrays[_key(pair, metric, refs, "edits")][k].tolist()
            lengths = self.arrays[_key(pair, metric, refs, "ref_length")][k].tolist()
            return [[int(e), float(r)] for e, r in zip(edits, lengths, strict=True)]
        return self.arrays[_key(pair, metric, refs)][:, k, :].T.tolist()
