"""The conda env files for cluster users agree with the pinned pip requirements, and each rule's
environment holds every distribution its job imports.

Why: local runs use the pip-installed .venv while `--sdm conda` runs use envs/*.yaml; if the two
drift, a cluster result is computed with other library versions than the one tested here, and a
package that only the .venv has (scipy for the MFCC job, once) fails the cluster job after hours of
queueing. tests/test_envs_run.py builds the environments and runs the world's jobs in them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import REPO
from environments import ENV_FILES, distributions_providing, env_pip, requirement_name, rule_environments
from import_graph import OPERATIONS, PACKAGE, import_closure
from plan import load_rules

# Needed to drive the workflow or to test it, never inside a rule's environment.
DRIVER_ONLY = {"snakemake", "snakemake-executor-plugin-slurm", "snakefmt", "ruff", "pytest", "python-speech-features"}


def _requirements() -> dict[str, str]:
    lines = (REPO / "requirements.txt").read_text().splitlines()
    specs = [line.split("#")[0].strip() for line in lines]
    return {requirement_name(spec): spec for spec in specs if spec}


@pytest.mark.parametrize("env_file", ENV_FILES, ids=lambda p: p.name)
def test_env_pins_match_requirements(env_file):
    requirements = _requirements()
    for spec in env_pip(env_file):
        name = requirement_name(spec)
        assert name in requirements, f"{env_file.name}: {name} is not in requirements.txt"
        assert spec.replace(" ", "") == requirements[name].replace(" ", "").replace("[reports]", ""), (
            f"{env_file.name}: {spec!r} differs from requirements.txt {requirements[name]!r}"
        )


def test_every_requirement_is_in_some_env():
    covered = {requirement_name(spec) for env_file in ENV_FILES for spec in env_pip(env_file)}
    missing = set(_requirements()) - covered - DRIVER_ONLY
    assert not missing, f"requirements.txt packages used by rules but in no envs/*.yaml: {sorted(missing)}"


@pytest.fixture(scope="module")
def rules() -> dict[str, Any]:
    return load_rules(("config.yaml",))


@pytest.fixture(scope="module")
def rule_envs(rules) -> dict[str, tuple[Path, Path]]:
    return rule_environments(rules)


def test_every_job_rule_names_an_existing_env(rules, rule_envs):
    """Every rule that runs a job runs a script, in an environment of envs/ (``conda:``)."""
    assert set(rule_envs) == set(rules) - {"all", "study"}
    for name, (script, env_file) in rule_envs.items():
        assert script.is_file(), f"rule {name}: script {script} not found"
        assert env_file in ENV_FILES, f"rule {name}: conda env {env_file} is not one of envs/*.yaml"


def missing_imports(rule_envs: dict[str, tuple[Path, Path]], *packages: Path) -> list[str]:
    """One line per environment file and distribution that a rule's job imports (its script and every
    module of ``packages`` it reaches) but the rule's environment file does not name: which modules need
    it (and which files import them) and the rules whose jobs reach them."""
    lacking: dict[tuple[str, str], tuple[set[str], set[str]]] = {}
    for rule, (script, env_file) in sorted(rule_envs.items()):
        named = {requirement_name(spec) for spec in env_pip(env_file)}
        for module, importers in import_closure(script, *packages).items():
            providers = distributions_providing(module)
            if not providers & named:
                need = " or ".join(sorted(providers)) or f"{module} (installed nowhere: add it to requirements.txt)"
                modules, rules = lacking.setdefault((env_file.name, need), (set(), set()))
                modules.add(f"{module} ({', '.join(sorted(importers))})")
                rules.add(rule)
    return [
        f"envs/{env} lacks {need}: {'; '.join(sorted(modules))}, reached by the jobs of {', '.join(sorted(rules))}"
        for (env, need), (modules, rules) in sorted(lacking.items())
    ]


def test_each_rules_environment_holds_what_its_job_imports(rule_envs):
    """The distributions a job imports are named in its rule's environment, not left to the .venv (which
    has everything) or to another package's dependencies (which may drop them in any release)."""
    missing = missing_imports(rule_envs, PACKAGE, OPERATIONS)
    assert not missing, "\n".join(missing)


def test_an_import_three_calls_down_is_missing_from_the_env(tmp_path):
    """The check reads through the package, inside functions: a script -> module -> function-level import
    of scipy is reported for an environment without scipy, and passes once scipy is named."""
    package = tmp_path / "vgs"
    (package / "tts").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "tts" / "__init__.py").write_text("")
    (package / "tts" / "synthesis.py").write_text("import numpy\n\ndef run():\n    from vgs.tts import backend\n")
    (package / "tts" / "backend.py").write_text("def resample():\n    from scipy.signal import resample_poly\n")
    script = tmp_path / "world_speak.py"
    script.write_text("import sys\nfrom vgs.tts.synthesis import run\n")
    env_file = tmp_path / "tts.yaml"
    env_file.write_text("dependencies:\n  - python=3.11\n  - pip:\n      - numpy>=1.26,<3\n")
    assert missing_imports({"world_speak": (script, env_file)}, package) == [
        "envs/tts.yaml lacks scipy: scipy.signal.resample_poly (vgs.tts.backend), reached by the jobs of world_speak"
    ]
    env_file.write_text("dependencies:\n  - python=3.11\n  - pip:\n      - numpy>=1.26,<3\n      - scipy>=1.11\n")
    assert missing_imports({"world_speak": (script, env_file)}, package) == []


def test_a_namespace_package_is_told_apart_by_its_part():
    """``google`` is shared by several distributions; the part imported decides which one a job needs."""
    assert distributions_providing("google.cloud.texttospeech") == {"google-cloud-texttospeech"}
    assert distributions_providing("google.api_core.exceptions") == {"google-api-core"}
    assert distributions_providing("yaml") == {"pyyaml"}
    assert distributions_providing("no_such_module_anywhere") == set()


def test_the_catalogue_claims_what_the_workflow_has(rules, rule_envs):
    """.snakemake-workflow-catalog.yml, read as the catalogue's generator reads it (``usage``): conda because
    every job rule names an environment (run by tests/test_envs_run.py), no container because no rule
    names one, a report because ``make report`` makes one."""
    usage = yaml.safe_load((REPO / ".snakemake-workflow-catalog.yml").read_text())["usage"]
    assert set(usage) == {"mandatory-flags", "software-stack-deployment", "report"}
    assert set(usage["mandatory-flags"]) == {"desc", "flags"}
    deployment = usage["software-stack-deployment"]
    assert deployment["conda"] is True and len(rule_envs) == len(rules) - 2
    containers = {rule.container_img for rule in rules.values()} - {None}
    assert deployment["apptainer"] is deployment["apptainer+conda"] is bool(containers) is False
    assert usage["report"] is True and "--report" in (REPO / "Makefile").read_text()
