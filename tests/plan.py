"""The jobs a Snakemake dry run plans, parsed from its output, so tests assert what a command would run."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from checkout import run_shell
from vgs.projection import parse_dry_run


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
