"""What a configuration will cost before it runs: ``make plan CONFIG=...`` (``python -m vgs_ops.projection``).

Why: before hundreds of jobs go to a cluster, a user should see how many jobs of each kind there
are, how many CPU core-hours and GPU-hours they are projected to take, the largest memory any one
of them needs and the disk their outputs fill, and whether the longest job fits a partition's time
limit. The jobs are Snakemake's own dry run of the configuration (so the counts are the workflow's,
not a re-derivation that could drift); the cost of each heavy job is :func:`vgs_ops.costs.job_cost`,
the same function the rules' resource requests come from. Light jobs (tables, figures, TTS
shards, ...) are shown with their fixed requests, as an upper bound.

At the paper's size the plan reads the published corpus sizes in the configuration
(``corpora.<c>.size``) until the manifests exist; it runs in seconds (the dry run plans 400 jobs).
"""

from __future__ import annotations

import argparse
import math
import re
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from vgs.config import ConfigError, test5k_corpus, trained_models, validate_config
from vgs_ops.costs import HEAVY_RULES, corpus_size, job_cost

#: A job of a dry run: rule name, wildcards, resources (all as Snakemake prints them).
Job = tuple[str, dict[str, str], dict[str, str]]
#: Partition time limit the plan reports the number of submissions for (hours).
TIME_LIMIT_HOURS = 24


def parse_dry_run(output: str) -> list[Job]:
    """The jobs a ``snakemake -n`` run lists: rule name, wildcards and resources of each."""
    jobs: list[Job] = []
    for line in output.splitlines():
        rule = re.fullmatch(r"(?:local)?rule (\w+):", line.strip())
        if rule:
            jobs.append((rule.group(1), {}, {}))
        field = re.fullmatch(r"\s+(wildcards|resources): (.*)", line)
        if field and jobs:
            pairs = dict(item.split("=", 1) for item in field.group(2).split(", "))
            jobs[-1][1 if field.group(1) == "wildcards" else 2].update(pairs)
    return jobs


def load_layered(paths: Sequence[str | Path]) -> dict[str, Any]:
    """The configuration Snakemake runs with ``--configfile`` *paths*: later files override earlier
    ones key by key (nested mappings merged), then validated with the schema defaults filled in."""
    merged: dict[str, Any] = {}
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            _merge(merged, yaml.safe_load(handle) or {})
    return validate_config(merged)


def _merge(base: dict[str, Any], update: Mapping[str, Any]) -> None:
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


def dry_run(paths: Sequence[str | Path], cwd: str | Path = ".") -> list[Job]:
    """The jobs ``snakemake -n --configfile <paths>`` plans in ``cwd`` (the repository root)."""
    command = [sys.executable, "-m", "snakemake", "-n", "--configfile", *map(str, paths)]
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"`{' '.join(command[1:])}` failed:\n{(result.stdout + result.stderr)[-3000:]}")
    return parse_dry_run(result.stdout + result.stderr)


@dataclass
class Row:
    """One job kind of the plan: counts and totals of its jobs."""

    rule: str
    jobs: int = 0
    cpu_hours: float = 0.0
    gpu_hours: float = 0.0
    peak_mb: float = 0.0
    disk_mb: float = 0.0
    longest_hours: float = 0.0
    projected: bool = True  # False: a light rule, its fixed requests shown as an upper bound


def plan_rows(config: Mapping[str, Any], jobs: Iterable[Job], results: str | Path = "results") -> list[Row]:
    """Job kinds in dry-run order with their projected totals (:func:`vgs_ops.costs.job_cost`)."""
    rows: dict[str, Row] = {}
    for rule, wildcards, resources in jobs:
        row = rows.setdefault(rule, Row(rule))
        row.jobs += 1
        cost = job_cost(config, rule, wildcards, results)
        if cost is None:
            row.projected = False
            hours = int(resources.get("runtime", 0)) / 60
            row.cpu_hours += hours
            row.peak_mb = max(row.peak_mb, float(resources.get("mem_mb", 0)))
            row.longest_hours = max(row.longest_hours, hours)
            continue
        row.cpu_hours += cost.cpu_hours
        row.gpu_hours += cost.gpu_hours
        row.peak_mb = max(row.peak_mb, cost.peak_mb)
        row.disk_mb += cost.disk_mb
        row.longest_hours = max(row.longest_hours, cost.seconds / 3600)
    return sorted(
        rows.values(),
        key=lambda row: (not row.projected, list(HEAVY_RULES).index(row.rule) if row.projected else 0, row.rule),
    )


def check_statistics(config: Mapping[str, Any], results: str | Path = "results") -> None:
    """Stop with one message naming the key when a trained corpus has neither a manifest nor a size."""
    for corpus in sorted({spec["corpus"] for spec in trained_models(config).values()}):
        corpus_size(config, corpus, results)


def submissions(hours: float, limit_hours: float = TIME_LIMIT_HOURS) -> int:
    """Submissions a job of ``hours`` needs under a time limit, each resuming where the last stopped."""
    return max(1, math.ceil(hours / limit_hours))


def _number(value: float) -> str:
    """Three significant digits, thousands separated: a plan spans seconds to days."""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def format_plan(rows: Sequence[Row], config: Mapping[str, Any], results: str | Path = "results") -> str:
    """The plan as a Markdown table with totals and the notes that qualify it."""
    lines = [
        "| job kind | jobs | CPU core-hours | GPU-hours | peak memory of one job (GB) | disk (GB) | longest job (h) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        if row.projected:
            lines.append(
                f"| {row.rule} | {row.jobs} | {_number(row.cpu_hours)} | {_number(row.gpu_hours)} | "
                f"{_number(row.peak_mb / 1000)} | {_number(row.disk_mb / 1000)} | {_number(row.longest_hours)} |"
            )
        else:  # light: the rule's fixed requests, when it declares any

            def bound(value: float, scale: float = 1.0) -> str:
                return f"≤ {_number(value / scale)}" if value else "–"

            lines.append(
                f"| {row.rule} (request) | {row.jobs} | {bound(row.cpu_hours)} | – | "
                f"{bound(row.peak_mb, 1000)} | – | {bound(row.longest_hours)} |"
            )
    projected = [row for row in rows if row.projected]
    lines.append(
        f"| **total** | {sum(r.jobs for r in rows)} | {_number(sum(r.cpu_hours for r in projected))} "
        f"(+ ≤ {_number(sum(r.cpu_hours for r in rows if not r.projected))} requested) | "
        f"{_number(sum(r.gpu_hours for r in rows))} | {_number(max((r.peak_mb for r in rows), default=0) / 1000)} | "
        f"{_number(sum(r.disk_mb for r in projected) / 1000)} | "
        f"{_number(max((r.longest_hours for r in projected), default=0))} |"
    )
    corpora = sorted({spec["corpus"] for spec in trained_models(config).values()})
    corpora += [test5k_corpus(c) for c in corpora if config["corpora"][c].get("test5k")]
    sources = ", ".join(f"{c}: {corpus_size(config, c, results).source}" for c in corpora)
    gpu_rows = [row for row in rows if row.gpu_hours]
    notes = [
        "",
        f"Sizes: {sources}.",
        "Projections from vgs_ops.costs (CPU rates measured on a 2-core VM, GPU rates on one NVIDIA H200 by "
        "`make gpu-check`). Requests are the projections x 2 (runtime) and x 1.5 (memory). "
        "'(request)' rows are light jobs at their fixed requests.",
    ]
    if gpu_rows:
        longest = max(gpu_rows, key=lambda row: row.longest_hours)
        notes.append(
            f"Longest GPU job: {longest.rule}, {longest.longest_hours:,.1f} h projected: "
            f"{submissions(longest.longest_hours)} submission(s) at a {TIME_LIMIT_HOURS} h limit."
        )
    return "\n".join(lines + notes)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configfiles", nargs="+", help="configuration files, layered as --configfile does")
    args = parser.parse_args(argv)
    try:
        config = load_layered(args.configfiles)
        check_statistics(config)
        rows = plan_rows(config, dry_run(args.configfiles))
        print(format_plan(rows, config))
    except ConfigError as error:
        print(f"plan: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
