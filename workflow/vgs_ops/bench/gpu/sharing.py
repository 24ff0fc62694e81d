"""Probe e: several trainings sharing one GPU, their aggregate captions/s.

Why: at batches of 32 each recurrent step of the caption encoder is a skinny matrix product that
fills a fraction of the GPU, and the paper's small runs (Flickr8k and the five 30k-caption subsets,
~3 GPU-hours each, and the study's cells) are independent. If N trainings on one GPU together
process more captions per second than one, the small models can be packed onto fewer GPUs (with
Snakemake's ``group:`` / ``--group-components``, which submit grouped jobs as one cluster job).

The probe starts the largest number of processes once (``spawn``: each its own CUDA context and
its own :class:`~vgs.train.loop.Trainer`, today's step unchanged, at the authors' recipe), checks
that worker 0 computes today's loss on the first batch (same seed as a trainer in this process),
warms each up, then for each N in the plan tells the first N to train from one shared start time
for a fixed window and reports their aggregate rate: all their captions over the span from the
first start to the last step's end. Without CUDA the processes share the CPU (one thread each),
which checks the machinery, not the GPU's sharing.
"""

from __future__ import annotations

import multiprocessing
import queue
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vgs.train.batching import epoch_batches
from vgs.train.data import load_training_data
from vgs_ops.bench.gpu.harness import NOT_ON_CPU, Corpus, Plan, make_trainer, not_measured, synchronize, tf32
from vgs_ops.bench.gpu.probes import PROBE_TOLERANCE
from vgs_ops.bench.gpu.throughput import trainer_step
from vgs_ops.bench.train import SIZES

#: Seconds from telling the processes to start to their common start time (the commands must arrive).
START_DELAY_S = 1.0
#: Seconds the workers are given to stop by themselves before they are terminated.
STOP_S = 10.0
#: Seconds a worker may take to start (imports, CUDA context, corpus, warm-up) before the probe gives up.
READY_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class WorkerSpec:
    """What a worker process needs to build its trainer (picklable: it crosses the spawn)."""

    directory: str  # the synthetic corpus: manifest.tsv, mfcc.h5, images.h5
    size: str  # key of vgs_ops.bench.train.SIZES
    batch: int
    device: str
    warmup_batches: int
    first_batch: tuple[int, ...]  # the batch worker 0's first loss is checked on


def worker(spec: WorkerSpec, index: int, commands: Any, results: Any) -> None:
    """One training process: report the first loss and memory when ready, then train for each window it is told."""
    if spec.device == "cpu":
        torch.set_num_threads(1)
    directory = spec.directory
    train, _ = load_training_data(f"{directory}/manifest.tsv", [f"{directory}/mfcc.h5"], f"{directory}/images.h5")
    batches = [
        b
        for b in epoch_batches(train.image_ids, train.lengths, spec.batch, np.random.default_rng(index), bucket=False)
        if len(b) > 1
    ]
    corpus = Corpus(Path(directory), train, SIZES[spec.size], spec.batch, {"random": batches})
    with tf32(False):
        trainer = make_trainer(corpus, spec.device, "fp32", seed=index)
        step = trainer_step(trainer, corpus)
        first = float(step(np.asarray(spec.first_batch)))
        for indices in batches[: spec.warmup_batches]:
            step(indices)
        synchronize(spec.device)
        results.put(("ready", index, {"first_loss": first, **memory(spec.device)}))
        while (command := commands.get())[0] == "run":
            _, start_at, window_s = command
            results.put(
                ("ran", index, {**window(step, batches, start_at, window_s, spec.device), **memory(spec.device)})
            )


def memory(device: str) -> dict[str, object]:
    """Peak GPU memory of this process so far."""
    if device != "cuda":
        return {}
    return {"peak_memory_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2)}


def window(step: Any, batches: Sequence[np.ndarray], start_at: float, window_s: float, device: str) -> dict:
    """Train from ``start_at`` (``time.monotonic``, the same clock in every process of the machine)
    until ``window_s`` have passed, cycling through ``batches``; each step waits for the device."""
    time.sleep(max(0.0, start_at - time.monotonic()))
    start, captions, steps = time.monotonic(), 0, 0
    while time.monotonic() < start + window_s:
        step(batches[steps % len(batches)])
        synchronize(device)
        captions, steps = captions + len(batches[steps % len(batches)]), steps + 1
    return {"start": start, "end": time.monotonic(), "captions": captions, "steps": steps}


def aggregate(rows: Sequence[Mapping[str, float]]) -> dict[str, object]:
    """The processes' captions together over the span from the first start to the last end, and
    each one's own rate: the figure that says whether sharing a GPU pays."""
    span = max(row["end"] for row in rows) - min(row["start"] for row in rows)
    return {
        "processes": len(rows),
        "aggregate_captions_per_s": round(sum(row["captions"] for row in rows) / span, 2),
        "per_process_captions_per_s": [round(row["captions"] / (row["end"] - row["start"]), 2) for row in rows],
        "span_s": round(span, 3),
    }


def sharing(corpus: Corpus, plan: Plan, device: str, out: dict) -> None:
    """Probe e (see the module docstring), for each number of processes in ``plan.sharing_processes``."""
    counts = plan.sharing_processes
    first_batch = corpus.plans["random"][0]
    with tf32(False):
        expected = float(trainer_step(make_trainer(corpus, device, "fp32", seed=0), corpus)(first_batch))
    if device == "cuda":
        torch.cuda.empty_cache()  # the workers need the memory this process's cache holds
    spec = WorkerSpec(
        str(corpus.directory), plan.size, corpus.batch, device, plan.warmup_batches, tuple(int(i) for i in first_batch)
    )
    context = multiprocessing.get_context("spawn")  # CUDA cannot be used in a forked child
    commands = [context.Queue() for _ in range(max(counts))]
    results = context.Queue()
    workers = [
        context.Process(target=worker, args=(spec, index, commands[index], results), daemon=True)
        for index in range(max(counts))
    ]
    out.update({"model_size": plan.size, "window_s": plan.sharing_window_s, "precision": "fp32, TF32 off"})
    if device != "cuda":
        out["note"] = f"{NOT_ON_CPU}: the processes share the CPU, one thread each (a check of the machinery)"
    try:
        for process in workers:
            process.start()
        ready = dict(sorted(collect(results, "ready", len(workers), READY_TIMEOUT_S, workers).items()))
        difference = abs(ready[0]["first_loss"] - expected) / abs(expected)
        out["check"] = {
            "first_loss_relative_difference": difference,
            "tolerance": PROBE_TOLERANCE,
            "ok": bool(difference <= PROBE_TOLERANCE),
        }
        out["workers"] = ready
        runs: dict[str, dict[str, Any]] = {}  # filled as it goes: a stopped part keeps what it measured
        if device == "cuda":
            out["runs"] = runs
        else:
            out["runs"] = not_measured(out["note"])
            out["cpu_machinery_check"] = runs
        for count in counts:
            start_at = time.monotonic() + START_DELAY_S
            for index in range(count):
                commands[index].put(("run", start_at, plan.sharing_window_s))
            rows = collect(results, "ran", count, START_DELAY_S + plan.sharing_window_s + READY_TIMEOUT_S, workers)
            row = {**aggregate(list(rows.values())), "memory": [r.get("peak_memory_gib") for r in rows.values()]}
            base = runs.get("1", row)  # the plans start with one process
            row["over_one_process"] = round(row["aggregate_captions_per_s"] / base["aggregate_captions_per_s"], 3)
            runs[str(count)] = row
    finally:  # within seconds, even when the budget stopped the part mid-window
        for command in commands[: len(workers)]:
            command.put(("stop",))
        deadline = time.monotonic() + STOP_S
        for process in workers:
            process.join(timeout=max(0.0, deadline - time.monotonic()))
        for process in workers:
            if process.is_alive():
                process.terminate()
                process.join(timeout=STOP_S)


def collect(results: Any, kind: str, count: int, timeout_s: float, workers: Sequence[Any]) -> dict[int, dict]:
    """``count`` messages of ``kind`` from the workers; a worker that died or a timeout is an error."""
    deadline, got = time.monotonic() + timeout_s, {}
    while len(got) < count:
        try:
            message, index, payload = results.get(timeout=1.0)
        except queue.Empty:
            dead = [i for i, process in enumerate(workers) if process.exitcode not in (None, 0)]
            if dead or time.monotonic() > deadline:
                raise RuntimeError(
                    f"sharing: {len(got)} of {count} workers answered '{kind}'"
                    + (f"; worker(s) {dead} exited with {[workers[i].exitcode for i in dead]}" if dead else "")
                ) from None
            continue
        if message == kind:
            got[index] = payload
    return got
