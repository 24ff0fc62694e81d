"""A scratch copy of the repository as a fresh clone has it, and a shell to run README commands in.

Why a copy: README commands are written for the repository root, and their dry runs plan against
whatever ``results/`` and ``resources/`` hold. A copy of the tracked (and new, not ignored) files
plans exactly what a fresh clone plans, and running in it never touches the developer's results.
Modification times are kept, so ``make`` sees the environment stamp exactly as in the repository,
and ``.venv`` is linked, not rebuilt.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def installed_venv() -> Path:
    """The repository's ``.venv`` (made by ``make setup``), else the environment running pytest."""
    venv = REPO / ".venv"
    return venv.resolve() if (venv / "bin" / "python").exists() else Path(sys.prefix)


def fresh_checkout(dest: Path) -> Path:
    """Copy the files a clone of the current working tree would have to ``dest``; link ``.venv``."""
    listing = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for name in filter(None, listing.split("\0")):
        source = REPO / name
        if source.is_file():  # a tracked file deleted in the working tree is not copied
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    (dest / ".venv").symlink_to(installed_venv())
    return dest


def run_shell(script: str, cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    """Run ``script`` with bash in ``cwd`` with the virtual environment active, as after ``make setup``.

    ``PYTHONPATH`` names the copy's ``workflow/`` so the copy's ``vgs`` is imported even where the
    environment's editable install points at another checkout.
    """
    venv = cwd / ".venv"
    env = {
        **os.environ,
        "VIRTUAL_ENV": str(venv),
        "PATH": f"{venv}/bin:{os.environ['PATH']}",
        "PYTHONPATH": str(cwd / "workflow"),
    }
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def make_would_reinstall(cwd: Path) -> bool:
    """Whether ``make`` in ``cwd`` would rebuild the environment (its stamp older than the requirements)."""
    return subprocess.run(["make", "-q", "setup"], cwd=cwd, capture_output=True).returncode != 0


def run_snakemake(workdir: Path, *args: str, timeout: float = 300) -> str:
    """Run this repository's workflow in ``workdir`` on one core; its terminal output (stdout and
    stderr), after asserting that it succeeded."""
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir),
         "--cores", "1", *args],
        capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-4000:]
    return result.stdout + result.stderr
