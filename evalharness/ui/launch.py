"""Starting the browser app (`evalharness ui`): Streamlit in a subprocess of its own, over results folders.

The app (app.py beside this file) only reads the folders; this module only checks that they exist and starts
`python -m evalharness.ui.server run app.py ... -- FOLDER...` (`streamlit run` with the app's libraries imported
before the server answers: server.py). Streamlit is an optional extra (`evalharness[ui]`), looked for
when the app is started, never imported here: `evalharness --help` stays fast, and the server runs in its own
process (Streamlit wants to be the main program of a process, and a notebook that starts it keeps working).

    from evalharness.ui import serve, serving
    serve(["results/wmt22-zh-en-ui"])                     # blocks until Ctrl+C, like the command
    with serving(["results/wmt22-zh-en-ui"], port=8600) as url:  # started, answering, and stopped afterwards
        ...
"""

from __future__ import annotations

import contextlib
import importlib.util
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

from evalharness.errors import UserError

APP = Path(__file__).with_name("app.py")
DEFAULT_HOST = "127.0.0.1"  # this machine only: the app shows the folders' texts to whoever can reach it
DEFAULT_PORT = 8501  # Streamlit's own default
HEALTH = "/_stcore/health"  # answers "ok" once the server takes requests
EXTRA = "pip install 'evalharness[ui]'"


def check_folders(folders: Sequence[str | Path]) -> list[Path]:
    """The folders as absolute paths; a missing one (or a file) is a one-line error before anything starts.
    Whether a folder holds results is the app's to say, in the page."""
    if not folders:
        raise UserError("ui: no results folder given")
    checked = []
    for folder in folders:
        path = Path(folder)
        if not path.exists():
            raise UserError(f"{path}: no such folder")
        if not path.is_dir():
            raise UserError(f"{path}: not a folder (give a run's results folder, the one with scores.csv)")
        checked.append(path.resolve())
    return checked


def check_port(port: int) -> int:
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise UserError(f"ui: port must be a whole number from 1 to 65535, got {port!r}")
    return port


def require_streamlit() -> None:
    """The extra, looked for without importing it (importing Streamlit takes a second)."""
    if importlib.util.find_spec("streamlit") is None:
        raise UserError(f"ui: the browser app needs the `streamlit` package, an optional extra: {EXTRA}")


def command(folders: Sequence[Path], port: int, host: str, app: Path = APP) -> list[str]:
    """The server's command line: headless (no browser opened for the user, no e-mail prompt), no usage
    statistics sent, no watching of the app's files, the toolbar without Streamlit's developer and Deploy
    entries (a local tool); the folders after `--` are the app's arguments."""
    return [
        sys.executable,
        "-m",
        "evalharness.ui.server",  # `streamlit run`, the app's imports done before the first visit
        "run",
        str(app),
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--server.address",
        host,
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
        "--client.toolbarMode",
        "minimal",
        "--",
        *map(str, folders),
    ]


def start(
    folders: Sequence[str | Path], port: int = DEFAULT_PORT, host: str = DEFAULT_HOST, app: Path = APP
) -> subprocess.Popen:
    """The server, started and not waited for: the caller stops it (`stop`). `app`: another Streamlit script
    (the launcher's own tests start a stand-in)."""
    paths = check_folders(folders)
    check_port(port)
    require_streamlit()
    return subprocess.Popen(command(paths, port, host, app))


def stop(proc: subprocess.Popen, grace: float = 10) -> None:
    """End the server: asked first (SIGTERM, Streamlit closes its sessions), killed if it does not end."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def url_of(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host  # bound to every interface: reachable here too
    return f"http://{shown}:{port}"


def wait_ready(proc: subprocess.Popen, url: str, timeout: float = 60) -> None:
    """Until the server's health endpoint answers: polled, so a fast machine does not wait for a slow one's
    time. A server that exits first (a port taken) or never answers is an error."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise UserError(f"ui: the server ended (exit status {proc.returncode}) before it answered at {url}")
        try:
            with urllib.request.urlopen(url + HEALTH, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            raise UserError(f"ui: the server did not answer at {url} within {timeout:g} s")
        time.sleep(0.1)  # the next poll, not a guess at how long starting takes


@contextlib.contextmanager
def serving(
    folders: Sequence[str | Path],
    port: int = DEFAULT_PORT,
    host: str = DEFAULT_HOST,
    timeout: float = 60,
    app: Path = APP,
) -> Iterator[str]:
    """The app running and answering inside the block (its URL), stopped when the block ends, however it ends."""
    proc = start(folders, port, host, app)
    try:
        url = url_of(host, port)
        wait_ready(proc, url, timeout)
        yield url
    finally:
        stop(proc)


def serve(
    folders: Sequence[str | Path], port: int = DEFAULT_PORT, host: str = DEFAULT_HOST, block: bool = True
) -> int | subprocess.Popen:
    """`evalharness ui`: the app over these results folders at http://HOST:PORT. block=True waits until the server
    ends (Ctrl+C stops it) and returns its exit status; block=False returns the running process (`stop` it)."""
    proc = start(folders, port, host)
    if not block:
        return proc
    try:
        return proc.wait()
    finally:
        stop(proc)  # Ctrl+C, or any other way out of the wait: the server does not outlive the command
