"""A results folder's config.yaml read back (`results.read.read_config`): the one reader for `evalharness track`
and the app. A whole folder's file is the config the run resolved; anything else is one line naming the file."""

from __future__ import annotations

from pathlib import Path

import pytest
from evalharness.errors import UserError
from evalharness.results.read import read_config


def folder_with(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "config.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return tmp_path


def test_a_config_is_read_as_the_mapping_the_run_wrote(tmp_path):
    folder = folder_with(tmp_path, "run_name: news\nstatistics: {bootstrap: 0}\ntracking: {backend: mlflow}\n")
    assert read_config(folder) == {
        "run_name": "news",
        "statistics": {"bootstrap": 0},
        "tracking": {"backend": "mlflow"},
    }


def test_a_missing_config_is_one_line_naming_it(tmp_path):
    with pytest.raises(UserError, match=r"config\.yaml: not found \(not a complete results folder\)$"):
        read_config(tmp_path)


def test_a_missing_config_is_empty_where_the_caller_allows_it(tmp_path):
    assert read_config(tmp_path, missing_ok=True) == {}


def test_a_config_that_is_not_yaml_is_one_line_naming_it(tmp_path):
    folder = folder_with(tmp_path, "run_name: [news\n")
    with pytest.raises(UserError, match=r"config\.yaml: not valid YAML \(") as info:
        read_config(folder)
    assert "\n" not in str(info.value)


def test_a_config_that_is_not_utf8_is_one_line_naming_it(tmp_path):
    folder = folder_with(tmp_path, b"run_name: \xff\n")
    with pytest.raises(UserError, match=r"config\.yaml: cannot read it \("):
        read_config(folder, missing_ok=True)


@pytest.mark.parametrize("text", ["", "- bleu\n", "news\n"])
def test_a_config_that_is_no_mapping_is_refused(tmp_path, text):
    with pytest.raises(UserError, match=r"config\.yaml: not a run's config \(not a mapping\)$"):
        read_config(folder_with(tmp_path, text))
