"""The repository carries everything it needs: no tracked file points outside it, and the data it carries is intact.

A user clones only the repository, so a path into a folder beside it (a colleague's data folder, the machine that made
a committed result) works on one machine and fails everywhere else.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT

# Strings that only make sense on a machine that has something next to the checkout.
OUTSIDE = re.compile(r"\.\./shared|shared/(?:wmt22|seeds)\b|team's (?:shared )?copy", re.IGNORECASE)
# Absolute paths of a machine (home folders, work folders, temp folders) in committed configs and results.
MACHINE_PATH = re.compile(r"(?<![\w.~])/(?:work|home|root|tmp|Users|mnt|srv|var/folders)/")
# Relative paths that climb: `../x`, `../../x`, also as the default of `${VAR:-../x}`.
CLIMB = re.compile(r"(?:\.\./)+[^\s\"'\]},}]*")
PARENTS = re.compile(r"Path\(__file__\)\.resolve\(\)\.parents\[(\d+)\]")


def tracked_files() -> list[Path]:
    proc = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True)
    if proc.returncode != 0:
        pytest.fail(f"git ls-files failed in {ROOT}: {proc.stderr.decode(errors='replace').strip()}")
    return [ROOT / name for name in proc.stdout.decode().split("\0") if name]


def text(path: Path) -> str | None:
    data = path.read_bytes()
    if b"\0" in data[:8192]:
        return None  # binary (PNG plots)
    return data.decode("utf-8", errors="replace")


def offences(pattern: re.Pattern, files: list[Path]) -> list[str]:
    found = []
    for path in files:
        body = text(path)
        if body is None:
            continue
        for number, line in enumerate(body.splitlines(), 1):
            if pattern.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:120]}")
    return found


def test_no_tracked_file_refers_to_a_folder_beside_the_repository():
    assert offences(OUTSIDE, tracked_files()) == []


def test_committed_configs_and_results_hold_no_machine_paths():
    files = [p for p in tracked_files() if p.relative_to(ROOT).parts[0] in ("configs", "results")]
    assert files, "no configs or results tracked"
    assert offences(MACHINE_PATH, files) == []


def test_every_relative_path_in_a_config_stays_inside_the_repository():
    configs = sorted((ROOT / "configs").glob("*.yaml"))
    assert configs
    escaping = []
    for config in configs:
        for number, line in enumerate(config.read_text(encoding="utf-8").splitlines(), 1):
            for match in CLIMB.finditer(line):
                target = (config.parent / match.group()).resolve()
                if not target.is_relative_to(ROOT):
                    escaping.append(f"{config.name}:{number}: {match.group()} -> {target}")
    assert escaping == []


def test_python_files_compute_no_path_above_the_repository():
    escaping = []
    for path in tracked_files():
        if path.suffix != ".py":
            continue
        depth = len(path.relative_to(ROOT).parts) - 1  # parents[depth] is ROOT itself
        for match in PARENTS.finditer(path.read_text(encoding="utf-8")):
            if int(match.group(1)) > depth:
                escaping.append(f"{path.relative_to(ROOT)}: {match.group()}")
    assert escaping == []


def checksum_table() -> dict[str, tuple[int, str]]:
    readme = (ROOT / "data" / "wmt22" / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([^`]+)` \| (\d+) \| `([0-9a-f]{64})` \|$", readme, re.MULTILINE)
    return {name: (int(lines), digest) for name, lines, digest in rows}


def test_the_wmt22_copy_matches_its_checksums():
    table = checksum_table()
    folder = ROOT / "data" / "wmt22"
    on_disk = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() and p.name != "README.md"}
    assert set(table) == on_disk  # every file listed, nothing unlisted
    assert len(table) == 32  # 2 sources, 4 references, 21 system outputs, 4 human score files, 1 XML
    for name, (lines, digest) in table.items():
        data = (folder / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest, name
        assert data.count(b"\n") == lines, name
