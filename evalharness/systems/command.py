"""`command`: an external program that reads source segments on stdin, one per line, and writes one translation
per line on stdout (marian-decoder, fairseq-interactive with a wrapper, any script).

`command` is an argv list, or a string split like a shell would (no shell runs it); `{src}` and `{tgt}` in any
argument become the dataset's language codes. The program runs in `cwd`, by default the config file's folder,
so relative paths in the command resolve like every other path in a config. The translation cache's fingerprint
holds the hash of the program file and of every other file named on the command line (`python3 translate.py`:
the interpreter and the script; `marian-decoder -m model.npz`: the binary and the model), so a rebuilt binary, an
edited script or a retrained model named there translates again. Not covered: files the program finds by itself
(modules a script imports, a config it reads by a fixed name) and arguments with `{src}`/`{tgt}` in them; change
the config (or run with --no-cache) when only they change.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from evalharness.datasets.base import Dataset
from evalharness.errors import UserError
from evalharness.fileid import file_sha256
from evalharness.systems.base import AFFECTS_OUTPUT, SystemConfigBase
from evalharness.systems.context import RunContext
from evalharness.systems.translation import TranslationSystem


class CommandConfig(SystemConfigBase):
    engine: Literal["command"]
    command: list[str] | str = Field(
        description="argv list, or a string split with shlex; {src} {tgt} filled in",
        json_schema_extra={AFFECTS_OUTPUT: True},
    )
    timeout: float = Field(
        default=600,
        gt=0,
        description="seconds the program may take for one dataset",
        json_schema_extra={AFFECTS_OUTPUT: False},  # how long it may take does not change what it prints
    )
    env: dict[str, str] = Field(
        default_factory=dict,
        description="environment variables added for the program",
        json_schema_extra={AFFECTS_OUTPUT: True},
    )
    cwd: str | None = Field(
        default=None,
        validate_default=True,
        description="working folder, relative to the config file; default: the config's folder",
        json_schema_extra={AFFECTS_OUTPUT: True},
    )

    @field_validator("command")
    @classmethod
    def _split(cls, value: list[str] | str) -> list[str]:
        if isinstance(value, str):
            try:
                value = shlex.split(value)
            except ValueError as err:
                raise ValueError(f"cannot split the command string: {err}") from err
        if not value or not value[0]:
            raise ValueError("the command is empty")
        return value

    @field_validator("cwd")
    @classmethod
    def _resolve_cwd(cls, value: str | None, info: ValidationInfo) -> str:
        base = Path((info.context or {}).get("base_dir", "."))
        path = base if value is None else Path(value).expanduser()
        path = path if path.is_absolute() else base / path
        if not path.is_dir():
            raise ValueError(f"folder not found: {path}")
        return os.path.abspath(path)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "(nothing on stderr)"


class CommandSystem(TranslationSystem):
    config_model = CommandConfig
    cfg: CommandConfig

    @property
    def _workdir(self) -> Path:
        """`cwd` as a path: never None once validated (its validator fills in the config's folder)."""
        assert self.cfg.cwd is not None
        return Path(self.cfg.cwd)

    def _env(self) -> dict[str, str]:
        return {**os.environ, **self.cfg.env}

    def program(self) -> str | None:
        """The program's full path: a name with a slash is relative to `cwd`, a bare name is looked up on PATH."""
        name = self.cfg.command[0]
        if os.sep in name or (os.altsep and os.altsep in name):
            path = Path(name).expanduser()
            path = path if path.is_absolute() else self._workdir / path
            return os.path.abspath(path) if path.is_file() and os.access(path, os.X_OK) else None
        return shutil.which(name, path=self._env().get("PATH", os.defpath))

    def named_files(self) -> list[str]:
        """The arguments after the program that name an existing file (relative to `cwd`), as given."""
        found = []
        for arg in self.cfg.command[1:]:
            if "{src}" in arg or "{tgt}" in arg or not arg or arg.startswith("-"):
                continue
            path = Path(arg).expanduser()
            if (path if path.is_absolute() else self._workdir / path).is_file():
                found.append(arg)
        return found

    def identity(self) -> dict:
        program = self.program()
        files = {arg: file_sha256(self._workdir / Path(arg).expanduser()) for arg in self.named_files()}
        return {
            "command": list(self.cfg.command),
            "program_sha256": file_sha256(program) if program else None,
            "files_sha256": files,
        }

    def argv(self, src_lang: str, tgt_lang: str) -> list[str]:
        return [arg.replace("{src}", src_lang).replace("{tgt}", tgt_lang) for arg in self.cfg.command]

    def check(self, dataset: Dataset) -> None:
        """The sources it is sent first have no line break (a round trip's way back is checked when it is
        translated). The program is looked for when it runs: with the ray executor that is another machine."""
        self.check_sources(dataset.first_leg()[0])

    def check_sources(self, sources: list[str]) -> None:
        for source in sources:
            if "\n" in source or "\r" in source:
                raise UserError(
                    f"system {self.name}: a source segment contains a line break, which the command "
                    f"engine cannot send (one segment per line): {source[:60]!r}"
                )

    def checked_program(self) -> str:
        """`program()`, or the one-line error that says why there is none."""
        name = self.cfg.command[0]
        program = self.program()
        if program is None:
            if os.sep in name:
                path = self._workdir / Path(name).expanduser()  # an absolute name stays itself
                what = "is not an executable file" if path.exists() else "not found"
                raise UserError(
                    f"system {self.name}: program {name} {what}"
                    + ("" if Path(name).expanduser().is_absolute() else f" (in {self.cfg.cwd})")
                )
            raise UserError(f"system {self.name}: program not found on PATH: {name}")
        return program

    def translate_batch(self, sources: list[str], src_lang: str, tgt_lang: str, ctx: RunContext) -> list[str]:
        name = self.cfg.command[0]
        self.check_sources(sources)
        program = self.checked_program()
        text = "".join(source + "\n" for source in sources)
        try:
            proc = subprocess.Popen(
                self.argv(src_lang, tgt_lang),
                executable=program,
                cwd=self.cfg.cwd,
                env=self._env(),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=os.name == "posix",
            )
        except OSError as err:
            raise UserError(f"system {self.name}: cannot start {name}: {err.strerror or err}") from err
        try:
            stdout, stderr = proc.communicate(text.encode("utf-8"), timeout=self.cfg.timeout)
        except subprocess.TimeoutExpired as err:
            self._kill(proc)
            raise UserError(
                f"system {self.name}: {name} did not finish within {self.cfg.timeout:g} s "
                f"for {len(sources)} sources (raise 'timeout')"
            ) from err
        except BaseException:
            self._kill(proc)
            raise
        stderr_text = stderr.decode("utf-8", errors="replace")
        if proc.returncode != 0:
            status = (
                f"was killed by signal {-proc.returncode}"
                if proc.returncode < 0
                else f"exited with status {proc.returncode}"
            )
            raise UserError(f"system {self.name}: {name} {status}: {_last_line(stderr_text)}")
        try:
            out = stdout.decode("utf-8")
        except UnicodeDecodeError as err:
            raise UserError(f"system {self.name}: {name} printed output that is not UTF-8 (byte {err.start})") from err
        lines = out.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        lines = [line.removesuffix("\r") for line in lines]
        if len(lines) != len(sources):
            raise UserError(f"system {self.name}: program {name} printed {len(lines)} lines for {len(sources)} sources")
        if not any(line.strip() for line in lines) and any(source.strip() for source in sources):
            # A broken program, not a translation: never cached, so a rerun after the fix translates again.
            raise UserError(
                f"system {self.name}: program {name} printed only blank lines for {len(sources)} "
                f"sources: no translation (nothing was cached)"
            )
        return lines

    @staticmethod
    def _kill(proc: subprocess.Popen) -> None:
        """Stop the program and anything it started (a wrapper script's decoder), then reap it."""
        try:
            if os.name == "posix":
                os.killpg(proc.pid, signal.SIGKILL)
            else:
                proc.kill()
        except (ProcessLookupError, PermissionError):
            pass
        proc.communicate()
