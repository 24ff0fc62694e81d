"""`make gpu-check`: its quick mode writes every field, its budget holds, and the CUDA resume fixes.

The GPU itself is not needed: the quick mode runs on the CPU (GPU-only fields say so), and the two
resume bugs it was written to catch are reproduced on the CPU (see each test).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time

import pytest
import torch

import vgs.train.loop as loop
from vgs.model import ModelConfig
from vgs.train.data import load_training_data
from vgs.train.device import Runtime
from vgs.train.synthetic import synthetic_corpus
from vgs_ops import costs
from vgs_ops.bench.gpu import harness, suite, throughput
from vgs_ops.bench.train import gpu_hours_projection, paper_plan

TINY = {"conv_channels": 8, "conv_kernel": 4, "conv_stride": 2, "rnn_layers": 1, "rnn_hidden": 8, "attention_hidden": 8}


def not_on_cpu(field: object) -> bool:
    return isinstance(field, dict) and field.get("not_measured", "").startswith(harness.NOT_ON_CPU)


@pytest.mark.slow
def test_quick_check_writes_every_field(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "vgs_ops.bench", "--only", "gpu", "--quick", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert "[gpu-check] resume:" in result.stdout  # elapsed time per part is printed
    record = json.loads((tmp_path / "gpu.json").read_text())
    r = record["results"]
    on_cpu = r["device"] == "cpu"
    assert set(r["budget"]["parts"]) == set(harness.QUICK.part_budgets)
    assert all(part["status"] == "done" for part in r["budget"]["parts"].values()), r["budget"]

    assert set(r["throughput"]) == {f"{arm}-{mode}" for arm in harness.PRECISIONS for mode in ("eager", "compiled")}
    for name, arm in r["throughput"].items():
        if on_cpu and name != "fp32-eager":
            assert not_on_cpu(arm), (name, arm)
            continue
        for batching in ("bucketed", "random"):
            row = arm[batching]
            assert row["captions_per_s"] > 0 and row["achieved_tflops"] > 0 and row["losses_finite"]
            assert not_on_cpu(row["peak_memory_gib"]) if on_cpu else row["peak_memory_gib"] > 0
    assert r["data_pipeline"]["captions_per_s"] > 0 and "verdict" in r["bottleneck"]

    c = r["correctness"]
    assert c["batch_invariance"]["ok"] and c["batch_invariance"]["max_abs_difference"] <= harness.EMBEDDING_TOLERANCE
    for arm in ("bf16", "fp16"):
        assert c["precision_loss"][arm]["ok"] and c["precision_loss"][arm]["relative_difference"] >= 0
    for arm in ("fp32", "bf16", "fp16"):
        resumed = c["resume"][arm]
        assert resumed["ok"] and resumed["rng_state_restored"] and len(resumed["resumed"]) == 3
    if on_cpu:
        assert not_on_cpu(c["cpu_vs_cuda"]) and not_on_cpu(r["largest_batch"])
        assert not_on_cpu(c["precision_loss"]["fp32-tf32"]) and not_on_cpu(r["gpu_hours"]["measured"])
        assert c["resume"]["fp32"]["max_relative_difference"] == 0  # CPU resumes bit-identically

    estimate = r["gpu_hours"]["estimate"]
    assert (
        "not measured" in estimate["kind"] and estimate["gpu_hours_total"] == gpu_hours_projection()["gpu_hours_total"]
    )
    probes = r["probes"]
    assert set(probes) == {"concurrent", "packed", "half_lstm", "graphs", "sharing"}
    assert all(probes[name]["check"]["ok"] for name in ("concurrent", "packed", "graphs", "sharing"))
    assert all(probes["half_lstm"][arm]["check"]["max_relative_difference"] > 0 for arm in ("bf16", "fp16"))
    if on_cpu:
        assert all(not_on_cpu(probes[name]["timing"]) for name in ("concurrent", "packed", "graphs"))
        assert not_on_cpu(probes["sharing"]["runs"])
    digest = (tmp_path / "gpu.md").read_text()
    assert "GPU hours" in digest and "resume: fp32 ok" in digest and "| packed | ok (" in digest


def test_the_full_check_fits_the_eight_minutes():
    """Every part of the full plan, probes included, within the parts' budget, and that budget with a
    minute to spare for start-up (imports, CUDA context) within the 8 minutes a GPU check may take."""
    assert sum(harness.FULL.part_budgets.values()) <= harness.FULL.budget_s <= 8 * 60 - 60
    assert set(harness.FULL.part_budgets) == set(harness.QUICK.part_budgets)
    assert {f"probe_{name}" for name in suite.PROBES} <= set(harness.FULL.part_budgets)


def test_a_measured_arm_is_projected_through_the_cost_model():
    """One GPU-hour estimator: a measured arm's hours are `make plan`'s for paper.yaml with that arm's
    batches and its rate in padded frames (useful TFLOP/s x the padded frames per frame measured).

    Hand check: paper.yaml trains fp32 on random batches at the fp32 rate of vgs_ops.costs, so an arm
    measuring exactly that rate (as useful frames: 19.8 / 1.92) on random batches padded 1.92x must
    project `make plan`'s hours; at twice the rate, the model work takes half the time.
    """
    padding = costs.PADDING["random"]
    rate = costs.GPU_PADDED_TFLOPS["fp32"]
    arms = {"fp32-eager": {"random": {"achieved_tflops": rate / padding}}}
    hours = suite.gpu_hours(arms, {"bucketed": 1.1, "random": padding}, "Some GPU", "none")
    plan = costs.training_gpu_hours(paper_plan())
    measured = hours["measured"]["fp32-random"]
    assert measured["gpu_hours_per_model"] == {model: round(value, 1) for model, value in plan.items()}
    assert measured["gpu_hours_total"] == hours["estimate"]["gpu_hours_total"]
    assert measured["padded_tflops"] == pytest.approx(rate) and measured["mode"] == "eager"
    assert set(hours["measured"]) == {"fp32-random"}  # nothing projected from arms that did not run
    start = costs.JOB_START_S / 3600
    doubled = suite.gpu_hours(
        {"fp32-eager": {"random": {"achieved_tflops": 2 * rate / padding}}}, {"random": padding}, "GPU", "none"
    )["measured"]["fp32-random"]["gpu_hours_per_model"]
    assert doubled["places"] == pytest.approx(round(start + (plan["places"] - start) / 2, 1), abs=0.05)
    assert len(plan) == 8 and "not measured" in hours["estimate"]["kind"]


def test_a_part_that_no_longer_fits_is_skipped_with_the_reason():
    clock = harness.Clock(total_s=1.0)
    ran = []
    result = clock.run("big", 5.0, ran.append)
    assert not ran and "skipped" in result["not_measured"] and "5 s" in result["not_measured"]
    assert clock.parts["big"]["status"].startswith("skipped")
    clock.run("rest", 0.1, ran.append, use_rest=True)  # fits, and may use what is left of the second
    assert ran and 0.5 < clock.parts["rest"]["budget_s"] <= 1.0


def test_a_part_that_overruns_its_budget_is_stopped_and_keeps_its_results():
    clock = harness.Clock(total_s=60.0)

    def slow(out: dict) -> None:
        out["first"] = 1
        time.sleep(5)
        out["second"] = 2

    start = time.perf_counter()
    result = clock.run("slow", 0.3, slow)
    assert time.perf_counter() - start < 4  # stopped, not waited out
    assert result["first"] == 1 and "second" not in result and "stopped" in result["incomplete"]


def test_a_part_that_raises_is_recorded_as_failed_and_the_next_part_still_runs():
    """A CUDA-only failure in one part (say, an out-of-memory step) must not lose the other parts' numbers."""
    clock = harness.Clock(total_s=60.0)

    def broken(out: dict) -> None:
        out["before"] = 1
        raise RuntimeError("cuDNN error: CUDNN_STATUS_NOT_SUPPORTED\nlong detail")

    result = clock.run("broken", 5.0, broken)
    assert result["before"] == 1
    assert result["failed"] == "failed: RuntimeError: cuDNN error: CUDNN_STATUS_NOT_SUPPORTED"
    assert clock.parts["broken"]["status"] == result["failed"]
    assert clock.run("next", 5.0, lambda out: out.update(ran=True)) == {"ran": True}


def test_an_arm_that_raises_is_recorded_and_the_other_arms_still_run(monkeypatch):
    """One precision arm that breaks on the device (fp16 here) leaves a failure row, not a crashed check."""

    def arm(corpus, plan, device, name, compiled, out):
        if name == "fp16":
            raise torch.cuda.OutOfMemoryError("CUDA out of memory")
        out.update(bucketed={"captions_per_s": 1.0}, random={"captions_per_s": 1.0})

    monkeypatch.setattr(throughput, "throughput_arm", arm)
    out = throughput.throughput_part(harness.Clock(600.0), None, harness.QUICK, "cuda", compiled=False)
    assert out["fp16-eager"] == {"failed": "OutOfMemoryError: CUDA out of memory"}
    assert {"bucketed", "random"} <= set(out["bf16-eager"]) and {"bucketed", "random"} <= set(out["fp32-eager"])


@pytest.fixture()
def tiny_run(tmp_path):
    paths = synthetic_corpus(tmp_path / "data", images={"train": 8, "dev": 4}, captions_per_image=2)
    train_set, dev_set = load_training_data(paths["manifest"], [paths["mfcc"]], paths["images"])
    config = ModelConfig.from_dict({**TINY, "image_dim": train_set.image_features.shape[1]})
    settings = loop.TrainConfig(epochs=1, batch_size=8, progress=False, device="cpu")

    def trainer() -> loop.Trainer:
        return loop.Trainer(config, settings, 1, tmp_path / "run", train_set.fingerprint())

    trainer().fit(train_set, dev_set)
    return trainer


def test_resume_on_cuda_loads_the_checkpoint_on_the_cpu(tiny_run):
    """Bug: resume mapped the checkpoint onto the training device, so on CUDA the saved RNG states
    became CUDA tensors and torch.set_rng_state refused them. Here the runtime claims CUDA on a CPU
    machine: mapping onto "cuda" fails to load at all, loading on the CPU resumes."""
    trainer = tiny_run()
    trainer.runtime = Runtime(torch.device("cuda"), None)
    assert trainer.resume() and trainer.state.epoch == 1


def test_fp16_resume_from_a_checkpoint_saved_without_grad_scaling(tiny_run):
    """Bug: precision "auto" is fp32 on a CPU (the scaler is off and saves {}) but fp16 on older GPUs;
    GradScaler.load_state_dict raised on that empty state when such a run resumed on the GPU."""
    trainer = tiny_run()
    trainer.scaler = torch.amp.GradScaler("cpu", init_scale=1024.0)  # what fp16 on the GPU builds
    assert trainer.resume() and trainer.scaler.get_scale() == 1024.0


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_cpu_precision_arms_keep_the_lstm_in_that_precision(dtype):
    """The probe feeds the LSTM as the model does (the convolution's reduced-precision output), so
    the CPU precision arms measure what training runs: no oneDNN fallback, the LSTM in ``dtype``.
    Feeding it fp32 instead makes oneDNN reject fp16 and would switch the arm to an fp32 LSTM."""
    runtime = Runtime(torch.device("cpu"), dtype)
    assert harness.lstm_dtype(runtime) == str(dtype)
    assert isinstance(harness.cpu_autocast_fallback(runtime), contextlib.nullcontext)
