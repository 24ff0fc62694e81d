"""The wall-clock scheduler of ``make plan`` (vgs_ops.schedule) against small DAGs worked by hand.

Why: the plan's wall-clock on N GPUs is this scheduler's makespan over Snakemake's DAG; each test
below writes out, in its docstring, the schedule a person would draw for the DAG, and checks the
makespan (and where it matters the start times) against it.
"""

from __future__ import annotations

import pytest

from vgs_ops.schedule import Task, critical_path, list_schedule, resubmitted, submissions


def gpu(name: str, seconds: float, *after: str) -> Task:
    return Task(name, seconds, gpu=True, after=after)


def cpu(name: str, seconds: float, threads: int = 1, *after: str) -> Task:
    return Task(name, seconds, gpu=False, threads=threads, after=after)


def test_a_chain_takes_the_sum_of_its_jobs_whatever_the_gpus() -> None:
    """A(2) -> B(3) -> C(1): nothing can overlap, so 2 + 3 + 1 = 6 on one GPU or eight."""
    tasks = [gpu("A", 2), gpu("B", 3, "A"), gpu("C", 1, "B")]
    for gpus in (1, 8):
        schedule = list_schedule(tasks, gpus, 1)
        assert schedule.makespan_s == 6
        assert schedule.starts == {"A": 0, "B": 2, "C": 5}
    assert critical_path({t.name: t for t in tasks}) == (6, ("A", "B", "C"))


def test_a_fork_and_join_on_one_and_two_gpus() -> None:
    """A(1) -> {B(4), C(2), D(2)} -> E(1).

    Two GPUs: A 0-1; at 1 B (bottom level 5) and C (3, before D by name) start; C ends at 3 and D
    runs 3-5; B ends at 5; E runs 5-6: makespan 6, the critical path A-B-E (1 + 4 + 1).
    One GPU: everything in turn, 1 + 4 + 2 + 2 + 1 = 10.
    """
    tasks = [gpu("A", 1), gpu("B", 4, "A"), gpu("C", 2, "A"), gpu("D", 2, "A"), gpu("E", 1, "B", "C", "D")]
    two = list_schedule(tasks, 2, 1)
    assert two.makespan_s == 6 and two.starts == {"A": 0, "B": 1, "C": 1, "D": 3, "E": 5}
    assert two.critical_path == ("A", "B", "E") and two.critical_path_s == 6
    assert list_schedule(tasks, 1, 1).makespan_s == 10


def test_the_longest_chain_starts_first() -> None:
    """Roots A(3), B(3), C(1) -> D(6), two GPUs.

    Critical-path-first: C (bottom level 7) and A (3, before B by name) start at 0; C ends at 1 and
    D runs 1-7; A ends at 3 and B runs 3-6: makespan 7. Taking the roots by name instead (A, B
    first) would start C at 3 and D at 4, ending at 10.
    """
    tasks = [gpu("A", 3), gpu("B", 3), gpu("C", 1), gpu("D", 6, "C")]
    schedule = list_schedule(tasks, 2, 1)
    assert schedule.makespan_s == 7
    assert schedule.starts == {"C": 0, "A": 0, "D": 1, "B": 3}


def test_cpu_jobs_share_the_cores_by_their_threads_and_leave_the_gpus_alone() -> None:
    """Four cores, one GPU: P1, P2, P3 (2 threads, 1 h each) -> G (GPU, 2 h); H (GPU, 3 h) on its own.

    Bottom levels: H 3, P* 1 + 2 = 3 (ties by name: H before P1), G 2. At 0 H takes the GPU and
    P1, P2 the four cores; P3 runs 1-2; G is ready at 2 but the GPU is H's until 3: G 3-5,
    makespan 5. The CPU jobs never wait for the GPU, nor H for the cores.
    """
    tasks = [cpu("P1", 1, 2), cpu("P2", 1, 2), cpu("P3", 1, 2), gpu("G", 2, "P1", "P2", "P3"), gpu("H", 3)]
    schedule = list_schedule(tasks, 1, 4)
    assert schedule.starts == {"H": 0, "P1": 0, "P2": 0, "P3": 1, "G": 3}
    assert schedule.makespan_s == 5
    assert list_schedule(tasks, 2, 4).makespan_s == 4  # a second GPU: G 2-4 beside H 0-3


def test_a_job_wanting_more_threads_than_cores_runs_on_all_of_them() -> None:
    """X (8 threads, 2 h) then Y (1 thread, 1 h) on 2 cores: X takes both cores 0-2, Y 2-3."""
    schedule = list_schedule([cpu("X", 2, 8), cpu("Y", 1, 1)], 1, 2)
    assert schedule.starts == {"X": 0, "Y": 2} and schedule.makespan_s == 3


def test_zero_length_jobs_chain_at_the_same_instant() -> None:
    """A(0) -> B(0) -> C(2): the two empty jobs end at 0 and C runs 0-2."""
    schedule = list_schedule([cpu("A", 0), cpu("B", 0, 1, "A"), cpu("C", 2, 1, "B")], 1, 1)
    assert schedule.makespan_s == 2 and schedule.starts["C"] == 0


def test_resubmissions_at_the_time_limit() -> None:
    """At a 24 h limit: 24 h is one submission; 24.5 h two; 50 h three, so two restarts of 0.5 h: 51 h."""
    hour = 3600.0
    assert [submissions(h * hour, 24 * hour) for h in (0.1, 24.0, 24.5, 50.0)] == [1, 1, 2, 3]
    assert resubmitted(50 * hour, 24 * hour, 0.5 * hour) == 51 * hour
    assert resubmitted(3 * hour, 24 * hour, 0.5 * hour) == 3 * hour


@pytest.mark.parametrize(
    ("tasks", "message"),
    [
        ([gpu("A", 1, "B"), gpu("B", 1, "A")], "cycle"),
        ([gpu("A", 1, "nowhere")], "unknown"),
    ],
)
def test_a_malformed_dag_is_refused(tasks: list[Task], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        list_schedule(tasks, 1, 1)


def test_gpu_jobs_without_a_gpu_are_refused() -> None:
    with pytest.raises(ValueError, match="GPU"):
        list_schedule([gpu("A", 1)], 0, 4)
