"""The `command` engine: an external program translating stdin lines to stdout lines, run for real."""

from __future__ import annotations

import json
import os
import shlex
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from evalharness.cache import Store
from evalharness.errors import UserError
from evalharness.systems.command import CommandConfig, CommandSystem
from evalharness.systems.context import RunContext

from conftest import error_lines, run_cli_here

UPPER = (
    "import sys\n"
    "sys.stdin.reconfigure(encoding='utf-8'); sys.stdout.reconfigure(encoding='utf-8')\n"
    "for line in sys.stdin:\n"
    "    print(line.rstrip('\\n').upper(), flush=True)\n"
)
SOURCES = ["Guten Morgen.", "Grüße aus Köln.", "Das ist ein Test."]


def system(command, **options) -> CommandSystem:
    cfg = {"name": "prog", "engine": "command", "command": command, **options}
    return CommandSystem(CommandConfig.model_validate(cfg))


def python(code: str, *args: str) -> list[str]:
    return [sys.executable, "-c", code, *args]


def test_program_lines_are_the_translations_in_order():
    assert system(python(UPPER)).translate(SOURCES, "de", "en") == [
        "GUTEN MORGEN.",
        "GRÜSSE AUS KÖLN.",
        "DAS IST EIN TEST.",
    ]


def test_command_string_is_split_and_language_placeholders_are_filled():
    code = "import sys\nfor line in sys.stdin: print(sys.argv[1] + '>' + sys.argv[2] + ' ' + line.strip())"
    command = shlex.join(python(code, "{src}", "{tgt}"))
    assert system(command).translate(["a", "b"], "de", "en") == ["de>en a", "de>en b"]


def test_one_line_too_few_is_an_error():
    code = "import sys\nlines = sys.stdin.read().splitlines()\nprint('\\n'.join(lines[:-1]))"
    with pytest.raises(UserError, match=r"program .*python.* printed 2 lines for 3 sources"):
        system(python(code)).translate(SOURCES, "de", "en")


def test_non_zero_exit_reports_the_last_line_of_stderr():
    code = (
        "import sys\nsys.stdin.read()\nprint('loading model', file=sys.stderr)\n"
        "print('model.npz: no such file', file=sys.stderr)\nsys.exit(1)"
    )
    with pytest.raises(UserError, match="exited with status 1: model.npz: no such file$"):
        system(python(code)).translate(SOURCES, "de", "en")


def test_program_running_past_the_timeout_is_stopped():
    started = time.perf_counter()
    with pytest.raises(UserError, match=r"did not finish within 0.5 s for 3 sources"):
        system(python("import time; time.sleep(30)"), timeout=0.5).translate(SOURCES, "de", "en")
    assert time.perf_counter() - started < 5


def test_missing_program_is_an_error():
    with pytest.raises(UserError, match="program not found on PATH: no-such-decoder-xyz"):
        system(["no-such-decoder-xyz", "-m", "model.npz"]).translate(SOURCES, "de", "en")


def test_source_with_a_line_break_is_an_error():
    with pytest.raises(UserError, match="line break"):
        system(python(UPPER)).translate(["one\ntwo"], "de", "en")


def test_env_and_cwd_reach_the_program(tmp_path):
    code = "import os, sys\nfor line in sys.stdin: print(os.environ['GREETING'], os.path.basename(os.getcwd()))"
    (tmp_path / "workdir").mkdir()
    prog = system(python(code), env={"GREETING": "hi"}, cwd=str(tmp_path / "workdir"))
    assert prog.translate(["x"], "de", "en") == ["hi workdir"]


def test_a_changed_program_file_changes_the_fingerprint(tmp_path):
    script = tmp_path / "translate.py"
    script.write_text(f"#!{sys.executable}\n{UPPER}", encoding="utf-8")
    script.chmod(0o755)
    prog = system(["./translate.py"], cwd=str(tmp_path))
    before = prog.fingerprint()
    assert prog.translate(["ja"], "de", "en") == ["JA"]
    script.write_text(f"#!{sys.executable}\n{UPPER.replace('.upper()', '.lower()')}", encoding="utf-8")
    os.utime(script, (time.time() + 5, time.time() + 5))
    assert prog.fingerprint() != before


# ---------------------------------------------------------------- through the CLI


def write_project(tmp_path: Path, command: list[str], config_dir: str = ".") -> Path:
    data = tmp_path / "data"
    data.mkdir()
    (data / "src.de").write_text("".join(s + "\n" for s in SOURCES), encoding="utf-8")
    (data / "ref.en").write_text("Good morning.\nGreetings from Cologne.\nThis is a test.\n", encoding="utf-8")
    config = {
        "datasets": [
            {
                "name": "tiny",
                "kind": "parallel",
                "langpair": "de-en",
                "source": "data/src.de",
                "references": ["data/ref.en"],
            }
        ],
        "systems": [{"name": "upper", "engine": "command", "command": command}],
        "metrics": ["bleu", "chrf"],
    }
    if config_dir != ".":
        config["datasets"][0].update(source="../data/src.de", references=["../data/ref.en"])
    path = tmp_path / config_dir / "exp.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(config), encoding="utf-8")  # JSON is YAML
    return path


def test_cli_run_with_a_command_system_writes_scores(tmp_path):
    cfg = write_project(tmp_path, python(UPPER))
    run_cli_here("run", cfg, "--output-dir", tmp_path / "results", check=True)
    scores = pd.read_csv(tmp_path / "results" / "exp" / "scores.csv")
    assert set(scores.system) == {"upper"} and len(scores) == 2
    segments = [json.loads(line) for line in (tmp_path / "results" / "exp" / "segments.jsonl").read_text().splitlines()]
    assert [s["hypothesis"] for s in segments] == [s.upper() for s in SOURCES]


def test_cli_rerun_takes_every_translation_from_the_cache(tmp_path):
    cfg = write_project(tmp_path, python(UPPER))
    manifest = tmp_path / "results" / "exp" / "run.json"
    run_cli_here("run", cfg, "--output-dir", tmp_path / "results", check=True)
    assert json.loads(manifest.read_text())["translation"]["model_calls"] == 3
    run_cli_here("run", cfg, "--output-dir", tmp_path / "results", check=True)
    assert json.loads(manifest.read_text())["translation"]["model_calls"] == 0


def test_cli_failing_program_is_one_error_line(tmp_path):
    cfg = write_project(tmp_path, python("import sys; sys.stdin.read(); sys.exit('decoder crashed')"))
    proc = run_cli_here("run", cfg, "--output-dir", tmp_path / "results")
    assert proc.returncode != 0
    assert len(error_lines(proc.stderr)) == 1 and "Traceback" not in proc.stderr
    assert "system upper:" in proc.stderr and "exited with status 1: decoder crashed" in proc.stderr
    assert not (tmp_path / "results").exists()


def test_cli_relative_program_path_resolves_against_the_config_folder(tmp_path):
    script = tmp_path / "configs" / "bin" / "translate.py"
    script.parent.mkdir(parents=True)
    script.write_text(f"#!{sys.executable}\n{UPPER}", encoding="utf-8")
    script.chmod(0o755)
    cfg = write_project(tmp_path, ["bin/translate.py"], config_dir="configs")
    (tmp_path / "elsewhere").mkdir()
    run_cli_here("run", cfg, "--output-dir", tmp_path / "results", cwd=tmp_path / "elsewhere", check=True)
    segments = (tmp_path / "results" / "exp" / "segments.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(segments[0])["hypothesis"] == "GUTEN MORGEN."


def test_config_error_in_a_command_system_names_the_key_and_its_line(tmp_path):
    cfg = write_project(tmp_path, python(UPPER))
    text = (
        "datasets:\n  - {name: t, kind: parallel, langpair: de-en, source: data/src.de, references: [data/ref.en]}\n"
        "systems:\n  - name: upper\n    engine: command\n    command: cat\n    cwd: no-such-folder\nmetrics: [bleu]\n"
    )
    cfg.write_text(text, encoding="utf-8")
    proc = run_cli_here("run", cfg, "--dry-run")
    assert proc.returncode != 0
    assert f"{cfg}:7: systems[0].cwd: folder not found" in proc.stderr


def test_editing_a_script_named_on_the_command_line_changes_the_fingerprint(tmp_path):
    """`python3 translate.py`: the interpreter alone is not what translates; the script is hashed too."""
    script = tmp_path / "translate.py"
    script.write_text(UPPER, encoding="utf-8")
    command = f"{shlex.quote(sys.executable)} translate.py"
    assert system(command, cwd=str(tmp_path)).named_files() == ["translate.py"]
    before = system(command, cwd=str(tmp_path)).fingerprint()
    script.write_text(UPPER.replace(".upper()", ".lower()"), encoding="utf-8")
    after = system(command, cwd=str(tmp_path))
    assert after.fingerprint() != before
    assert after.translate(["Guten Morgen."], "de", "en") == ["guten morgen."]


def test_flags_and_language_placeholders_are_not_hashed_as_files(tmp_path):
    (tmp_path / "-v").write_text("", encoding="utf-8")
    (tmp_path / "de").write_text("", encoding="utf-8")
    assert system([sys.executable, "-v", "{src}", "-c", "pass"], cwd=str(tmp_path)).named_files() == []


def test_only_blank_lines_are_no_translation_and_are_never_cached(tmp_path):
    blank = "import sys\nfor line in sys.stdin:\n    print(flush=True)\n"
    store = Store(tmp_path / "translations.sqlite", "translations")
    ctx = RunContext(translation_cache=store, verbose=False)
    with pytest.raises(UserError, match="printed only blank lines for 3 sources"):
        system(python(blank)).translate(SOURCES, "de", "en", ctx)
    assert store.count() == 0
    store.close()
