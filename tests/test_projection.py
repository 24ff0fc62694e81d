"""`make plan` (vgs_ops.projection): the jobs Snakemake plans, with projected hours, memory and disk.

Why: the plan is what a user reads before submitting hundreds of jobs; its counts must be the
workflow's own (Snakemake's job-count table), its totals the sums of the per-job costs, and a
configuration it cannot cost must stop with the key to fill in.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from checkout import fresh_checkout, run_shell
from vgs.config import load_config
from vgs_ops import costs, projection
from vgs_ops.schedule import Task

REPO = Path(__file__).resolve().parents[1]
PAPER = REPO / "workflow" / "config" / "paper.yaml"

DRY_RUN = """\
Job stats:
job      count
-----  -------
train        1
total        1

rule train:
    input: results/corpora/c/manifest.tsv
    wildcards: model=coco, seed=1
    resources: tmpdir=/tmp, gpu=1, runtime=20, mem_mb=1500
localrule all:
    input: x
"""


def test_parse_dry_run() -> None:
    assert projection.parse_dry_run(DRY_RUN) == [
        ("train", {"model": "coco", "seed": "1"}, {"tmpdir": "/tmp", "gpu": "1", "runtime": "20", "mem_mb": "1500"}),
        ("all", {}, {}),
    ]


# Three jobs of paper.yaml as Snakemake's dry run prints them (--cores large: threads are printed):
# load_corpus writes the manifest both trainings read; the light `all` job waits for both.
DAG = """\
rule load_corpus:
    input: resources/flickr8k/.complete
    output: results/corpora/flickr8k/manifest.tsv, results/corpora/flickr8k/rejected.tsv
    jobid: 3
    reason: Missing output files: results/corpora/flickr8k/manifest.tsv
    wildcards: corpus=flickr8k
    resources: tmpdir=/tmp, runtime=10, mem_mb=1000
rule train:
    input: results/corpora/flickr8k/manifest.tsv, results/features/image/flickr8k.h5
    output: results/models/flickr8k/seed1/best.pt, results/models/flickr8k/seed1/train_log.tsv
    jobid: 1
    threads: 8
    wildcards: model=flickr8k, seed=1
    resources: tmpdir=/tmp, gpu=1, runtime=2880, mem_mb=4092
rule train:
    input: results/corpora/flickr8k/manifest.tsv
    output: results/models/spokencoco-k1/seed1/best.pt
    jobid: 2
    threads: 8
    wildcards: model=spokencoco-k1, seed=1
    resources: tmpdir=/tmp, gpu=1, runtime=2880, mem_mb=4092
localrule all:
    input: results/models/flickr8k/seed1/best.pt, results/models/spokencoco-k1/seed1/best.pt, results/tables/x.md
    jobid: 0
    resources: tmpdir=/tmp, runtime=30
"""


def test_parse_dag_reads_ids_threads_and_files() -> None:
    jobs = projection.parse_dag(DAG)
    assert [(job.jobid, job.rule, job.threads) for job in jobs] == [
        ("3", "load_corpus", 1),
        ("1", "train", 8),
        ("2", "train", 8),
        ("0", "all", 1),
    ]
    assert jobs[0].outputs == ("results/corpora/flickr8k/manifest.tsv", "results/corpora/flickr8k/rejected.tsv")
    assert jobs[1].inputs == ("results/corpora/flickr8k/manifest.tsv", "results/features/image/flickr8k.h5")
    assert jobs[3].outputs == () and jobs[1].wildcards == {"model": "flickr8k", "seed": "1"}
    assert projection.parse_dry_run(DAG)[1] == ("train", jobs[1].wildcards, jobs[1].resources)


def test_dag_tasks_link_jobs_by_their_files_and_resubmit_at_the_limit(tmp_path: Path) -> None:
    """Edges: both trainings read the manifest load_corpus writes; `all` reads both models (and a
    table no job of this run writes: no edge). Durations: heavy jobs at their projected cost, the
    light `all` at its 30 min request; at a 1 h limit each ~3 h training takes ceil(t / 1 h)
    submissions and a restart of 0.5 h per resubmission."""
    config = load_config(PAPER)
    cost = {
        m: costs.job_cost(config, "train", {"model": m, "seed": "1"}, tmp_path).seconds
        for m in ("flickr8k", "spokencoco-k1")
    }
    load = costs.job_cost(config, "load_corpus", {"corpus": "flickr8k"}, tmp_path).seconds
    tasks = projection.dag_tasks(config, projection.parse_dag(DAG), 24, 10, tmp_path)
    assert tasks == [
        Task("3", load, False, 1, ()),
        Task("1", cost["flickr8k"], True, 8, ("3",)),
        Task("2", cost["spokencoco-k1"], True, 8, ("3",)),
        Task("0", 30 * 60, False, 1, ("1", "2")),
    ]
    short = projection.dag_tasks(config, projection.parse_dag(DAG), 1, 30, tmp_path)
    restarts = -(-cost["flickr8k"] // 3600) - 1
    assert restarts >= 2 and short[1].seconds == cost["flickr8k"] + restarts * 1800


def test_plan_prints_the_wall_clock_on_8_gpus_and_on_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The three jobs above at the authors' recipe: on 8 GPUs the two trainings run side by side
    after load_corpus, then `all` (30 min): load + max(training) + 0.5 h; on 1 GPU one after the
    other: load + both + 0.5 h. Every measured speed option gets its row, the assumptions follow."""
    monkeypatch.setattr(projection, "dry_run_output", lambda paths, cwd=".": DAG)
    monkeypatch.chdir(tmp_path)  # no manifests here: the published sizes
    assert projection.main([str(PAPER)]) == 0
    printed = capsys.readouterr().out
    config = load_config(PAPER)
    train = [costs.job_cost(config, "train", {"model": m, "seed": "1"}).seconds for m in ("flickr8k", "spokencoco-k1")]
    load = costs.job_cost(config, "load_corpus", {"corpus": "flickr8k"}).seconds
    eight, one = (load + max(train) + 1800) / 3600, (load + sum(train) + 1800) / 3600
    row = next(line for line in printed.splitlines() if line.startswith("| fp32, random batches: the authors'"))
    assert "(as configured)" in row
    assert row.split(" | ")[1:3] == [f"{eight:,.1f} h", f"{one:,.1f} h"]
    assert "| every model trained with | 8 GPUs (128 cores) | 1 GPU (16 cores) |" in printed
    assert all(f"| {recipe}" in printed for recipe in projection.RECIPES)
    assert "Queue waits are excluded" in printed and "upper bound" in printed


def test_a_configuration_that_is_no_listed_recipe_gets_its_own_first_row(tmp_path: Path) -> None:
    """bf16 is measured but not one of the rows (it runs at fp32's speed): the configured recipe is
    shown first, as configured, so that the user's own run is always among the rows."""
    config = load_config(PAPER)
    config["train"]["precision"] = "bf16"
    clocks = projection.wall_clocks(config, projection.parse_dag(DAG), [1], results=tmp_path)
    assert [clock.recipe for clock in clocks] == ["as configured", *projection.RECIPES]
    assert [clock.configured for clock in clocks] == [True] + [False] * len(projection.RECIPES)


def test_a_recipe_reaches_every_model_including_their_own_overrides() -> None:
    config = load_config(PAPER)
    config["models"]["places"]["train"] = {"precision": "bf16"}
    assert not projection.configured(config, {"precision": "fp32"})
    changed = projection.with_recipe(config, {"precision": "fp16", "bucket": True})
    assert projection.configured(changed, {"precision": "fp16", "bucket": True})
    assert config["models"]["places"]["train"] == {"precision": "bf16"}  # the original is left alone


def test_layered_configuration_overrides_key_by_key(tmp_path: Path) -> None:
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text(
        yaml.safe_dump(
            {"corpora": {"places": {"size": {"captions": 10, "images": 10, "hours": 1, "train_captions": 8}}}}
        )
    )
    config = projection.load_layered([PAPER, overlay])
    assert config["corpora"]["places"]["size"]["captions"] == 10
    assert config["corpora"]["places"]["format"] == "places"  # kept from paper.yaml


def test_plan_stops_naming_the_missing_statistics(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A real corpus with neither a manifest nor ``size``: one line naming the key, before any dry run."""
    config = yaml.safe_load(PAPER.read_text())
    del config["corpora"]["spokencoco"]["size"]
    path = tmp_path / "no-size.yaml"
    path.write_text(yaml.safe_dump(config))
    assert projection.main([str(path)]) == 1
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and error.startswith("plan: config error at corpora.spokencoco.size: ")


def job_stats(output: str) -> dict[str, int]:
    """Snakemake's own job-count table (``Job stats:``) of a dry run."""
    table = output[output.index("Job stats:") :].split("\n\n")[0]
    return {
        m.group(1): int(m.group(2))
        for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.MULTILINE)
        if m.group(1) != "total"
    }


def plan_table_counts(output: str) -> dict[str, int]:
    return {
        m.group(1): int(m.group(2))
        for m in re.finditer(r"^\| (\w+)(?: \(request\))? \| (\d+) \|", output, re.MULTILINE)
    }


@pytest.mark.slow
def test_plan_counts_are_snakemakes_and_totals_add_up(tmp_path: Path) -> None:
    """The world configuration (118 jobs) in a fresh checkout: every kind's count equals Snakemake's
    job-count table, and the train row is the sum of its jobs' projected costs."""
    checkout = fresh_checkout(tmp_path)
    printed = run_shell("python -m vgs_ops.projection config.yaml", checkout, timeout=300)
    assert printed.returncode == 0, printed.stderr[-3000:]
    stats = job_stats(run_shell("snakemake -n --configfile config.yaml", checkout, timeout=300).stdout)
    assert plan_table_counts(printed.stdout) == stats
    assert f"| **total** | {sum(stats.values())} |" in printed.stdout

    config = load_config(REPO / "config.yaml")
    rows = {
        row.rule: row
        for row in projection.plan_rows(config, projection.dry_run(["config.yaml"], checkout), checkout / "results")
    }
    models = [(model, seed) for model in ("flickr", "places", "coco") for seed in ("1",)]
    models += [(f"world-coco-k{k}", "1") for k in config["subsets"]["k"]]
    expected = [costs.job_cost(config, "train", {"model": m, "seed": s}, checkout / "results") for m, s in models]
    assert rows["train"].jobs == len(expected) == stats["train"]
    assert rows["train"].gpu_hours == pytest.approx(sum(cost.gpu_hours for cost in expected))
    assert rows["train"].peak_mb == max(cost.peak_mb for cost in expected)
    assert rows["train"].disk_mb == pytest.approx(sum(cost.disk_mb for cost in expected))


@pytest.mark.slow
def test_dag_edges_are_snakemakes(tmp_path: Path) -> None:
    """The edges the wall-clock schedules over (a job after the jobs writing its inputs) are exactly
    Snakemake's own DAG (``--d3dag``: job id to job id) for the world configuration."""
    checkout = fresh_checkout(tmp_path)
    jobs = projection.parse_dag(projection.dry_run_output(["config.yaml"], checkout))
    tasks = projection.dag_tasks(load_config(REPO / "config.yaml"), jobs, results=checkout / "results")
    ours = {(before, task.name) for task in tasks for before in task.after}
    d3 = run_shell("snakemake --d3dag --configfile config.yaml", checkout, timeout=300)
    assert d3.returncode == 0, d3.stderr[-3000:]
    theirs = {(str(edge["u"]), str(edge["v"])) for edge in json.loads(d3.stdout)["edges"]}
    assert len(ours) > 100 and ours == theirs
