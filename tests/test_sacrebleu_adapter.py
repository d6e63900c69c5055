"""sacrebleu's private names are used in one module only, which refuses a sacrebleu it was not written against in
one line, and scores through it are sacrebleu's own (real sacrebleu, no mocks of the scoring)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import evalharness
import numpy as np
import pytest
import sacrebleu
import sacrebleu.significance
from evalharness.errors import UserError
from evalharness.metrics import make_metric
from evalharness.metrics import sacrebleu_adapter as sb
from evalharness.metrics.bleu import BleuConfig
from evalharness.textio import read_lines
from sacrebleu.dataset.wmt_xml import WMTXMLDataset
from sacrebleu.metrics import BLEU, CHRF, TER

from conftest import wmt22_path

PACKAGE = Path(evalharness.__file__).parent
ADAPTER = Path(sb.__file__).resolve()
# Named in the task and used by evalharness at some point; the rest comes from sacrebleu itself (below).
KNOWN_PRIVATE = {
    "_aggregate_and_compute",
    "_compute_segment_statistics",
    "_cache_references",
    "_preprocess_segment",
    "_compute_score_from_stats",
    "_extract_reference_info",
    "_TOKENIZERS",
    "_rawdir",
    "_get_tarball_filename",
    "_compute_p_value",
    "_unwrap_wmt21_or_later",
    "_clean",
    "_bootstrap_resample",
    "_paired_bs_test",
    "_paired_ar_test",
}
EXPECTED = "evalharness needs sacrebleu >=2.6,<2.7 (pip install 'sacrebleu>=2.6,<2.7')"


def sacrebleu_private_names() -> set[str]:
    """Private names (not dunder) of sacrebleu's modules, metric and dataset classes and their instances."""
    import sacrebleu.significance
    import sacrebleu.utils
    from sacrebleu.dataset import DATASETS
    from sacrebleu.dataset import base as dataset_base
    from sacrebleu.metrics import base, bleu, chrf, ter

    objects = [
        sacrebleu,
        sacrebleu.significance,
        sacrebleu.utils,
        base,
        bleu,
        chrf,
        ter,
        dataset_base,
        base.Metric,
        base.Score,
        base.Signature,
        BLEU,
        CHRF,
        TER,
        BLEU(),
        CHRF(),
        TER(),
        dataset_base.Dataset,
        WMTXMLDataset,
        *DATASETS.values(),
    ]
    derived = {name for obj in objects for name in dir(obj) if name.startswith("_") and not name.startswith("__")}
    return derived | KNOWN_PRIVATE


def private_uses(source: str, private: set[str]) -> list[str]:
    """Uses of sacrebleu's private names in a module's source: imports of `_x` from sacrebleu, `obj._x` for a
    sacrebleu private name on anything but `self`/`cls`, writing `obj.num_refs` (sacrebleu's internal), and a
    bare name from KNOWN_PRIVATE (however it was imported)."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "sacrebleu":
            found += [
                (node.lineno, f"from {node.module} import {a.name}") for a in node.names if a.name.startswith("_")
            ]
        elif isinstance(node, ast.Import):
            found += [
                (node.lineno, f"import {a.name}")
                for a in node.names
                if a.name.split(".")[0] == "sacrebleu" and any(p.startswith("_") for p in a.name.split("."))
            ]
        elif isinstance(node, ast.Attribute):
            own = isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")
            if node.attr in private and not own:
                found.append((node.lineno, f".{node.attr}"))
            elif node.attr == "num_refs" and isinstance(node.ctx, ast.Store):
                found.append((node.lineno, ".num_refs ="))
        elif isinstance(node, ast.Name) and node.id in KNOWN_PRIVATE:  # imported some other way
            found.append((node.lineno, node.id))
    return [f"line {line}: {what}" for line, what in sorted(found)]


# ---------------------------------------------------------------------------- (1) one module uses internals


def test_the_heuristic_finds_private_uses():
    private = sacrebleu_private_names()
    source = (
        "from sacrebleu.metrics.bleu import _TOKENIZERS\nfrom sacrebleu.significance import estimate_ci\n"
        "import sacrebleu.significance as s\n"
        "x = scorer._aggregate_and_compute(stats)\np = s._compute_p_value(a, b)\nscorer.num_refs = 2\n"
        "y = self._aggregate_and_compute\nz = ds._rawdir\nn = scorer.num_refs\nq = _compute_p_value(a, b)\n"
    )
    assert private_uses(source, private) == [
        "line 1: from sacrebleu.metrics.bleu import _TOKENIZERS",
        "line 4: ._aggregate_and_compute",
        "line 5: ._compute_p_value",
        "line 6: .num_refs =",
        "line 8: ._rawdir",
        "line 10: _compute_p_value",
    ]


def test_only_the_adapter_uses_private_sacrebleu_names():
    private = sacrebleu_private_names()
    offenders = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.resolve() == ADAPTER:
            continue
        found = private_uses(path.read_text(encoding="utf-8"), private)
        if found:
            offenders[str(path.relative_to(PACKAGE.parent))] = found
    assert not offenders, f"private sacrebleu names outside {ADAPTER.name}: {offenders}"
    assert private_uses(ADAPTER.read_text(encoding="utf-8"), private)  # the walk does see the adapter's uses


# ------------------------------------------------------------------------------- (2) unsupported versions


def test_pyproject_pins_the_supported_range():
    import tomllib

    project = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pins = [dep.replace(" ", "") for dep in project["dependencies"] if re.match(r"sacrebleu\b", dep)]
    assert pins == [f"sacrebleu{sb.SUPPORTED}"]


def test_the_installed_sacrebleu_is_supported():
    sb.check_version()
    assert sb.installed_version() == sacrebleu.__version__


@pytest.mark.parametrize("version", ["3.0.0", "2.7.0", "2.5.1", "2.7.0rc1", "1.5.1", "nonsense"])
def test_an_unsupported_version_is_one_line(monkeypatch, version):
    monkeypatch.setattr(sacrebleu, "__version__", version)
    with pytest.raises(UserError) as err:
        sb.check_version()
    message = str(err.value)
    assert message == f"sacrebleu {version} is not supported: {EXPECTED}"
    assert "\n" not in message


@pytest.mark.parametrize("version", ["2.6.0", "2.6.3", "2.6.1.dev2+g123"])
def test_supported_versions_pass(monkeypatch, version):
    monkeypatch.setattr(sacrebleu, "__version__", version)
    sb.check_version()


def test_the_first_metric_made_refuses_an_unsupported_version(monkeypatch, capsys):
    """Where the check runs: making a metric (config validation, plan, `score`), so before any work."""
    from evalharness.cli import main

    monkeypatch.setattr(sacrebleu, "__version__", "3.0.0")
    monkeypatch.setattr(sb, "_checked", False)
    with pytest.raises(UserError, match="^sacrebleu 3.0.0 is not supported"):
        make_metric(BleuConfig(name="bleu"))
    assert main(["list"]) == 2
    err = capsys.readouterr().err
    assert err == f"evalharness: error: sacrebleu 3.0.0 is not supported: {EXPECTED}\n"


def test_the_check_runs_once_per_process(monkeypatch):
    calls = []
    monkeypatch.setattr(sb, "_checked", False)
    monkeypatch.setattr(sb, "check_version", lambda: calls.append(1))
    for _ in range(3):
        make_metric(BleuConfig(name="bleu"))
    assert calls == [1]


# --------------------------------------------------------------------------------- (3) a renamed internal


@pytest.mark.parametrize(
    "owner,name,shown",
    [
        (sacrebleu.significance, "_compute_p_value", "sacrebleu.significance._compute_p_value"),
        (WMTXMLDataset, "_unwrap_wmt21_or_later", "sacrebleu.dataset.wmt_xml.WMTXMLDataset._unwrap_wmt21_or_later"),
        (CHRF, "_compute_segment_statistics", "sacrebleu.metrics.chrf.CHRF._compute_segment_statistics"),
    ],
)
def test_a_missing_private_name_is_one_line(monkeypatch, owner, name, shown):
    monkeypatch.delattr(owner, name)
    with pytest.raises(UserError) as err:
        sb.check_version()
    message = str(err.value)
    assert message == f"sacrebleu {sacrebleu.__version__} is not supported (it has no {shown}): {EXPECTED}"
    assert "\n" not in message


def test_a_missing_module_is_one_line(monkeypatch):
    import sacrebleu.dataset.wmt_xml as module

    monkeypatch.delattr(module, "WMTXMLDataset")
    with pytest.raises(UserError, match=r"\(it has no sacrebleu\.dataset\.wmt_xml\.WMTXMLDataset\)"):
        sb.check_version()


# ------------------------------------------------------------------------ (4) scores equal sacrebleu's own


@pytest.fixture(scope="module")
def sentences():
    n = 12
    refs = [
        read_lines(wmt22_path("references", "generaltest2022.de-en.ref.A.en"))[:n],
        read_lines(wmt22_path("references", "generaltest2022.de-en.ref.B.en"))[:n],
    ]
    hyps = read_lines(wmt22_path("system-outputs", "generaltest2022.de-en.hyp.LT22.en"))[:n]
    return hyps, refs


@pytest.mark.parametrize(
    "make",
    [
        lambda: BLEU(trg_lang="en"),
        lambda: BLEU(tokenize="intl", lowercase=True),
        lambda: CHRF(),
        lambda: CHRF(word_order=2),
        lambda: TER(),
    ],
    ids=["bleu", "bleu-intl", "chrf", "chrf++", "ter"],
)
@pytest.mark.parametrize("n_refs", [1, 2])
def test_scores_through_the_adapter_equal_corpus_score(sentences, make, n_refs):
    hyps, refs = sentences
    refs = refs[:n_refs]
    scorer = make()
    infos = sb.cache_references(scorer, refs)
    stats = [sb.segment_statistics(scorer, hyp, info) for hyp, info in zip(hyps, infos, strict=True)]
    theirs = make()
    expected = theirs.corpus_score(hyps, refs)
    assert sb.aggregate(scorer, stats).score == expected.score
    fresh = make()  # statistics from a cache or a worker: only the number of references is told
    sb.set_num_refs(fresh, n_refs)
    assert sb.aggregate(fresh, stats).score == expected.score
    assert fresh.get_signature().format() == theirs.get_signature().format()
    if not isinstance(scorer, BLEU):  # sentence BLEU needs effective order, a different scorer
        for hyp, seg, *seg_refs in zip(hyps, stats, *refs, strict=True):
            assert sb.score_from_stats(scorer, seg).score == make().sentence_score(hyp, seg_refs).score


def test_p_value_and_tokenizers_are_sacrebleus():
    differences = np.array([0.5, 2.0, 3.0, 0.1])
    assert sb.p_value(differences, 1.0) == sacrebleu.significance._compute_p_value(differences, 1.0) == 3 / 5
    assert sb.bleu_tokenizers() == list(BLEU.TOKENIZERS) and "13a" in sb.bleu_tokenizers()


def test_dataset_paths_are_sacrebleus():
    from sacrebleu.dataset import DATASETS

    ds = DATASETS["wmt22"]
    url = ds.data[0]
    assert sb.raw_dir(ds) == ds._rawdir
    assert sb.tarball_path(ds, url) == str(Path(ds._rawdir) / ds._get_tarball_filename(url))
    assert sb.clean_segment("  a\u00a0 b\t c ") == WMTXMLDataset._clean("  a\u00a0 b\t c ") == "a b c"
