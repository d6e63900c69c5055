"""No secret in results or messages: values the config reads from the environment, a command's env entries,
credentials in URLs, and an API key pasted where its variable's name belongs."""

from __future__ import annotations

import sys
import traceback
from pathlib import Path

import evalharness
import pytest
from evalharness import secrets
from evalharness.errors import UserError

from conftest import error_lines, run_cli, run_cli_here, write_three_sentence_run

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
    proc = run_cli_here("run", config, "--output-dir", tmp_path / "out", cwd=tmp_path)
    assert proc.returncode == 2
    [line] = error_lines(proc.stderr)
    assert "cannot connect" in line and PASSWORD not in proc.stderr and "http://***@127.0.0.1:9/v1" in line


def test_an_api_key_pasted_as_the_variable_name_is_refused_without_showing_it(tmp_path):
    key = "sk-proj-AbCdEf0123456789xyz"
    config = write_three_sentence_run(
        tmp_path, f"  - {{name: llm, engine: openai, base_url: http://127.0.0.1:9/v1, model: m, api_key_env: {key}}}"
    )
    proc = run_cli_here("run", config, "--output-dir", tmp_path / "out", cwd=tmp_path)
    assert proc.returncode == 2
    [line] = error_lines(proc.stderr)
    assert "api_key_env" in line and "NAME of an environment variable" in line and key not in proc.stderr


# ------------------------------------------------------------------------------------------ the Python API


@pytest.fixture
def forget_secrets():
    """The API remembers secrets in this process: what one test's config remembered is not the next one's."""
    secrets.forget()
    yield
    secrets.forget()


def whole_error(err: BaseException) -> str:
    """What a notebook shows of an exception: its message and every exception chained to it."""
    return "".join(traceback.format_exception(err))


def test_api_errors_never_show_url_credentials(tmp_path, monkeypatch, forget_secrets):
    systems = (
        f'  - {{name: llm, engine: openai, base_url: "http://user:{PASSWORD}@127.0.0.1:9/v1", '
        f"model: m, max_retries: 0, timeout: 2}}"
    )
    config = write_three_sentence_run(tmp_path, systems)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UserError) as info:
        evalharness.run(config, write=False)
    assert "cannot connect" in str(info.value) and "http://***@127.0.0.1:9/v1" in str(info.value)
    assert PASSWORD not in whole_error(info.value)


def test_api_errors_never_show_a_command_env_value(tmp_path, monkeypatch, forget_secrets):
    (tmp_path / "fail.py").write_text(
        "import os, sys\nsys.stderr.write('bad token ' + os.environ['TOKEN'] + '\\n')\nsys.exit(3)\n", encoding="utf-8"
    )
    systems = (
        f'  - {{name: fails, engine: command, command: [{sys.executable}, fail.py], env: {{TOKEN: "${{MY_TOKEN}}"}}}}'
    )
    config = write_three_sentence_run(tmp_path, systems)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MY_TOKEN", SECRET)
    with pytest.raises(UserError) as info:
        evalharness.run(config, write=False)
    assert "bad token" in str(info.value)
    assert SECRET not in whole_error(info.value)


# ------------------------------------------------------------------------------------------ what is a secret


def test_environment_values_that_are_no_secrets_are_written_as_they_are(tmp_path):
    config = write_three_sentence_run(tmp_path, "  - {name: copy, engine: identity}")
    config.write_text(config.read_text(encoding="utf-8").replace("name: three", 'name: "${DSNAME}"'), encoding="utf-8")
    run_cli_here(
        "run", config, "--output-dir", tmp_path / "out", cwd=tmp_path, env={"DSNAME": "news-three"}, check=True
    )
    run_dir = tmp_path / "out" / "run"
    manifest = (run_dir / "manifest.json").read_text(encoding="utf-8")
    config_yaml = (run_dir / "config.yaml").read_text(encoding="utf-8")
    assert '"news-three"' in manifest and "${DSNAME}" not in manifest
    assert "name: news-three" in config_yaml and "${DSNAME}" not in config_yaml


def test_variables_named_as_secrets_and_variables_marked_secret_are_redacted(tmp_path):
    (tmp_path / "upper.py").write_text(PRINT_ENV, encoding="utf-8")
    systems = (
        f"  - {{name: upper, engine: command, "
        f'command: [{sys.executable}, upper.py, "${{MODEL_AUTH_TOKEN}}", "${{PLAIN:secret}}"]}}'
    )
    config = write_three_sentence_run(tmp_path, systems)
    env = {"MODEL_AUTH_TOKEN": "tok-value-1234", "PLAIN": "marked-value-5678"}
    proc = run_cli_here("run", config, "--output-dir", tmp_path / "out", cwd=tmp_path, env=env, check=True)
    written = every_file(tmp_path / "out")
    for value in env.values():
        assert value not in written and value not in proc.stdout + proc.stderr, value
    config_yaml = (tmp_path / "out" / "run" / "config.yaml").read_text(encoding="utf-8")
    assert "${MODEL_AUTH_TOKEN}" in config_yaml and "${PLAIN}" in config_yaml
