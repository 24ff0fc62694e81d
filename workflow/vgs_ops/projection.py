"""What a configuration will cost before it runs: ``make plan CONFIG=...`` (``python -m vgs_ops.projection``).

Why: before hundreds of jobs go to a cluster, a user should see how many jobs of each kind there
are, how many CPU core-hours and GPU-hours they are projected to take, the largest memory any one
of them needs and the disk their outputs fill, and whether the longest job fits a partition's time
limit. The jobs are Snakemake's own dry run of the configuration (so the counts are the workflow's,
not a re-derivation that could drift); the cost of each heavy job is :func:`vgs_ops.costs.job_cost`,
the same function the rules' resource requests come from. Light jobs (tables, figures, TTS
shards, ...) are shown with their fixed requests, as an upper bound.

It also projects the wall-clock of the whole run on N GPUs (``--gpus``, 8 by default, and 1): the
same dry run's jobs, linked by the files one writes and the next reads (the edges of Snakemake's
DAG), each at its projected time (light jobs at their runtime requests), scheduled by
:func:`vgs_ops.schedule.list_schedule`, for the configured recipe and each speed option measured on
a GPU so far (:data:`RECIPES`). Queue waits are not modelled.

At the paper's size the plan reads the published corpus sizes in the configuration
(``corpora.<c>.size``) until the manifests exist; it runs in seconds (the dry run plans 405 jobs).
"""

from __future__ import annotations

import argparse
import copy
import re
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from vgs import layout
from vgs.config import ConfigError, test5k_corpus, train_settings, trained_models, validate_config
from vgs.plan import WorkflowPlan
from vgs_ops.costs import GPU_PADDED_TFLOPS, HEAVY_RULES, corpus_size, job_cost
from vgs_ops.schedule import Schedule, Task, list_schedule, resubmitted, submissions

#: A job of a dry run: rule name, wildcards, resources (all as Snakemake prints them).
Job = tuple[str, dict[str, str], dict[str, str]]
#: Partition time limit the plan reports the number of submissions for (hours; ``--limit-hours``).
TIME_LIMIT_HOURS = 24.0
#: ASSUMED time a resubmitted job loses to starting again (interpreter, data, checkpoint, cuDNN
#: plans), minutes, per resubmission (``--restart-minutes``); not measured, queue waits excluded.
RESTART_MINUTES = 10.0
#: GPUs the wall-clock is projected for besides one (``--gpus``; ``make plan GPUS=...``).
GPUS = 8
#: CPU cores per GPU for the CPU jobs (``--cores-per-gpu``): the GPU machines measured so far have
#: 16 per GPU (docs/benchmarks.md); a site's CPU partition may give more.
CORES_PER_GPU = 16
#: Cores the dry run is given, more than any job asks for: Snakemake then prints every job's
#: declared threads (a dry run otherwise scales them down to its default cores).
DRY_RUN_CORES = 1024
#: Train settings of every model in each row of the wall-clock table: the authors' recipe and
#: each speed option measured on a GPU (docs/benchmarks.md, GPU check), alone and with bucketing.
RECIPES: dict[str, dict[str, Any]] = {
    "fp32, random batches: the authors' recipe": {"precision": "fp32", "bucket": False},
    "fp32, bucketed batches": {"precision": "fp32", "bucket": True},
    "TF32, random batches": {"precision": "tf32", "bucket": False},
    "TF32, bucketed batches": {"precision": "tf32", "bucket": True},
    "fp16 + gradient scaling, random batches": {"precision": "fp16", "bucket": False},
    "fp16 + gradient scaling, bucketed batches": {"precision": "fp16", "bucket": True},
}


@dataclass(frozen=True)
class DagJob:
    """A job of a dry run as Snakemake prints it: the files it reads and writes link it into the DAG."""

    jobid: str
    rule: str
    wildcards: dict[str, str]
    resources: dict[str, str]
    threads: int
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]


def parse_dag(output: str) -> list[DagJob]:
    """Every job a ``snakemake -n`` run lists, with its id, wildcards, resources, threads and files."""
    fields: list[dict[str, Any]] = []
    for line in output.splitlines():
        rule = re.fullmatch(r"(?:local)?rule (\w+):", line.strip())
        if rule:
            fields.append({"rule": rule.group(1), "wildcards": {}, "resources": {}})
        field = re.fullmatch(r"\s+(wildcards|resources|input|output|jobid|threads): (.*)", line)
        if field and fields:
            name, value = field.groups()
            if name in ("wildcards", "resources"):
                fields[-1][name].update(item.split("=", 1) for item in value.split(", "))
            else:
                fields[-1][name] = tuple(value.split(", ")) if name in ("input", "output") else value
    return [
        DagJob(
            job.get("jobid", str(index)),
            job["rule"],
            job["wildcards"],
            job["resources"],
            int(job.get("threads", 1)),
            job.get("input", ()),
            job.get("output", ()),
        )
        for index, job in enumerate(fields)
    ]


def parse_dry_run(output: str) -> list[Job]:
    """The jobs a ``snakemake -n`` run lists: rule name, wildcards and resources of each."""
    return [(job.rule, job.wildcards, job.resources) for job in parse_dag(output)]


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


def dry_run_output(paths: Sequence[str | Path], cwd: str | Path = ".") -> str:
    """What ``snakemake -n --configfile <paths>`` prints in ``cwd`` (the repository root)."""
    command = [sys.executable, "-m", "snakemake", "-n", "--cores", str(DRY_RUN_CORES), "--configfile"]
    command += map(str, paths)
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"`{' '.join(command[1:])}` failed:\n{(result.stdout + result.stderr)[-3000:]}")
    return result.stdout + result.stderr


def dry_run(paths: Sequence[str | Path], cwd: str | Path = ".") -> list[Job]:
    """The jobs ``snakemake -n --configfile <paths>`` plans in ``cwd`` (the repository root)."""
    return parse_dry_run(dry_run_output(paths, cwd))


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


def plan_rows(config: Mapping[str, Any], jobs: Iterable[Job], results: str | Path = layout.RESULTS) -> list[Row]:
    """Job kinds in dry-run order with their projected totals (:func:`vgs_ops.costs.job_cost`)."""
    rows: dict[str, Row] = {}
    plan = WorkflowPlan(config)
    for rule, wildcards, resources in jobs:
        row = rows.setdefault(rule, Row(rule))
        row.jobs += 1
        cost = job_cost(plan, rule, wildcards, results)
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


def check_statistics(config: Mapping[str, Any], results: str | Path = layout.RESULTS) -> None:
    """Stop with one message naming the key when a trained corpus has neither a manifest nor a size."""
    for corpus in sorted({spec["corpus"] for spec in trained_models(config).values()}):
        corpus_size(config, corpus, results)


def _number(value: float) -> str:
    """Three significant digits, thousands separated: a plan spans seconds to days."""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def format_plan(
    rows: Sequence[Row],
    config: Mapping[str, Any],
    results: str | Path = layout.RESULTS,
    limit_hours: float = TIME_LIMIT_HOURS,
) -> str:
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
            f"{submissions(longest.longest_hours, limit_hours)} submission(s) at a {limit_hours:g} h limit."
        )
    return "\n".join(lines + notes)


# --- Wall-clock -----------------------------------------------------------------------------------


def with_recipe(config: Mapping[str, Any], settings: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of the configuration whose every model trains with ``settings`` (the shared ``train:``
    section and every model's or the study's own ``train:`` overrides)."""
    changed = copy.deepcopy(dict(config))
    changed["train"].update(settings)
    for spec in [*(changed.get("models") or {}).values(), changed.get("study") or {}]:
        if "train" in spec:
            spec["train"].update(settings)
    return changed


def configured(config: Mapping[str, Any], settings: Mapping[str, Any]) -> bool:
    """Whether every trained model already trains with ``settings``."""
    return all(
        train_settings(config, model).get(key) == value
        for model in trained_models(config)
        for key, value in settings.items()
    )


def dag_tasks(
    config: Mapping[str, Any],
    jobs: Sequence[DagJob],
    limit_hours: float = TIME_LIMIT_HOURS,
    restart_minutes: float = RESTART_MINUTES,
    results: str | Path = "results",
) -> list[Task]:
    """The dry run's jobs as the scheduler's tasks: each at its projected time (a light job at its
    runtime request, an upper bound), after the jobs that write its inputs, with a restart per
    resubmission when it outlasts the time limit."""
    producer = {path: job.jobid for job in jobs for path in job.outputs}
    tasks = []
    for job in jobs:
        cost = job_cost(config, job.rule, job.wildcards, results)
        if cost is None:
            seconds, gpu = 60 * float(job.resources.get("runtime", 0)), int(job.resources.get("gpu", 0)) > 0
        else:
            seconds, gpu = cost.seconds, cost.gpu
        after = tuple(sorted({producer[path] for path in job.inputs if path in producer}))
        seconds = resubmitted(seconds, limit_hours * 3600, restart_minutes * 60)
        tasks.append(Task(job.jobid, seconds, gpu, job.threads, after))
    return tasks


@dataclass(frozen=True)
class WallClock:
    """One recipe's projected wall-clock on each number of GPUs."""

    recipe: str
    configured: bool
    schedules: Mapping[int, Schedule]
    light_on_critical_path_s: float  # light jobs' requests on the critical path: the upper-bound part
    longest: tuple[str, float]  # the longest job and its duration, resubmissions included


def wall_clocks(
    config: Mapping[str, Any],
    jobs: Sequence[DagJob],
    gpu_counts: Sequence[int],
    cores_per_gpu: int = CORES_PER_GPU,
    limit_hours: float = TIME_LIMIT_HOURS,
    restart_minutes: float = RESTART_MINUTES,
    results: str | Path = "results",
) -> list[WallClock]:
    """Each recipe of :data:`RECIPES` (and the configured one, when it is none of them) scheduled
    on each number of GPUs."""
    recipes = dict(RECIPES)
    if not any(configured(config, settings) for settings in recipes.values()):
        recipes = {"as configured": {}, **recipes}
    by_id = {job.jobid: job for job in jobs}
    clocks = []
    for name, settings in recipes.items():
        tasks = dag_tasks(with_recipe(config, settings), jobs, limit_hours, restart_minutes, results)
        schedules = {gpus: list_schedule(tasks, gpus, gpus * cores_per_gpu) for gpus in gpu_counts}
        durations = {task.name: task.seconds for task in tasks}
        path = next(iter(schedules.values())).critical_path if schedules else ()
        light = sum(durations[jobid] for jobid in path if by_id[jobid].rule not in HEAVY_RULES)
        longest = max(tasks, key=lambda task: task.seconds, default=Task("-", 0.0))
        job = by_id.get(longest.name)
        label = f"{job.rule} ({', '.join(f'{k}={v}' for k, v in job.wildcards.items())})" if job else "-"
        clocks.append(WallClock(name, configured(config, settings), schedules, light, (label, longest.seconds)))
    return clocks


def format_wall_clock(
    clocks: Sequence[WallClock],
    cores_per_gpu: int = CORES_PER_GPU,
    limit_hours: float = TIME_LIMIT_HOURS,
    restart_minutes: float = RESTART_MINUTES,
) -> str:
    """The wall-clock table with the assumptions it rests on."""
    counts = list(clocks[0].schedules)
    header = " | ".join(f"{g} GPU{'s' if g > 1 else ''} ({g * cores_per_gpu} cores)" for g in counts)
    lines = [
        "",
        "Wall-clock of the whole run (projected: the DAG's jobs at the projected times above, scheduled "
        "critical-path-first):",
        "",
        f"| every model trained with | {header} | critical path | longest job (resubmissions included) |",
        f"|---|{'---:|' * len(counts)}---:|---|",
    ]
    for clock in clocks:
        cells = " | ".join(f"{clock.schedules[g].makespan_s / 3600:,.1f} h" for g in counts)
        critical = next(iter(clock.schedules.values())).critical_path_s / 3600
        job, seconds = clock.longest
        mark = " (as configured)" if clock.configured else ""
        lines.append(
            f"| {clock.recipe}{mark} | {cells} | {critical:,.1f} h | {job}: {seconds / 3600:,.1f} h, "
            f"{submissions(seconds, limit_hours * 3600)} submission(s) |"
        )
    configured_clock = next((clock for clock in clocks if clock.configured), clocks[0])
    rates = ", ".join(f"{name} {rate}" for name, rate in GPU_PADDED_TFLOPS.items())
    lines += [
        "",
        f"Assumes: each GPU job on one GPU; CPU jobs on {cores_per_gpu} cores per GPU (`--cores-per-gpu`; a GPU "
        "job's own threads come with its GPU); a job starts when the jobs writing its inputs have finished and "
        f"its GPU or cores are free; a job longer than the {limit_hours:g} h partition limit (`--limit-hours`) "
        f"runs in consecutive submissions, each restart costing {restart_minutes:g} min (`--restart-minutes`, "
        "assumed, not measured). Queue waits are excluded: on a busy cluster each submission waits on top. "
        f"GPU rates (TFLOP/s of padded frames: {rates}) measured on one NVIDIA H200 (vgs_ops.costs); "
        "another GPU runs at its own. Light jobs count at their runtime requests, an upper bound: "
        f"{configured_clock.light_on_critical_path_s / 3600:,.1f} h of the configured recipe's critical path.",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configfiles", nargs="+", help="configuration files, layered as --configfile does")
    parser.add_argument(
        "--gpus", type=int, default=GPUS, help=f"GPUs to project the wall-clock for, besides 1 ({GPUS})"
    )
    parser.add_argument("--cores-per-gpu", type=int, default=CORES_PER_GPU, help="CPU cores per GPU for CPU jobs")
    parser.add_argument("--limit-hours", type=float, default=TIME_LIMIT_HOURS, help="partition time limit (h)")
    parser.add_argument(
        "--restart-minutes", type=float, default=RESTART_MINUTES, help="time lost per resubmission (min)"
    )
    args = parser.parse_args(argv)
    if args.gpus < 1 or args.cores_per_gpu < 1 or args.limit_hours <= 0 or args.restart_minutes < 0:
        parser.error("--gpus and --cores-per-gpu must be at least 1, --limit-hours positive, --restart-minutes >= 0")
    try:
        config = load_layered(args.configfiles)
        check_statistics(config)
        jobs = parse_dag(dry_run_output(args.configfiles))
        rows = plan_rows(config, [(job.rule, job.wildcards, job.resources) for job in jobs])
        print(format_plan(rows, config, limit_hours=args.limit_hours))
        clocks = wall_clocks(
            config,
            jobs,
            sorted({args.gpus, 1}, reverse=True),
            args.cores_per_gpu,
            args.limit_hours,
            args.restart_minutes,
        )
        print(format_wall_clock(clocks, args.cores_per_gpu, args.limit_hours, args.restart_minutes))
    except ConfigError as error:
        print(f"plan: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
