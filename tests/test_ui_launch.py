"""`evalharness ui` and `evalharness.ui.serve`: the folders are checked before anything starts, a missing extra is
one line naming it, and the server is started headless on the given address and always stopped. The pages
themselves: tests/test_ui_pages.py (Streamlit's own harness) and tests/test_ui_browser.py (headless Chromium)."""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import urllib.request

import pytest
from evalharness.cli import main
from evalharness.errors import UserError
from evalharness.ui import launch

from conftest import run_cli

# A stand-in app: the launcher's contract (the folders after `--` reach the script) without the real pages.
STAND_IN = """import sys
import streamlit as st
st.write("folders: " + " | ".join(sys.argv[1:]))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening_free(port: int) -> bool:
    """Nothing listens on the port (SO_REUSEADDR, as a server binds: the closed connections' TIME_WAIT does not
    count)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_a_missing_folder_is_one_line_and_exit_2(tmp_path):
    proc = run_cli("ui", tmp_path, tmp_path / "nope")
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [f"evalharness: error: {tmp_path / 'nope'}: no such folder"]


def test_a_file_instead_of_a_folder_is_refused(tmp_path):
    (tmp_path / "scores.csv").write_text("x\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"scores\.csv: not a folder"):
        launch.check_folders([tmp_path / "scores.csv"])


def test_a_port_out_of_range_is_refused_by_the_command_line(tmp_path):
    proc = run_cli("ui", tmp_path, "--port", "70000")
    assert proc.returncode == 2
    assert "--port: must be at most 65535, got 70000" in proc.stderr


def test_without_streamlit_the_error_names_the_extra(tmp_path, monkeypatch, capsys):
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "streamlit" else find_spec(name, *a)
    )
    assert main(["ui", str(tmp_path)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "evalharness: error: ui: the browser app needs the `streamlit` package, an optional extra: "
        "pip install 'evalharness[ui]'"
    ]


def test_the_server_runs_headless_on_the_given_address_with_the_folders_after_the_separator(tmp_path):
    command = launch.command([tmp_path], 8642, "0.0.0.0")
    assert command[:5] == [sys.executable, "-m", "evalharness.ui.server", "run", str(launch.APP)]
    options = dict(zip(command[5:-2:2], command[6:-2:2], strict=True))
    assert options == {
        "--server.headless": "true",
        "--server.port": "8642",
        "--server.address": "0.0.0.0",
        "--browser.gatherUsageStats": "false",
        "--server.fileWatcherType": "none",
        "--client.toolbarMode": "minimal",
    }
    assert command[-2:] == ["--", str(tmp_path)]


def test_the_folders_reach_the_app_as_absolute_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "run").mkdir()
    assert launch.check_folders(["run"]) == [tmp_path / "run"]


def test_the_package_reaches_the_launcher_without_importing_streamlit_or_pandas():
    """`import evalharness; evalharness.ui.serve(...)` as a notebook writes it, in a fresh process."""
    probe = "import sys, evalharness; f = evalharness.ui.serve; print(f.__module__, 'streamlit' in sys.modules, "
    probe += "'pandas' in sys.modules, evalharness.ui.serving is sys.modules['evalharness.ui.launch'].serving)"
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["evalharness.ui.launch", "False", "False", "True"]


@pytest.mark.slow  # starts a real Streamlit server (seconds)
def test_serving_answers_inside_the_block_and_the_server_is_gone_after(tmp_path):
    app = tmp_path / "app.py"
    app.write_text(STAND_IN, encoding="utf-8")
    port = free_port()
    procs = []
    start = launch.start

    def recording_start(*args, **kwargs):
        procs.append(start(*args, **kwargs))
        return procs[-1]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(launch, "start", recording_start)
        with launch.serving([tmp_path], port=port, app=app) as url:
            assert url == f"http://127.0.0.1:{port}"
            with urllib.request.urlopen(url + launch.HEALTH, timeout=10) as response:
                assert response.read() == b"ok"
            assert procs[0].poll() is None
    assert procs[0].poll() is not None  # stopped, not left running
    assert listening_free(port)


@pytest.mark.slow
def test_the_server_is_stopped_when_the_block_raises(tmp_path):
    app = tmp_path / "app.py"
    app.write_text(STAND_IN, encoding="utf-8")
    port = free_port()
    with pytest.raises(RuntimeError, match="inside"), launch.serving([tmp_path], port=port, app=app):
        raise RuntimeError("inside")
    assert listening_free(port)


def test_a_server_that_ends_before_answering_is_an_error(tmp_path):
    """A port already taken (here: a script that exits at once) is said, not waited on until the timeout."""
    proc = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    with pytest.raises(UserError, match=r"the server ended \(exit status 3\) before it answered"):
        launch.wait_ready(proc, f"http://127.0.0.1:{free_port()}", timeout=60)


def test_the_launcher_starts_the_apps_script():
    assert launch.APP.is_file()
    assert 'if __name__ == "__main__":' in launch.APP.read_text(encoding="utf-8")  # a script, run as Streamlit runs it
