"""The conda environments of ``envs/*.yaml`` as the tests read them: their pip part, the environment each
rule names, and which installed distribution provides an imported module.

Why the pip part: every package of our environments is a pip package (conda installs only ``python`` and
``pip`` itself), so the pip list is what decides whether a job finds its imports.
"""

from __future__ import annotations

import re
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
    versions = [dep.split("=", 1)[1] for dep in env["dependencies"] if isinstance(dep, str) and dep.startswith("python=")]
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
            holding = [name for name in owners if any(f == f"{path}.py" or f.startswith(f"{path}/") for f in _files(name))]
            if holding:
                return {distribution_key(name) for name in holding}
    return {distribution_key(name) for name in owners}
