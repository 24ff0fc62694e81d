"""The conda env files for cluster users agree with the pinned pip requirements.

Why: local runs use the pip-installed .venv while `--sdm conda` runs use envs/*.yaml; if the two
drift, a cluster result is computed with other library versions than the one tested here.
"""

from __future__ import annotations

import re

import pytest
import yaml

from conftest import REPO

# Needed to drive the workflow or to test it, never inside a rule's environment.
DRIVER_ONLY = {"snakemake", "snakemake-executor-plugin-slurm", "snakefmt", "ruff", "pytest", "python-speech-features"}


def _name(requirement: str) -> str:
    return re.split(r"[\[<>=!~ ]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _requirements() -> dict[str, str]:
    lines = (REPO / "requirements.txt").read_text().splitlines()
    specs = [line.split("#")[0].strip() for line in lines]
    return {_name(spec): spec for spec in specs if spec}


def _env_pip(path) -> list[str]:
    env = yaml.safe_load(path.read_text())
    pip = [dep["pip"] for dep in env["dependencies"] if isinstance(dep, dict) and "pip" in dep]
    return [spec for block in pip for spec in block]


ENV_FILES = sorted((REPO / "envs").glob("*.yaml"))


@pytest.mark.parametrize("env_file", ENV_FILES, ids=lambda p: p.name)
def test_env_pins_match_requirements(env_file):
    requirements = _requirements()
    for spec in _env_pip(env_file):
        name = _name(spec)
        assert name in requirements, f"{env_file.name}: {name} is not in requirements.txt"
        assert spec.replace(" ", "") == requirements[name].replace(" ", "").replace("[reports]", ""), (
            f"{env_file.name}: {spec!r} differs from requirements.txt {requirements[name]!r}"
        )


def test_every_requirement_is_in_some_env():
    covered = {_name(spec) for env_file in ENV_FILES for spec in _env_pip(env_file)}
    missing = set(_requirements()) - covered - DRIVER_ONLY
    assert not missing, f"requirements.txt packages used by rules but in no envs/*.yaml: {sorted(missing)}"


def test_every_rule_names_an_existing_env():
    rules_dir = REPO / "workflow" / "rules"
    for smk in rules_dir.glob("*.smk"):
        for env in re.findall(r'conda:\s*\n?\s*"([^"]+)"', smk.read_text()):
            assert (rules_dir / env).resolve().is_file(), f"{smk.name}: conda env {env} not found"
