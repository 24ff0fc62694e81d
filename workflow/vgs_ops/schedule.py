"""Wall-clock of a DAG of jobs on G GPUs and C CPU cores: a critical-path-first list scheduler.

Why: GPU-hours say what a run costs, not how long a user waits for it. The wait is set by the
longest chain of dependent jobs (the critical path) and by how many jobs the resources let run
at once; ``make plan`` (:mod:`vgs_ops.projection`) feeds Snakemake's own DAG of the run, each job at
its projected time, through :func:`list_schedule` for the GPUs a user has.

The model, stated so that a reader can check a schedule by hand:

* a job needing a GPU takes one GPU for its whole duration (its CPU threads come with the GPU);
* a CPU job takes ``threads`` of the C cores (at most C: Snakemake scales a job's threads down to
  the cores it has);
* a job starts once every job it depends on has finished and its resources are free; no job is
  preempted;
* whenever a job finishes, the ready jobs are considered in order of their *bottom level* (the
  longest chain of durations from the job to the end of the DAG, the job included; ties by name),
  and each one that fits starts (a lower-priority job may start while a higher one waits for
  resources);
* a job longer than the partition's time limit runs in :func:`submissions` consecutive
  submissions, each resubmission adding ``restart_s`` (:func:`resubmitted`); the time a
  submission waits in the queue is not modelled.

Pure Python, no Snakemake: ``tests/test_schedule.py`` checks it against DAGs worked by hand.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter


@dataclass(frozen=True)
class Task:
    """One job of the DAG: its duration, whether it takes a GPU, its CPU threads and what it waits for."""

    name: str
    seconds: float
    gpu: bool = False
    threads: int = 1
    after: tuple[str, ...] = ()


@dataclass(frozen=True)
class Schedule:
    """When each task starts, the makespan and the critical path (a lower bound on any schedule)."""

    makespan_s: float
    critical_path_s: float
    critical_path: tuple[str, ...]
    starts: Mapping[str, float]


def submissions(seconds: float, limit_s: float) -> int:
    """Submissions a job of ``seconds`` needs under a time limit, each resuming where the last stopped."""
    return max(1, math.ceil(seconds / limit_s))


def resubmitted(seconds: float, limit_s: float, restart_s: float) -> float:
    """Duration of a job that is resubmitted at the limit: its work plus ``restart_s`` per resubmission."""
    return seconds + (submissions(seconds, limit_s) - 1) * restart_s


def _order(tasks: Mapping[str, Task]) -> list[str]:
    """Tasks in dependency order; a cycle or a dependency on an unknown task is an error."""
    for task in tasks.values():
        unknown = [name for name in task.after if name not in tasks]
        if unknown:
            raise ValueError(f"task {task.name!r} depends on unknown task(s) {unknown}")
    try:
        return list(TopologicalSorter({name: task.after for name, task in tasks.items()}).static_order())
    except CycleError as error:
        raise ValueError(f"the tasks form a cycle: {' -> '.join(error.args[1])}") from error


def _successors(tasks: Mapping[str, Task]) -> dict[str, list[str]]:
    """The tasks that wait for each task."""
    successors: dict[str, list[str]] = {name: [] for name in tasks}
    for task in tasks.values():
        for before in sorted(set(task.after)):
            successors[before].append(task.name)
    return successors


def bottom_levels(tasks: Mapping[str, Task]) -> dict[str, float]:
    """Each task's longest chain of durations to the end of the DAG, its own duration included."""
    order = _order(tasks)  # first: it refuses cycles and unknown dependencies
    successors = _successors(tasks)
    level: dict[str, float] = {}
    for name in reversed(order):
        level[name] = tasks[name].seconds + max((level[s] for s in successors[name]), default=0.0)
    return level


def critical_path(tasks: Mapping[str, Task]) -> tuple[float, tuple[str, ...]]:
    """The longest chain of durations through the DAG and its tasks, first to last."""
    if not tasks:
        return 0.0, ()
    level, successors = bottom_levels(tasks), _successors(tasks)
    roots = [name for name, task in tasks.items() if not task.after]
    path = [max(sorted(roots), key=lambda name: level[name])]
    while successors[path[-1]]:
        path.append(max(sorted(successors[path[-1]]), key=lambda name: level[name]))
    return level[path[0]], tuple(path)


def list_schedule(tasks: Iterable[Task], gpus: int, cores: int) -> Schedule:
    """Simulate the tasks on ``gpus`` GPUs and ``cores`` CPU cores (see the module docstring)."""
    by_name = {task.name: task for task in tasks}
    if gpus < 1 and any(task.gpu for task in by_name.values()):
        raise ValueError("tasks need a GPU but none is given")
    if cores < 1:
        raise ValueError("at least one CPU core is needed")
    level = bottom_levels(by_name)
    waiting = {name: len(set(task.after)) for name, task in by_name.items()}
    successors = _successors(by_name)
    ready = [name for name, count in waiting.items() if count == 0]
    running: list[tuple[float, str]] = []  # (finish time, name)
    free_gpus, free_cores, now = gpus, cores, 0.0
    starts: dict[str, float] = {}
    while ready or running:
        ready.sort(key=lambda name: (-level[name], name))
        for name in list(ready):
            task = by_name[name]
            threads = min(task.threads, cores)
            if task.gpu and free_gpus:
                free_gpus -= 1
            elif not task.gpu and threads <= free_cores:
                free_cores -= threads
            else:
                continue
            ready.remove(name)
            starts[name] = now
            heapq.heappush(running, (now + task.seconds, name))
        now, name = heapq.heappop(running)
        finished = [name]
        while running and running[0][0] == now:  # everything ending now frees its resources at once
            finished.append(heapq.heappop(running)[1])
        for name in finished:
            task = by_name[name]
            if task.gpu:
                free_gpus += 1
            else:
                free_cores += min(task.threads, cores)
            for successor in successors[name]:
                waiting[successor] -= 1
                if waiting[successor] == 0:
                    ready.append(successor)
    length, path = critical_path(by_name)
    makespan = max((starts[name] + by_name[name].seconds for name in starts), default=0.0)
    return Schedule(makespan, length, path, starts)
