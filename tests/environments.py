"""The conda environments of ``envs/*.yaml`` as the tests read them: their pip part, the environment each
rule names, and which installed distribution provides an imported module.

Why the pip part: every package of our environments is a pip package (conda installs only ``python`` and
``pip`` itself), so the pip list is what decides whether a job finds its imports.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
import venv
from functools import cache
from importlib.metadata import distribution, packages_distributions
from pathlib import Path
from typing import Any

import yaml

from import_graph import top_level, with_parents

REPO = Path(__file__).resolve().parents[1]
ENV_FILES = sorted((REPO / "envs").glob("*.yaml"))


def distribution_key(name: str) -> str:
    """A distribution's name as pip compares it (PEP 503): ``PyYAML`` and ``pyyaml``, ``a_b`` and ``a-b`` are one."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(spec: str) -> str:
    """The distribution a requirement line names: ``snakemake[reports]==9.27.1`` -> ``snakemake``."""
    return distribution_key(re.split(r"[\[<>=!~ ;]", spec.strip(), maxsplit=1)[0])


def env_pip(env_file: Path) -> list[str]:
    """The requirement lines of an environment file's ``pip:`` part."""
    env = yaml.safe_load(env_file.read_text())
    blocks = [dep["pip"] for dep in env["dependencies"] if isinstance(dep, dict) and "pip" in dep]
    return [spec for block in blocks for spec in block]


def env_python(env_file: Path) -> str:
    """The Python version an environment file asks conda for (``python=3.11`` -> ``3.11``)."""
    env = yaml.safe_load(env_file.read_text())
    pins = [dep for dep in env["dependencies"] if isinstance(dep, str) and dep.startswith("python=")]
    versions = [pin.split("=", 1)[1] for pin in pins]
    assert len(versions) == 1, f"{env_file}: expected one python=<version> dependency, found {versions}"
    return versions[0]


def rule_environments(rules: dict[str, Any]) -> dict[str, tuple[Path, Path]]:
    """Each rule with a ``script:`` -> (its script, the environment file its ``conda:`` names), as Snakemake
    parsed them (both relative to the rule file)."""
    return {
        name: (Path(rule.basedir, rule.script).resolve(), Path(rule.basedir, rule.conda_env).resolve())
        for name, rule in rules.items()
        if rule.script
    }


@cache
def _top_level_owners() -> dict[str, tuple[str, ...]]:
    return {top: tuple(sorted(set(owners))) for top, owners in packages_distributions().items()}


@cache
def _files(name: str) -> tuple[str, ...]:
    return tuple(str(path) for path in distribution(name).files or ())


def _holds(file: str, path: str) -> bool:
    """Whether a distribution's ``file`` is the module at ``path`` (``google/cloud/texttospeech``) or inside it."""
    return file == f"{path}.py" or file.startswith(f"{path}/")


def distributions_providing(module: str) -> set[str]:
    """The installed distributions (PEP 503 names) that provide ``module``; empty when none does.

    A top-level name most often belongs to one distribution. A namespace package (``google``: protobuf,
    google-auth, google-api-core, google-cloud-texttospeech, ...) is narrowed to the distributions whose
    files hold the longest part of the dotted name (``google.cloud.texttospeech``).
    """
    owners = _top_level_owners().get(top_level(module), ())
    if len(owners) > 1:
        for prefix in reversed(with_parents(module)):
            path = prefix.replace(".", "/")
            holding = [name for name in owners if any(_holds(file, path) for file in _files(name))]
            if holding:
                return {distribution_key(name) for name in holding}
    return {distribution_key(name) for name in owners}


def environment_cache() -> Path:
    """Where built environments are kept between runs (``$XDG_CACHE_HOME/vgs-envs``, else ``~/.cache/vgs-envs``)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "vgs-envs"


def build_environment(env_file: Path, cache: Path, timeout: float = 1800) -> tuple[Path, float]:
    """The python of a virtual environment holding exactly the pip part of ``env_file``, and the seconds
    its build took (0 when it was built before).

    The environment is built by pip from the file alone, on the Python version the file asks conda for
    (a venv of the interpreter running the tests, which must be that version), and kept under ``cache``
    by the file's content, as Snakemake keeps conda environments (``.snakemake/conda/<hash>``): a changed
    file gets a new environment (and the one built from its earlier version is removed), an unchanged one
    is not rebuilt. Measured here (2026-12-07, a 2-core VM shared with other jobs): analysis.yaml 5.8 GB in
    393 s, torch.yaml 5.7 GB in 127 s (both hold the CUDA build of torch), tts.yaml 0.6 GB in 36 s.
    """
    python_version = env_python(env_file)
    assert f"{sys.version_info.major}.{sys.version_info.minor}" == python_version, (
        f"{env_file.name} asks for Python {python_version}; run the tests with that version to build it"
    )
    requirements = "\n".join(env_pip(env_file)) + "\n"
    digest = hashlib.sha256(f"python={python_version}\n{requirements}".encode()).hexdigest()[:16]
    root = cache / f"{env_file.stem}-{digest}"
    python = root / "bin" / "python"
    if (root / ".complete").is_file():
        return python, 0.0
    shutil.rmtree(root, ignore_errors=True)  # a build that was interrupted
    root.parent.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    venv.create(root, with_pip=True)
    (root / "requirements.txt").write_text(requirements)
    # --no-compile: bytecode is written for the modules a job imports when it imports them, not for every
    # file of torch and transformers up front.
    result = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-compile", "--disable-pip-version-check",
         "-r", str(root / "requirements.txt")],
        capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    assert result.returncode == 0, f"pip could not build {env_file.name}:\n{result.stderr[-4000:]}"
    (root / ".complete").write_text(requirements)
    for earlier in cache.glob(f"{env_file.stem}-*"):  # builds of earlier versions of the file: GBs each
        if earlier != root:
            shutil.rmtree(earlier, ignore_errors=True)
    return python, time.monotonic() - start
