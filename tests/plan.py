"""What the workflow would run: the jobs of a Snakemake dry run, and the rules as Snakemake parses them."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from snakemake.api import SnakemakeApi
from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings

from checkout import run_shell
from vgs_ops.projection import parse_dry_run

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Plan:
    """The jobs a Snakemake dry run lists: rule name, wildcards and resources of each."""

    jobs: tuple[tuple[str, dict[str, str], dict[str, str]], ...]

    @classmethod
    def parse(cls, output: str) -> Plan:
        jobs = parse_dry_run(output)
        assert jobs, f"no jobs in the dry run's output:\n{output[-2000:]}"
        return cls(tuple(jobs))

    def counts(self) -> Counter[str]:
        return Counter(rule for rule, _, _ in self.jobs)

    def values(self, rule: str, wildcard: str) -> set[str]:
        return {wildcards[wildcard] for name, wildcards, _ in self.jobs if name == rule}


def dry_run(script: str, checkout: Path, timeout: float = 300) -> Plan:
    """The plan of a dry-run shell ``script`` run in ``checkout`` (see :func:`checkout.run_shell`)."""
    result = run_shell(script, checkout, timeout=timeout)
    assert result.returncode == 0, f"`{script}` failed:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    return Plan.parse(result.stdout + result.stderr)


def load_rules(configfiles: tuple[str, ...]) -> dict[str, Any]:
    """The parsed rules of the workflow under ``configfiles``, by name."""
    with SnakemakeApi(OutputSettings()) as api:
        workflow_api = api.workflow(
            resource_settings=ResourceSettings(),
            config_settings=ConfigSettings(configfiles=[REPO / name for name in configfiles]),
            snakefile=REPO / "Snakefile",
            workdir=REPO,
        )
        return {rule.name: rule for rule in workflow_api._workflow.rules}


@contextlib.contextmanager
def rules_loaded_aside(configfiles: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    """The parsed rules under ``configfiles`` inside the block; after it, rules loaded before see
    their own configuration again.

    Why: Snakemake runs every Snakefile in one module namespace (``snakemake.workflow``), so the
    ``config``, ``PLAN`` and input functions of a workflow loaded earlier in this process would
    read the later one's values.
    """
    import snakemake.workflow

    namespace = vars(snakemake.workflow)
    saved = dict(namespace)
    try:
        yield load_rules(configfiles)
    finally:
        namespace.clear()
        namespace.update(saved)
