"""The `slurm` profile on a real single-node SLURM cluster that these tests start and stop.

Jobs must really pass through sbatch -> slurmctld -> slurmd and be accounted by slurmdbd: the
tests read ``sacct``, not the plugin's own output. Needs root and Debian's slurm-wlm, slurmdbd,
munge and mariadb-server (``make slurm-deps`` installs them); otherwise every test here skips
with the install command (and fails under CI, ``CI=true``).
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import skip_or_fail_in_ci
from plan import load_rules
from vgs import layout
from vgs_ops.cluster.local_slurm import ClusterError, JobRecord, LocalSlurmCluster, unavailable_reason

REPO = Path(__file__).resolve().parents[1]
SLURM_PROFILE = REPO / "workflow" / "profiles" / "slurm"
TOY_SNAKEFILE = Path(__file__).resolve().parent / "slurm" / "Snakefile"
# The time-limit test's partition: SLURM's shortest limit, one minute.
SHORT_PARTITION, SHORT_LIMIT_MINUTES = "short", 1


# Columns of the model-comparison tables computed from differences of correlations.
DIFFERENCE_STATISTICS = ("t", "p", "p_holm", "significant")

# The profile waits 40 s before the first status check, sensible on a busy cluster; the test
# cluster answers at once.
FAST_POLLING = [
    "--slurm-init-seconds-before-status-checks",
    "1",
    "--seconds-between-status-checks",
    "1",
]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory):
    """One cluster for the module: 2 CPUs, partitions `cpu` (default), `gpu` (one GRES GPU) and
    `short` (a one-minute limit; the profile's partitions.yaml does not offer it to other jobs)."""
    reason = unavailable_reason()
    if reason:
        skip_or_fail_in_ci(reason)
    with LocalSlurmCluster(
        tmp_path_factory.mktemp("slurm"),
        cpus=2,
        gpus=1,
        partitions=("cpu", "gpu", SHORT_PARTITION),
        time_limits={SHORT_PARTITION: SHORT_LIMIT_MINUTES},
    ) as running:
        yield running


def run_profile(
    cluster: LocalSlurmCluster,
    workdir: Path,
    *args: str,
    snakefile: Path = TOY_SNAKEFILE,
    timeout: float = 300,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``snakemake --profile workflow/profiles/slurm`` in ``workdir`` against ``cluster`` (``env``:
    more environment variables)."""
    command = [
        sys.executable,
        "-m",
        "snakemake",
        "--profile",
        str(SLURM_PROFILE),
        "--snakefile",
        str(snakefile),
        "--directory",
        str(workdir),
        *FAST_POLLING,
        *args,
    ]
    return subprocess.run(
        command,
        env={**cluster.env, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def new_records(cluster: LocalSlurmCluster, before: list[JobRecord]) -> list[JobRecord]:
    """Jobs accounted since ``before`` was taken (slurmdbd may lag a moment behind)."""
    seen = {record.job_id for record in before}
    for _ in range(20):
        records = [r for r in cluster.sacct() if r.job_id not in seen]
        if all(r.state not in ("PENDING", "RUNNING") for r in records):
            return records
        time.sleep(0.5)
    return records


def rules_of(records: list[JobRecord], state: str) -> Counter[str]:
    """How many jobs of each rule ended in ``state``."""
    return Counter(record.rule for record in records if record.state == state)


@pytest.mark.slurm
@pytest.mark.slow
def test_toy_workflow_runs_through_sbatch_and_sacct(cluster: LocalSlurmCluster, tmp_path: Path):
    (tmp_path / "repaired").touch()
    before = cluster.sacct()

    result = run_profile(cluster, tmp_path, "--config", "gpu=True")

    assert result.returncode == 0, result.stderr[-4000:] + cluster.log_tails()
    assert (tmp_path / "total.txt").read_text().split() == [str(sum(i * i for i in range(1, 21)))]
    # SLURM bound the job to the node's (GRES) GPU.
    assert (tmp_path / "cuda.txt").read_text().strip() == "0"
    records = new_records(cluster, before)
    assert rules_of(records, "COMPLETED") == {"numbers": 2, "square": 2, "total": 1, "cuda": 1}
    assert not [r for r in records if r.state != "COMPLETED"]
    # partitions.yaml routes the GPU job to the GPU partition and everything else to `cpu`.
    assert {(r.rule, r.partition) for r in records} == {
        ("numbers", "cpu"),
        ("square", "cpu"),
        ("total", "cpu"),
        ("cuda", "gpu"),
    }
    [cuda] = [r for r in records if r.rule == "cuda"]
    assert "gres/gpu=1" in cuda.alloc_tres


@pytest.mark.slurm
@pytest.mark.slow
def test_failed_job_names_its_logs_and_rerun_resumes(cluster: LocalSlurmCluster, tmp_path: Path):
    before = cluster.sacct()

    failed = run_profile(cluster, tmp_path, "--config", "gpu=False")

    assert failed.returncode != 0
    first = new_records(cluster, before)
    # The profile retries a failed job once; both attempts are real, failed SLURM jobs.
    assert rules_of(first, "FAILED") == {"total": 2}
    assert rules_of(first, "COMPLETED") == {"numbers": 2, "square": 2, "cuda": 1}
    # With config gpu=false the GPU rule asks for no GPU and runs in the CPU partition.
    [cuda] = [r for r in first if r.rule == "cuda"]
    assert cuda.partition == "cpu" and "gres/gpu" not in cuda.alloc_tres
    assert (tmp_path / "cuda.txt").read_text().strip() == "none"
    # The report names the SLURM log of the failed job, which exists and holds the job's output.
    slurm_logs = re.findall(r"(\S*results/logs/slurm/rule_total/\S+\.log)", failed.stderr)
    assert slurm_logs, failed.stderr[-4000:]
    assert all(Path(log).is_file() for log in slurm_logs)
    assert "Error in rule total" in Path(slurm_logs[-1]).read_text()
    assert "logs/total.log" in failed.stderr
    assert "input not repaired yet" in (tmp_path / "logs" / "total.log").read_text()

    (tmp_path / "repaired").touch()
    between = cluster.sacct()
    resumed = run_profile(cluster, tmp_path, "--config", "gpu=False")

    assert resumed.returncode == 0, resumed.stderr[-4000:]
    # Only the missing output was computed again.
    assert rules_of(new_records(cluster, between), "COMPLETED") == {"total": 1}
    assert (tmp_path / "total.txt").read_text().split() == [str(sum(i * i for i in range(1, 21)))]


def tiny_world_config() -> dict:
    """The embedded world's config.yaml shrunk until every rule still runs, in seconds each.

    One world corpus (SpokenCOCO format) of 8 + 4 + 4 images, two SpokenSTS voices, subsets
    k = 1, 2 (so Figure 2 exists), a tiny model for two epochs; GPU requests off (the test node
    has none).
    """
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    world = config["world"]
    world.update(image_size=48, speakers=world["speakers"][:2])
    world["corpora"] = {
        "coco": {
            "format": "spokencoco",
            "images": {"train": 8, "dev": 4, "test": 4},
            "captions_per_image": 2,
        }
    }
    world["sts"]["pairs_per_subtask"] = 4
    config["tts"].update(voices=dict(list(config["tts"]["voices"].items())[:2]), shards=1)
    config["sts"]["natural"]["speakers"] = config["sts"]["natural"]["speakers"][:1]
    config["corpora"] = {
        "world-coco": {
            **config["corpora"]["world-coco"],
            "dev_images": 4,
            "test_images": 4,
        }
    }
    config["subsets"].update(source="world-coco", total=8, k=[1, 2])
    config["features"]["mfcc"]["shards"] = 1
    config["features"]["image"]["batch_size"] = 8
    config["model"]["sizes"] = {
        "tiny": {
            "conv_channels": 8,
            "conv_kernel": 6,
            "conv_stride": 3,
            "rnn_layers": 1,
            "rnn_hidden": 8,
            "attention_hidden": 8,
        }
    }
    config["model"]["size"] = "tiny"
    config["train"].update(epochs=2, batch_size=4, threads=1)
    config["models"] = {"coco": {"corpus": "world-coco"}}
    config["seeds"] = [1]
    config["evaluate"]["toplines"] = ["bow"]
    config["resources"] = {"gpu": False}
    return config


def planned_rules(workdir: Path) -> set[str]:
    """Rules with jobs that ``snakemake -n`` plans in ``workdir`` (the target rule `all` aside)."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-n",
            "--quiet",
            "rules",
            "--snakefile",
            str(REPO / "Snakefile"),
            "--directory",
            str(workdir),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    rows = (line.split() for line in result.stdout.splitlines())
    return {row[0] for row in rows if len(row) == 2 and row[1].isdigit() and row[0] not in ("all", "total")}


def stage_groups() -> list[str]:
    """``--groups`` arguments bundling each rule file's jobs into one SLURM job per stage.

    Why: every SLURM job pays two Snakemake start-ups (the batch script and its srun step), about
    10 s on two busy cores; 50 single-rule jobs would take the test past ten minutes. The toy
    tests above submit one job per rule; here the stages' jobs still run only through sbatch.
    """
    rules = load_rules(("config.yaml",))  # the parsed rules, looped ones included
    return [
        f"{name}={Path(rule.snakefile).stem}" for name, rule in rules.items() if Path(rule.snakefile).suffix == ".smk"
    ]


def result_tables(workdir: Path) -> dict[str, pd.DataFrame]:
    """Every table the evaluation wrote (csv under results/tables, tsv under results/eval)."""
    results = workdir / "results"
    paths = [*results.glob("tables/**/*.csv"), *results.glob("eval/**/*.tsv")]
    return {str(p.relative_to(results)): pd.read_csv(p, sep="\t" if p.suffix == ".tsv" else ",") for p in sorted(paths)}


@pytest.mark.slurm
@pytest.mark.slow
def test_embedded_world_through_slurm_matches_local_run(
    cluster: LocalSlurmCluster,
    tmp_path: Path,
):
    config = yaml.safe_dump(tiny_world_config(), sort_keys=False)
    local, remote = tmp_path / "local", tmp_path / "slurm"
    for workdir in (local, remote):
        workdir.mkdir()
        (workdir / "config.yaml").write_text(config)
    expected = planned_rules(remote)
    # The local reference run uses the machine while the cluster run mostly waits on SLURM.
    local_run = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "snakemake",
            "--workflow-profile",
            str(REPO / "workflow" / "profiles" / "default"),
            "--snakefile",
            str(REPO / "Snakefile"),
            "--directory",
            str(local),
            "--cores",
            "1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    before = cluster.sacct()

    groups = stage_groups()
    stages = sorted({group.split("=")[1] for group in groups})
    result = run_profile(
        # A group job asks for the CPUs its parallel jobs need together, at most --cores.
        cluster,
        remote,
        "--cores",
        str(cluster.cpus),
        "--slurm-keep-successful-logs",
        "--groups",
        *groups,
        "--group-components",
        *(f"{stage}=1000" for stage in stages),
        snakefile=REPO / "Snakefile",
        timeout=1200,
    )

    _, local_err = local_run.communicate(timeout=1200)
    assert result.returncode == 0, result.stderr[-6000:]
    assert local_run.returncode == 0, local_err[-6000:]
    records = new_records(cluster, before)
    # Every stage went through sbatch and was accounted as completed by slurmdbd ...
    assert records and not [r for r in records if r.state != "COMPLETED"]
    assert {r.partition for r in records} == {"cpu"}
    # ... and every job of the DAG ran inside one of those SLURM jobs, or on this host for the
    # workflow's `localrules` (tiny bookkeeping jobs), never both; the heavy work on the cluster.
    slurm_logs = "".join(p.read_text() for p in (remote / "results/logs/slurm").rglob("*.log"))
    on_cluster = set(re.findall(r"^rule (\w+):$", slurm_logs, flags=re.M))
    on_host = set(re.findall(r"^localrule (\w+):$", result.stderr, flags=re.M)) - {"all"}
    assert on_cluster | on_host == expected and not on_cluster & on_host
    assert {"mfcc", "image_features", "train", "embed_utterances"} <= on_cluster
    tables, reference = result_tables(remote), result_tables(local)
    assert reference and tables.keys() == reference.keys()
    # Same numbers up to float rounding: torch sums in another order when a job runs on another
    # CPU allotment (differences of ~1e-6 in correlations were seen; a wrong input moves them far
    # more). Test statistics of the *difference* of two near-equal correlations (Williams' t and
    # its p-values) magnify that rounding by orders of magnitude, so only their inputs (r_a, r_b,
    # r_ab) are compared.
    for name, table in tables.items():
        derived = [c for c in DIFFERENCE_STATISTICS if c in table.columns] if "comparisons" in name else []
        pd.testing.assert_frame_equal(
            table.drop(columns=derived),
            reference[name].drop(columns=derived),
            rtol=1e-4,
            atol=1e-5,
            obj=name,
        )


def test_unavailable_reason_names_install_command(monkeypatch: pytest.MonkeyPatch):
    """Without the binaries the tests skip with a command that installs them."""
    monkeypatch.setattr(shutil, "which", lambda *args, **kwargs: None)
    reason = unavailable_reason()
    assert reason is not None
    assert "apt-get install -y slurm-wlm slurmdbd munge mariadb-server" in reason


def test_job_record_names_the_rule_from_the_plugin_comment():
    def record(comment: str) -> JobRecord:
        return JobRecord("1", "run", "COMPLETED", "0:0", "cpu", comment, "cpu=1")

    assert record("rule_train_model_wildcards_coco-k5_1").rule == "train_model"
    assert record("rule_all").rule == "all"
    assert record("").rule is None


# The time-limit test's training: 24 epochs of 24 batches, each step held 0.2 s in the SLURM
# job: 115 s. A one-minute limit ends a job 60-90 s after it starts (slurmctld checks limits
# every 30 s) and each submission spends 10-30 s starting Snakemake twice and torch, so one
# submission trains at most ~80 s: the job needs two or more (three on this busy 2-core machine).
# Between submissions the plugin's status checks, 10 s further apart after each check that
# finds no finished job, add 20-80 s; the test takes about five minutes.
TIME_LIMIT_EPOCHS, STEP_SECONDS = 24, 0.2
TIME_LIMIT_MODEL = {
    "conv_channels": 8,
    "conv_kernel": 6,
    "conv_stride": 2,
    "rnn_layers": 1,
    "rnn_hidden": 16,
    "attention_hidden": 8,
}
TIME_LIMIT_RUN = {"model": "coco", "seed": 1}
# Puts tests/slurm/slow_steps/sitecustomize.py into every Python process of the run.
SLOW_STEPS = Path(__file__).resolve().parent / "slurm" / "slow_steps"


def time_limit_config() -> dict:
    """config.yaml with one model (coco, seed 1) that trains a tiny network for 24 epochs on CPU,
    one-minute submissions, up to ten of them (`train.submissions`: the train rule's `retries`)."""
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["models"] = {TIME_LIMIT_RUN["model"]: {"corpus": "world-coco"}}
    config["seeds"] = [TIME_LIMIT_RUN["seed"]]
    config["features"]["mfcc"]["shards"] = 1
    config["model"] = {"size": "tiny", "sizes": {"tiny": TIME_LIMIT_MODEL}}
    config["train"] = {
        "epochs": TIME_LIMIT_EPOCHS,
        "batch_size": 8,
        "lr_max": 2e-3,
        "lr_min": 2e-5,
        "lr_period_epochs": 4,
        "progress": True,  # a line at each epoch's end (24 steps < progress_every_steps), for the SLURM log
        "threads": 1,
        "mem_mb": 1000,
        "runtime": SHORT_LIMIT_MINUTES,
        "submissions": 10,
    }
    config["resources"] = {"gpu": False}
    return config


def place_training_inputs(workdir: Path, config: dict) -> Path:
    """A synthetic corpus (96 training images x 2 captions, 8 dev images) written where the train
    rule reads its inputs (the plan's manifest, MFCC shard and image features); returns the run's
    checkpoint, the target."""
    from vgs.config import validate_config
    from vgs.plan import WorkflowPlan
    from vgs.train.synthetic import synthetic_corpus

    synthetic = synthetic_corpus(workdir / "synthetic", images={"train": 96, "dev": 8}, captions_per_image=2)
    inputs = WorkflowPlan(validate_config(copy.deepcopy(config))).train_inputs(TIME_LIMIT_RUN["model"])
    [mfcc_shard] = inputs["mfcc"]
    for source, target in (
        (synthetic["manifest"], inputs["manifest"]),
        (synthetic["mfcc"], mfcc_shard),
        (synthetic["images"], inputs["images"]),
    ):
        (workdir / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.move(source, workdir / target)
    return Path(layout.fill(layout.CHECKPOINT, **TIME_LIMIT_RUN))


def kill_leftovers(workdir: Path) -> None:
    """SIGKILL processes still running in ``workdir`` after the run: stopped jobs' inner Snakemake.

    Why: at a time limit SLURM sends SIGTERM to every process of the job; the Snakemake inside a
    job step waits for its job on SIGTERM and then sometimes hangs, re-parented to init, where
    this cluster's process tracking (/proc, no cgroups) no longer finds it for the SIGKILL that a
    real cluster's cgroup would deliver.
    """
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and f"{workdir}/" in (entry / "cmdline").read_bytes().decode(errors="replace"):
                os.kill(int(entry.name), signal.SIGKILL)
        except (ProcessLookupError, FileNotFoundError, PermissionError):
            continue


@pytest.mark.slurm
@pytest.mark.slow
def test_training_past_the_partition_time_limit_resumes_over_submissions_bit_identical(
    cluster: LocalSlurmCluster,
    tmp_path: Path,
):
    """The workflow's train rule (the real Snakefile and workflow/rules/train.smk) longer than its
    partition's one-minute limit, through the SLURM profile.

    At each limit SLURM sends SIGTERM; the trainer saves its step inside the epoch, the job ends
    TIMEOUT and Snakemake resubmits it (the rule's `retries` = train.submissions - 1) until it
    completes. The profile's own `retries: 1` is turned off (`--retries 0`), so only the rule's
    `retries` can resubmit: without it the first TIMEOUT ends the run. Only the train rule runs
    (`--allowed-rules train`: its inputs are a synthetic corpus placed where the rule reads them),
    in the `short` partition (`--set-resources`). The weights, best epoch and log must equal an
    uninterrupted local run of the same rule.
    """
    import torch

    from vgs.train.checkpoint import load_checkpoint

    config = time_limit_config()
    remote, local = tmp_path / "slurm", tmp_path / "local"
    for workdir in (remote, local):
        workdir.mkdir()
        (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        target = place_training_inputs(workdir, config)
    # The target first: the options after it take several values each.
    only_train = [str(target), "--allowed-rules", "train"]
    # The uninterrupted reference: the same rule at full speed, on this host.
    reference = subprocess.Popen(
        [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(local),
         *only_train, "--configfile", str(local / "config.yaml"), "--cores", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    before = cluster.sacct()
    slowed = {
        "VGS_TEST_STEP_SECONDS": str(STEP_SECONDS),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(SLOW_STEPS), os.environ.get("PYTHONPATH")])),
    }

    result = run_profile(
        cluster,
        remote,
        *only_train,
        "--configfile",
        str(remote / "config.yaml"),
        "--retries",
        "0",
        "--set-resources",
        f"train:slurm_partition={SHORT_PARTITION}",
        snakefile=REPO / "Snakefile",
        timeout=600,
        env=slowed,
    )
    (tmp_path / "snakemake.err").write_text(result.stderr)

    _, reference_err = reference.communicate(timeout=600)
    kill_leftovers(remote)
    assert result.returncode == 0, result.stderr[-6000:] + cluster.log_tails()
    assert reference.returncode == 0, reference_err[-4000:]
    jobs = [r for r in new_records(cluster, before) if r.rule == "train"]
    # Several submissions: each one but the last ran into the limit, the last completed.
    assert len(jobs) >= 2, cluster.command("sacct", "-X", "-o", "JobID,State,Elapsed,Partition")
    assert [r.state for r in jobs] == ["TIMEOUT"] * (len(jobs) - 1) + ["COMPLETED"], jobs
    assert {r.partition for r in jobs} == {SHORT_PARTITION}
    # Stopped submissions saved their place inside an epoch (the failed jobs' logs are shown; a
    # limit that comes after the last step stops nothing), and the last submission resumed.
    stops = re.findall(r"stopped by SIGTERM after batch (\d+) of (\d+) in epoch", result.stderr)
    assert stops and all(0 < int(done) <= int(total) for done, total in stops), result.stderr[-6000:]
    checkpoints = layout.fill(layout.EPOCH_CHECKPOINTS, **TIME_LIMIT_RUN)
    assert (
        f"resumed {checkpoints}"
        in (remote / layout.log("train", layout.fill(layout.RUN, **TIME_LIMIT_RUN))).read_text()
    )
    # Progress lines reach the stopped jobs' SLURM logs too (vgs.rulekit), not only the rule's log.
    slurm_logs = "".join(p.read_text() for p in (remote / "results" / "logs" / "slurm").rglob("*.log"))
    progress = r"coco seed 1: epoch \d+/24 step 24/24 \(100\.0%\), [\d.]+ captions/s"
    assert re.search(progress, slurm_logs), slurm_logs[-3000:]

    for path in (target, Path(checkpoints) / "last.pt"):
        ours, theirs = load_checkpoint(remote / path), load_checkpoint(local / path)
        assert ours["model"].keys() == theirs["model"].keys()
        assert all(torch.equal(ours["model"][k], theirs["model"][k]) for k in ours["model"]), path
    columns = ["epoch", "train_loss", "dev_loss", "dev_r1", "dev_r5", "dev_r10", "lr"]
    train_log = layout.fill(layout.TRAIN_LOG, **TIME_LIMIT_RUN)
    pd.testing.assert_frame_equal(
        pd.read_csv(remote / train_log, sep="\t")[columns],
        pd.read_csv(local / train_log, sep="\t")[columns],
        check_exact=True,
    )


def test_partition_time_limits_reach_slurm_conf(tmp_path: Path):
    conf = LocalSlurmCluster(tmp_path, partitions=("cpu", "short"), time_limits={"short": 1})._slurm_conf()
    assert re.search(r"^PartitionName=short .*MaxTime=1 State=UP$", conf, flags=re.M)
    assert re.search(r"^PartitionName=cpu .*MaxTime=INFINITE State=UP$", conf, flags=re.M)
    with pytest.raises(ClusterError, match=r"time_limits names partitions \['gpu'\] that are not in \('cpu',\)"):
        LocalSlurmCluster(tmp_path, partitions=("cpu",), time_limits={"gpu": 5})
