"""The whole GPU check as budgeted parts, and the GPU-hour projection from its measured rates."""

from __future__ import annotations

import gc
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vgs.model import VGSModel
from vgs_ops.bench.gpu import probes
from vgs_ops.bench.gpu.correctness import (
    batch_invariance,
    cpu_vs_cuda,
    precision_loss,
    resume,
)
from vgs_ops.bench.gpu.harness import (
    BATCH,
    BUDGET_ENV,
    DETERMINISTIC,
    FULL,
    LR,
    MAX_FRAMES,
    NOT_ON_CPU,
    PRECISIONS,
    QUICK,
    Clock,
    Corpus,
    Plan,
    make_corpus,
    not_measured,
)
from vgs_ops.bench.gpu.sharing import sharing
from vgs_ops.bench.gpu.throughput import (
    bottleneck,
    data_pipeline,
    largest_batch,
    throughput_part,
)
from vgs_ops.bench.train import gpu_hours_projection

# --- projection ------------------------------------------------------------------------------------


def gpu_hours(
    arms: Mapping[str, Any], padded_per_frame: Mapping[str, float], device_name: str, missing: str
) -> dict[str, object]:
    """`make plan`'s projection for the paper's eight models, and the same jobs at each measured arm's
    best rate per batching (vgs_ops.costs.training_gpu_hours, the one estimator).

    An arm's ``achieved_tflops`` counts useful frames; the cost model's rates count padded ones, so
    the rate it is given is ``achieved_tflops`` x this corpus's padded frames per frame of that
    batching (how vgs_ops.costs.GPU_PADDED_TFLOPS was derived from an earlier run).
    """
    result: dict[str, object] = {
        "estimate": {
            "kind": "projection of `make plan` (vgs_ops.costs: GPU rates of an earlier H200 run), "
            "not measured by this run",
            **gpu_hours_projection(),
        }
    }
    measured: dict[str, object] = {}
    for arm in PRECISIONS:
        for batching in ("bucketed", "random"):
            rates = [
                (arms[f"{arm}-{mode}"][batching]["achieved_tflops"], mode)
                for mode in ("eager", "compiled")
                if batching in arms.get(f"{arm}-{mode}", {})
            ]
            if rates and max(rates)[0] > 0:
                tflops, mode = max(rates)
                padded_tflops = tflops * padded_per_frame[batching]
                measured[f"{arm}-{batching}"] = {
                    "achieved_tflops": tflops,
                    "padded_tflops": round(padded_tflops, 2),
                    "mode": mode,
                    "basis": f"measured on {device_name}: {arm} {mode}, {batching} batches of {BATCH}",
                    **gpu_hours_projection(gpu_padded_tflops=padded_tflops, batching=batching),
                }
    result["measured"] = measured or not_measured(missing)
    return result


# --- the benchmark ---------------------------------------------------------------------------------

#: The probes of a faster step (vgs_ops.bench.gpu.probes, .sharing), in the order they run; each is
#: the budgeted part ``probe_<name>``.
PROBES: dict[str, Callable[[Corpus, Plan, str, dict], None]] = {
    "concurrent": probes.concurrent,
    "packed": probes.packed,
    "half_lstm": probes.half_lstms,
    "graphs": probes.graphs,
    "sharing": sharing,
}


def probe_part(clock: Clock, name: str, budget_s: float, work: Callable[[dict], None]) -> dict:
    """A probe as a budgeted part; then its trainers' GPU memory goes back (the next probes, and the
    sharing probe's processes, need it)."""
    result = clock.run(name, budget_s, work)
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    return result


def run(quick: bool) -> dict:
    threads = torch.get_num_threads()
    if not torch.cuda.is_available():
        torch.set_num_threads(1)  # per-core figures; busy shared CPUs make multi-threaded runs crawl
    try:
        return check(quick)
    finally:
        torch.set_num_threads(threads)


def check(quick: bool) -> dict:
    """The whole check (see the module docstring); ``quick`` or no CUDA device: the quick plan."""
    # Before CUDA initialises: cuBLAS reads it once; needed for deterministic cuBLAS in the resume check.
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", DETERMINISTIC["CUBLAS_WORKSPACE_CONFIG"])
    device = "cuda" if torch.cuda.is_available() else "cpu"
    plan = QUICK if quick or device == "cpu" else FULL
    clock = Clock(float(os.environ.get(BUDGET_ENV, plan.budget_s)))
    device_name = torch.cuda.get_device_name(0) if device == "cuda" else "cpu"
    result: dict[str, object] = {
        "device": device_name,
        "mode": "quick" if plan is QUICK else "full",
        "mode_reason": "no CUDA device: quick mode on CPU"
        if device == "cpu"
        else ("--quick" if quick else "paper-size model on a CUDA device"),
        "model_size": plan.size,
        "batch_size": plan.batch,
        "max_frames": MAX_FRAMES,
        "median_frames": plan.median_frames,
        "learning_rate": LR,
        "torch": torch.__version__,
        "cuda_runtime": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if device == "cuda" else None,
        "tf32_defaults": {"matmul": torch.backends.cuda.matmul.allow_tf32, "cudnn": torch.backends.cudnn.allow_tf32},
    }
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        holder: dict[str, Corpus] = {}
        clock.run(
            "data",
            plan.part_budgets["data"],
            lambda out: holder.setdefault("corpus", make_corpus(directory, plan, plan.images, "train")),
        )
        if "corpus" not in holder:
            raise RuntimeError(f"gpu-check: the synthetic corpus could not be made: {clock.parts['data']['status']}")
        corpus = holder["corpus"]
        result["model_parameters"] = sum(p.numel() for p in VGSModel(corpus.config).parameters())
        result["captions"] = len(corpus.train)
        result["padded_frames_per_frame"] = {
            name: round(
                float(
                    sum(len(b) * min(MAX_FRAMES, corpus.train.lengths[b].max()) for b in batches)
                    / np.minimum(corpus.train.lengths, MAX_FRAMES).sum()
                ),
                3,
            )
            for name, batches in corpus.plans.items()
        }
        budgets = plan.part_budgets
        correctness = {
            "cpu_vs_cuda": clock.run(
                "cpu_vs_cuda", budgets["cpu_vs_cuda"], lambda o: cpu_vs_cuda(corpus, plan, device, o)
            ),
            "batch_invariance": clock.run(
                "batch_invariance", budgets["batch_invariance"], lambda o: batch_invariance(corpus, plan, device, o)
            ),
        }
        arms = throughput_part(clock, corpus, plan, device, compiled=False)
        correctness["precision_loss"] = clock.run(
            "precision_loss", budgets["precision_loss"], lambda o: precision_loss(corpus, plan, device, o)
        )
        correctness["resume"] = clock.run("resume", budgets["resume"], lambda o: resume(plan, directory, device, o))
        result["data_pipeline"] = clock.run(
            "data_pipeline", budgets["data_pipeline"], lambda o: data_pipeline(corpus, plan, device, o)
        )
        result["largest_batch"] = clock.run(
            "largest_batch", budgets["largest_batch"], lambda o: largest_batch(corpus, device, o)
        )
        result["probes"] = {
            name: probe_part(
                clock, f"probe_{name}", budgets[f"probe_{name}"], lambda o, w=work: w(corpus, plan, device, o)
            )
            for name, work in PROBES.items()
        }
        arms.update(throughput_part(clock, corpus, plan, device, compiled=True))
    result["throughput"] = arms
    result["correctness"] = correctness
    result["bottleneck"] = bottleneck(result["data_pipeline"], arms)
    missing = (
        f"{NOT_ON_CPU}: needs paper-size throughput on a GPU"
        if device == "cpu"
        else "quick mode: the small model's throughput says nothing about the paper's"
        if plan.size != "paper"
        else "no paper-size throughput arm finished within the budget"
    )
    result["gpu_hours"] = gpu_hours(
        arms if plan.size == "paper" else {}, result["padded_frames_per_frame"], device_name, missing
    )
    result["budget"] = clock.record()
    return result
