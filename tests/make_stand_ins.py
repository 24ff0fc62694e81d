"""Run a ``make`` target of this repository's Makefile for real, with every program its recipes
call replaced by a stand-in that records how it was called, so a test sees what the target does.

Why: comparing a recipe's text with a copy of it passes whatever the copy says; running the target
shows the behaviour itself: which programs run, in which order, with which arguments, and that
nothing else (an installer) runs. The stand-ins are the environment's tools (``.venv/bin/python``,
``snakemake``, ``snakefmt``, ``ruff``), the interpreter ``make setup`` starts from (``python3``) and
anything that installs on the host (``apt-get``, ``sudo``, ``pip``): each appends its name and
arguments as one JSON line and succeeds, unless named in ``STAND_IN_FAIL``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from checkout import REPO

#: Programs of the environment (.venv/bin) and of the host (PATH) that are replaced by stand-ins.
VENV_TOOLS = ("python", "snakemake", "snakefmt", "ruff")
HOST_TOOLS = ("python3", "apt-get", "sudo", "pip", "pip3", "make")
#: Programs that change the host or the environment.
INSTALLERS = {"apt-get", "sudo", "pip", "pip3"}
#: Files the Makefile's targets depend on (the environment stamp is made newer than them).
MAKE_INPUTS = ("Makefile", "requirements.txt", "pyproject.toml")
STAND_IN = """#!{python} -I
import json, os, sys
name = os.path.basename(sys.argv[0])
with open({log!r}, "a") as log:
    log.write(json.dumps([name, *sys.argv[1:]]) + "\\n")
sys.exit(1 if name in os.environ.get("STAND_IN_FAIL", "").split() else 0)
"""


@dataclass(frozen=True)
class MakeRun:
    """What one ``make`` call did: its exit status, output and every program call, in order."""

    returncode: int
    output: str
    calls: tuple[tuple[str, ...], ...]

    def of(self, program: str) -> list[tuple[str, ...]]:
        """The argument lists of every call of ``program``."""
        return [call[1:] for call in self.calls if call[0] == program]

    def python_modules(self) -> list[tuple[str, tuple[str, ...]]]:
        """(module, its arguments) of every ``python -m <module> ...`` call."""
        return [(args[1], args[2:]) for args in self.of("python") if args[:1] == ("-m",)]

    def installs(self) -> list[tuple[str, ...]]:
        """Calls that install something: an installer, pip through python, or the SLURM installer."""
        return [
            call
            for call in self.calls
            if call[0] in INSTALLERS
            or call[:3] == ("python", "-m", "pip")
            or (call[:3] == ("python", "-m", "vgs_ops.cluster.local_slurm") and "deps" in call)
        ]

    def index(self, program: str, *leading: str) -> int:
        """Position of the first call of ``program`` whose arguments start with ``leading``."""
        return next(
            i for i, call in enumerate(self.calls) if call[0] == program and call[1 : 1 + len(leading)] == leading
        )


def stand_in_repository(root: Path, stale: bool = False) -> Path:
    """``root`` with the Makefile (and what it depends on), ``.ci/run`` and stand-ins for every
    program: in ``.venv/bin``, and in ``root/host-bin`` for the host's. ``stale``: the environment
    stamp is missing, so ``make`` takes the environment as out of date."""
    for name in (*MAKE_INPUTS, ".ci/run"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, root / name)
    venv_bin, host_bin = root / ".venv" / "bin", root / "host-bin"
    for directory, tools in ((venv_bin, VENV_TOOLS), (host_bin, HOST_TOOLS)):
        directory.mkdir(parents=True, exist_ok=True)
        for tool in tools:
            (directory / tool).write_text(STAND_IN.format(python=sys.executable, log=str(root / "calls.jsonl")))
            (directory / tool).chmod(0o755)
    if not stale:
        (root / ".venv" / ".installed").touch()
    return root


def run_make(root: Path, *args: str, fail: tuple[str, ...] = (), program: str | None = None) -> MakeRun:
    """Run the real ``make *args`` (or ``program *args``, e.g. ``.ci/run``, whose ``make`` is then
    a stand-in) in a :func:`stand_in_repository`; the stand-ins named in ``fail`` exit 1."""
    log = root / "calls.jsonl"
    log.unlink(missing_ok=True)
    make = shutil.which("make")
    assert make, "make is not installed"
    command = [make, *args] if program is None else [str(root / program), *args]
    env = {
        **{key: value for key, value in os.environ.items() if not key.startswith("MAKE")},
        "PATH": os.pathsep.join([str(root / "host-bin"), os.environ["PATH"]]),
        "STAND_IN_FAIL": " ".join(fail),
    }
    result = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=60, check=False)
    calls = tuple(tuple(json.loads(line)) for line in log.read_text().splitlines()) if log.exists() else ()
    return MakeRun(result.returncode, result.stdout + result.stderr, calls)
