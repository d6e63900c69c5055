"""No secret in results or messages: values the config reads from the environment, a command's env entries,
credentials in URLs, and an API key pasted where its variable's name belongs."""

from __future__ import annotations

import sys
from pathlib import Path

from conftest import error_lines, run_cli, write_three_sentence_run

SECRET = "s3cr3t-token-4f9a1c"
PASSWORD = "hunter2-pw-77"
PRINT_ENV = "import os, sys\nfor line in sys.stdin:\n    print(line.rstrip('\\n').upper(), flush=True)\n"


def every_file(folder: Path) -> str:
    return "".join(p.read_bytes().decode("utf-8", errors="replace") for p in folder.rglob("*") if p.is_file())


def test_values_from_the_environment_and_command_env_never_reach_result_files(tmp_path):
    (tmp_path / "upper.py").write_text(PRINT_ENV, encoding="utf-8")
    systems = (
        f"  - {{name: upper, engine: command, command: [{sys.executable}, upper.py], "
        f'env: {{TOKEN: "${{MY_TOKEN}}", OTHER: literal-secret-value}}}}'
    )
    config = write_three_sentence_run(tmp_path, systems)
    proc = run_cli(
        "run",
        config,
        "--output-dir",
        tmp_path / "out",
        "--set",
        "systems.upper.env.EXTRA=set-on-cli-42",
        cwd=tmp_path,
        env={"MY_TOKEN": SECRET},
        check=True,
    )
    written = every_file(tmp_path / "out")
    for value in (SECRET, "literal-secret-value", "set-on-cli-42"):
        assert value not in written and value not in proc.stdout + proc.stderr, value
    config_yaml = (tmp_path / "out" / "run" / "config.yaml").read_text(encoding="utf-8")
    assert "TOKEN: ${MY_TOKEN}" in config_yaml and "OTHER: <env OTHER>" in config_yaml


def test_url_credentials_never_reach_an_error_message(tmp_path):
    systems = (
        f'  - {{name: llm, engine: openai, base_url: "http://user:{PASSWORD}@127.0.0.1:9/v1", '
        f"model: m, max_retries: 0, timeout: 2}}"
    )
    config = write_three_sentence_run(tmp_path, systems)
    proc = run_cli("run", config, "--output-dir", tmp_path / "out", cwd=tmp_path)
    assert proc.returncode == 2
    [line] = error_lines(proc.stderr)
    assert "cannot connect" in line and PASSWORD not in proc.stderr and "http://***@127.0.0.1:9/v1" in line


def test_an_api_key_pasted_as_the_variable_name_is_refused_without_showing_it(tmp_path):
    key = "sk-proj-AbCdEf0123456789xyz"
    config = write_three_sentence_run(
        tmp_path, f"  - {{name: llm, engine: openai, base_url: http://127.0.0.1:9/v1, model: m, api_key_env: {key}}}"
    )
    proc = run_cli("run", config, "--output-dir", tmp_path / "out", cwd=tmp_path)
    assert proc.returncode == 2
    [line] = error_lines(proc.stderr)
    assert "api_key_env" in line and "NAME of an environment variable" in line and key not in proc.stderr
