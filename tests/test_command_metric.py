"""External scorers through the JSON-lines protocol (evalharness.metrics.command), with a stand-in program: a
small Python script that scores a segment by the share of the reference's words the hypothesis contains."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import evalharness
import pytest
from evalharness.errors import UserError
from evalharness.metrics import make_metric
from evalharness.metrics.command import CommandConfig

from conftest import error_lines, run_cli_here, write_three_sentence_run

SCORER = r"""
import json, os, sys
if os.environ.get("EVALHARNESS_CHECK") == "1":  # the check request before a run: is the model there?
    if os.environ.get("STANDIN_MODE") == "no-model":
        print("model xyz is not in the local cache; download it first", file=sys.stderr)
        sys.exit(3)
    sys.exit(0)
seen = 0
for line in sys.stdin:
    item = json.loads(line)
    seen += 1
    ref = item["ref"].split()
    mt = set(item["mt"].split())
    share = sum(w in mt for w in ref) / max(1, len(ref))
    mode = os.environ.get("STANDIN_MODE", "")
    if mode == "object":
        print(json.dumps({"score": share, "src_words": len(item["src"].split())}))
    elif mode == "text" and seen == 2:
        print("n/a")
    elif mode == "short" and seen == 2:
        continue
    else:
        print(share)
if os.environ.get("STANDIN_LOG"):
    with open(os.environ["STANDIN_LOG"], "a") as log:
        log.write(f"{seen}\n")
if os.environ.get("STANDIN_MODE") == "fail":
    print("model xyz is not in the local cache; download it first", file=sys.stderr)
    sys.exit(3)
"""


def share(hyp: str, ref: str) -> float:
    words = ref.split()
    return sum(w in set(hyp.split()) for w in words) / max(1, len(words))


@pytest.fixture
def program(tmp_path) -> list[str]:
    path = tmp_path / "standin.py"
    path.write_text(SCORER, encoding="utf-8")
    return [sys.executable, str(path)]


def metric(program: list[str], **options):
    return make_metric(CommandConfig(name="command", label="Overlap", command=program, **options))


REFS = [["the cat sat on the mat", "a dog barked", "it rained all day"]]
SYSTEMS = {"a": ["the cat sat", "a dog barked", "sun all day"], "b": ["the cat sat", "the dog", "it rained"]}


def test_scores_are_what_the_program_writes_times_the_scale(program):
    found = metric(program, scale=100).segment_scores("en", REFS, SYSTEMS, None, None)
    for name, hyps in SYSTEMS.items():
        assert found[name] == pytest.approx([100 * share(h, r) for h, r in zip(hyps, REFS[0], strict=True)])


def test_a_segment_shared_by_systems_is_sent_once(program, tmp_path, monkeypatch):
    monkeypatch.setenv("STANDIN_LOG", str(tmp_path / "log"))
    metric(program).segment_scores("en", REFS, SYSTEMS, None, None)
    assert (tmp_path / "log").read_text() == "5\n"  # 6 hypotheses, "the cat sat" twice for the same segment


def test_a_json_object_with_a_score_is_read(program, monkeypatch):
    monkeypatch.setenv("STANDIN_MODE", "object")
    found = metric(program).segment_scores("en", REFS, {"a": SYSTEMS["a"]}, ["x y", "z", ""], "de")
    assert found["a"] == pytest.approx([share(h, r) for h, r in zip(SYSTEMS["a"], REFS[0], strict=True)])


@pytest.mark.parametrize(
    "mode, message",
    [
        ("fail", r"exited with status 3: model xyz is not in the local cache; download it first"),
        ("text", r"output line 2 is not a score: 'n/a'"),
        ("short", r"wrote 4 score lines for 5 segments"),
    ],
)
def test_a_broken_program_is_one_line_naming_the_metric(program, monkeypatch, mode, message):
    monkeypatch.setenv("STANDIN_MODE", mode)
    with pytest.raises(UserError, match=message) as err:
        metric(program).segment_scores("en", REFS, SYSTEMS, None, None)
    assert str(err.value).startswith("metric Overlap (") and "\n" not in str(err.value)


def test_a_missing_program_fails_before_any_work():
    with pytest.raises(UserError, match="command 'no-such-scorer' not found"):
        metric(["no-such-scorer", "--x"]).check("en")


def test_the_check_request_reports_a_missing_model_in_one_line(program, monkeypatch):
    monkeypatch.setenv("STANDIN_MODE", "no-model")
    with pytest.raises(UserError) as err:
        metric(program).check("en")
    assert str(err.value) == (
        f"metric Overlap ({' '.join(program)}): exited with status 3: "
        "model xyz is not in the local cache; download it first"
    )


def test_a_program_that_knows_nothing_of_the_check_request_passes_it():
    metric([sys.executable, "-c", "import sys; sys.stdin.read()"]).check("en")


def test_dry_run_stops_on_a_metric_whose_model_is_missing(program, tmp_path):
    scorer = json.dumps({"name": "command", "label": "Overlap", "command": program})
    config = write_three_sentence_run(tmp_path, "  - {name: copy, engine: identity}", metrics=f"[bleu, {scorer}]")
    proc = run_cli_here("run", config, "--dry-run", env={"STANDIN_MODE": "no-model"})
    assert proc.returncode == 2, proc.stderr
    assert error_lines(proc.stderr) == [
        f"evalharness: error: metric Overlap ({' '.join(program)}): exited with status 3: "
        "model xyz is not in the local cache; download it first"
    ]
    assert run_cli_here("run", config, "--dry-run").returncode == 0


def test_the_signature_names_the_program_and_its_version(program):
    sig = metric(program, version="comet-22-da").build("en").get_signature().format()
    assert sig == "nrefs:1|cmd:" + Path(program[0]).name + "|version:comet-22-da"
    before = metric(program).build("en").get_signature().format()
    assert "|version:sha256-" in before
    Path(program[1]).write_text(SCORER + "\n# changed\n", encoding="utf-8")
    assert metric(program).build("en").get_signature().format() != before  # the script is part of the version


def test_in_a_run_it_gets_cis_and_a_paired_test_and_hits_the_score_cache(program, tmp_path, monkeypatch):
    monkeypatch.setenv("EVALHARNESS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("STANDIN_LOG", str(tmp_path / "log"))
    (tmp_path / "ref.txt").write_text("\n".join(REFS[0]) + "\n", encoding="utf-8")
    (tmp_path / "src.txt").write_text("eins\nzwei\ndrei\n", encoding="utf-8")
    for name, hyps in SYSTEMS.items():
        (tmp_path / f"hyp.{name}.txt").write_text("\n".join(hyps) + "\n", encoding="utf-8")
    cfg = {
        "run_name": "cmd",
        "datasets": [
            {
                "name": "toy",
                "kind": "parallel",
                "langpair": "de-en",
                "source": str(tmp_path / "src.txt"),
                "references": [str(tmp_path / "ref.txt")],
            }
        ],
        "systems": [{"name": "mt", "engine": "outputs", "path": str(tmp_path / "hyp.{system}.txt")}],
        "metrics": [{"name": "command", "label": "Overlap", "command": program, "scale": 100}],
        "statistics": {"bootstrap": 100, "baseline": "a"},
        "workers": 1,
    }
    first = evalharness.run(cfg, output_dir=tmp_path / "out")
    scores = first.scores.set_index("system")
    assert scores.loc["a", "score"] == pytest.approx(100 * (0.5 + 1 + 2 / 3) / 3)
    assert scores.loc["b", "p_value"] > 0 and scores.loc["a", "ci_low"] <= scores.loc["a", "score"]
    evalharness.run(cfg, write=False)
    assert (tmp_path / "log").read_text() == "5\n"  # the rerun came from the score cache
    signatures = set(first.scores["signature"])
    assert len(signatures) == 1 and signatures.pop().startswith(
        "nrefs:1|cmd:" + Path(program[0]).name + "|version:sha256-"
    )


def test_list_names_every_metric_the_command_metric_with_what_it_needs():
    """`evalharness list` cannot build a `command` metric without its options: it says which options it needs."""
    from conftest import run_cli_here

    proc = run_cli_here("list")
    assert proc.returncode == 0, proc.stderr
    metrics = proc.stdout.split("metrics:\n", 1)[1].splitlines()
    assert [line.split()[0] for line in metrics] == ["bleu", "chrf", "chrf++", "ter", "embedding", "command"]
    command = metrics[-1]
    assert "label" in command and "command" in command.split(None, 1)[1], command
