"""`make plan` (vgs_ops.projection): the jobs Snakemake plans, with projected hours, memory and disk.

Why: the plan is what a user reads before submitting hundreds of jobs; its counts must be the
workflow's own (Snakemake's job-count table), its totals the sums of the per-job costs, and a
configuration it cannot cost must stop with the key to fill in.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from checkout import fresh_checkout, run_shell
from vgs.config import load_config
from vgs_ops import costs, projection

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


def test_submissions_at_a_time_limit() -> None:
    assert [projection.submissions(h, 24) for h in (0.1, 24.0, 24.5, 62.1)] == [1, 1, 2, 3]


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
    """The world configuration (113 jobs) in a fresh checkout: every kind's count equals Snakemake's
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
