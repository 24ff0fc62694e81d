"""Training throughput per precision arm, the largest batch that fits, and the data pipeline's rate."""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch

from vgs.train.data import load_training_data
from vgs.train.loop import Trainer
from vgs_ops.bench.gpu.harness import (
    COMPILE_ORDER,
    LR,
    MAX_FRAMES,
    NOT_ON_CPU,
    PRECISIONS,
    Clock,
    Corpus,
    PartTimeout,
    Plan,
    failure,
    lstm_dtype,
    make_trainer,
    not_measured,
    synchronize,
    tf32,
    training_flops,
)
from vgs_ops.bench.train import stratified

# --- throughput ------------------------------------------------------------------------------------


def trainer_step(trainer: Trainer, corpus: Corpus) -> Callable[[np.ndarray], torch.Tensor]:
    """Today's training step on the captions at ``indices``, data pipeline included."""
    return lambda indices: trainer.train_step(*trainer.batch_tensors(corpus.train, indices), LR)


def timed_steps(
    step: Callable[[np.ndarray], torch.Tensor], corpus: Corpus, batches: list[np.ndarray], device: str
) -> dict[str, object]:
    """``step`` on each of ``batches``; captions/s, achieved TFLOP/s and peak memory of those steps."""
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    synchronize(device)
    start = time.perf_counter()
    losses = [step(indices) for indices in batches]
    synchronize(device)
    seconds = time.perf_counter() - start
    captions = sum(len(b) for b in batches)
    flops = training_flops(corpus.config, corpus.train.lengths[np.concatenate(batches)])
    return {
        "batches": len(batches),
        "captions": captions,
        "seconds": round(seconds, 3),
        "captions_per_s": round(captions / seconds, 2),
        "achieved_tflops": round(flops / seconds / 1e12, 3),
        "peak_memory_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2)
        if device == "cuda"
        else not_measured(f"{NOT_ON_CPU}: peak memory is a GPU figure"),
        "losses_finite": bool(all(torch.isfinite(loss) for loss in losses)),
    }


def throughput_arm(corpus: Corpus, plan: Plan, device: str, arm: str, compiled: bool, out: dict) -> None:
    """One precision (eager or compiled): warm up on both batchings, then time each batching."""
    precision, allow_tf32 = PRECISIONS[arm]
    with tf32(allow_tf32):
        trainer = make_trainer(corpus, device, precision, compiled)
        out["lstm_dtype"] = lstm_dtype(trainer.runtime)
        start = time.perf_counter()
        for batches in corpus.plans.values():  # warm-up: cuDNN plans, allocator, compilation
            for indices in batches[: plan.warmup_batches]:
                trainer_step(trainer, corpus)(indices)
        synchronize(device)
        out["warmup_seconds"] = round(time.perf_counter() - start, 2)
        for name, batches in corpus.plans.items():  # timed: a cost-stratified, representative sample
            out[name] = timed_steps(
                trainer_step(trainer, corpus),
                corpus,
                stratified(batches, corpus.train.lengths, plan.timed_batches),
                device,
            )
    if device == "cuda":
        del trainer
        torch.cuda.empty_cache()


def arm_key(arm: str, compiled: bool) -> str:
    return f"{arm}-{'compiled' if compiled else 'eager'}"


def throughput_part(clock: Clock, corpus: Corpus, plan: Plan, device: str, compiled: bool) -> dict:
    """All precision arms, eager or compiled, as one budgeted part; arms it did not reach say why."""
    name = f"throughput_{'compiled' if compiled else 'eager'}"
    # Compilation time is hard to foresee: the compiled arms (last) may use all the time left.
    out = clock.run(
        name, plan.part_budgets[name], lambda o: throughput(corpus, plan, device, compiled, o), use_rest=compiled
    )
    reason = out.pop("not_measured", None) or out.pop("incomplete", None) or out.pop("failed", None)
    for arm in PRECISIONS:
        done = out.get(arm_key(arm, compiled), {})
        if not ("not_measured" in done or "failed" in done or "bucketed" in done and "random" in done):
            out[arm_key(arm, compiled)] = not_measured(f"{name}: {reason}")
    return out


def throughput(corpus: Corpus, plan: Plan, device: str, compiled: bool, out: dict) -> None:
    """Every precision arm; compiled arms most-used first, in case the budget ends the part."""
    for arm in COMPILE_ORDER if compiled else PRECISIONS:
        key = arm_key(arm, compiled)
        if device != "cuda" and (arm != "fp32" or compiled):
            out[key] = not_measured(
                f"{NOT_ON_CPU}: {'torch.compile' if compiled else arm} throughput is a GPU figure (CPU training "
                "speed is in train.json; CPU precision numerics are in correctness.precision_loss)"
            )
            continue
        out[key] = {}
        try:
            throughput_arm(corpus, plan, device, arm, compiled, out[key])
        except PartTimeout:
            raise
        except Exception as error:  # noqa: BLE001 - an arm that breaks (say, compilation) leaves the others
            out[key] = {"failed": failure(error)}
            traceback.print_exc()
            if device == "cuda":
                torch.cuda.empty_cache()


# --- capacity and data pipeline --------------------------------------------------------------------


def largest_batch(corpus: Corpus, device: str, out: dict) -> None:
    """Largest batch of 1024-frame captions (the longest a batch pads to) that takes a training step.

    Peak memory is linear in the batch size, so two small batches predict the limit; the
    prediction is then verified (and stepped down by 10 % on out-of-memory, up to four times).
    """
    if device != "cuda":
        out.update(not_measured(f"{NOT_ON_CPU}: the limit is GPU memory"))
        return
    longest = np.argsort(corpus.train.lengths)[::-1]
    total = torch.cuda.get_device_properties(0).total_memory

    def peak(trainer: Trainer, size: int) -> int:
        indices = np.resize(longest[: corpus.batch], size)  # repeats are fine: only the memory is measured
        frames, lengths, images = trainer.batch_tensors(corpus.train, indices)
        frames = torch.nn.functional.pad(frames, (0, 0, 0, MAX_FRAMES - frames.shape[1]))
        torch.cuda.reset_peak_memory_stats()
        trainer.train_step(frames, torch.full_like(lengths, MAX_FRAMES), images, LR)
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated()

    for arm in ("fp32", "bf16"):
        with tf32(PRECISIONS[arm][1]):
            trainer = make_trainer(corpus, device, PRECISIONS[arm][0])
            peak(trainer, 2)  # creates Adam's moments, so that both measurements below include them
            small, large = peak(trainer, corpus.batch), peak(trainer, 2 * corpus.batch)
            per_caption = (large - small) / corpus.batch
            predicted = min(8192, int((0.95 * total - (small - corpus.batch * per_caption)) / per_caption))
            result: dict[str, object] = {
                "frames": MAX_FRAMES,
                "gib_per_caption": round(per_caption / 2**30, 3),
                "predicted": predicted,
                "tried": [],
            }
            size = predicted
            for _ in range(4):
                used = 0
                try:
                    used = peak(trainer, size)
                except torch.cuda.OutOfMemoryError:
                    pass  # the failed step's tensors are freed once the exception is gone
                if not used:
                    result["tried"].append({"batch": size, "fits": False})  # type: ignore[union-attr]
                    torch.cuda.empty_cache()
                    size = int(size * 0.9)
                    continue
                result["tried"].append({"batch": size, "fits": True, "peak_gib": round(used / 2**30, 1)})  # type: ignore[union-attr]
                result["largest_verified"] = size
                break
            out[arm] = result
            del trainer
            torch.cuda.empty_cache()
    out["gpu_memory_gib"] = round(total / 2**30, 1)


def data_pipeline(corpus: Corpus, plan: Plan, device: str, out: dict) -> None:
    """Captions/s from the MFCC cache (an ArrayStore file) to padded, pinned device tensors.

    The training loop pads and copies each batch in its own thread, so this rate adds to the
    model's step time; it is the loader's ceiling.
    """
    start = time.perf_counter()
    train, _ = load_training_data(
        corpus.directory / "manifest.tsv", [corpus.directory / "mfcc.h5"], corpus.directory / "images.h5"
    )
    out["store_open_seconds"] = round(time.perf_counter() - start, 3)
    trainer = make_trainer(corpus, device, "fp32")
    batches = corpus.plans["random"]
    synchronize(device)
    start = time.perf_counter()
    for indices in batches:
        trainer.batch_tensors(train, indices)
    synchronize(device)
    seconds = time.perf_counter() - start
    captions = sum(len(b) for b in batches)
    out.update(
        {
            "captions": captions,
            "seconds": round(seconds, 3),
            "captions_per_s": round(captions / seconds, 1),
            "pinned": device == "cuda",
            "device": device,
        }
    )


def bottleneck(pipeline: Mapping[str, Any], arms: Mapping[str, Any]) -> dict[str, object]:
    """Loader vs model: the pipeline's captions/s against the fastest training arm's."""
    rates = [arm[b]["captions_per_s"] for arm in arms.values() for b in ("bucketed", "random") if b in arm]
    if "captions_per_s" not in pipeline or not rates:
        return not_measured("needs both the data pipeline and a training arm")
    ratio = pipeline["captions_per_s"] / max(rates)
    return {
        "pipeline_over_fastest_training": round(ratio, 2),
        "verdict": "model" if ratio > 2 else "loader (pipeline under 2x the training rate)",
    }
