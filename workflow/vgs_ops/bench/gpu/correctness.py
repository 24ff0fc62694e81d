"""Correctness on the device: CPU vs CUDA embeddings, batch invariance, loss per precision, resume."""

from __future__ import annotations

import contextlib
import dataclasses
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from vgs.model import VGSModel
from vgs.train.data import load_training_data
from vgs.train.device import Runtime
from vgs.train.embed import embed_frames
from vgs.train.loop import TrainConfig, Trainer
from vgs_ops.bench.gpu.harness import (
    DETERMINISTIC,
    EMBEDDING_TOLERANCE,
    LOSS_TOLERANCE,
    LR,
    MAX_FRAMES,
    NOT_ON_CPU,
    PRECISIONS,
    RESUME_TOLERANCE,
    Corpus,
    Plan,
    cpu_autocast_fallback,
    lstm_dtype,
    make_corpus,
    make_trainer,
    not_measured,
    tf32,
)
from vgs_ops.bench.train import stratified

# --- correctness -----------------------------------------------------------------------------------


def sample_arrays(corpus: Corpus, count: int) -> list[np.ndarray]:
    """``count`` captions spread over the length distribution (shortest to longest)."""
    order = np.argsort(corpus.train.lengths)
    return corpus.train.arrays(order[np.linspace(0, len(order) - 1, count).astype(int)])


def embeddings_close(a: torch.Tensor, b: torch.Tensor, tolerance: float | None) -> dict[str, object]:
    difference = float((a - b).abs().max())
    result: dict[str, object] = {
        "max_abs_difference": difference,
        "min_cosine": round(float(torch.nn.functional.cosine_similarity(a, b).min()), 6),
    }
    if tolerance is not None:
        result.update({"tolerance": tolerance, "ok": difference <= tolerance})
    return result


def cpu_vs_cuda(corpus: Corpus, plan: Plan, device: str, out: dict) -> None:
    """Embeddings of the same weights on CPU (fp32) and CUDA: strict fp32, TF32 and bf16 autocast."""
    if device != "cuda":
        out.update(not_measured(f"{NOT_ON_CPU}: needs a CUDA device to compare against"))
        return
    torch.manual_seed(0)
    model = VGSModel(corpus.config).eval()
    arrays = sample_arrays(corpus, plan.compare_captions)
    reference = embed_frames(model, arrays, len(arrays), MAX_FRAMES, Runtime(torch.device("cpu"), None))
    model.to("cuda")
    for arm in ("fp32", "fp32-tf32", "bf16"):
        precision, allow_tf32 = PRECISIONS[arm]
        runtime = Runtime(torch.device("cuda"), {"fp32": None, "tf32": None, "bf16": torch.bfloat16}[precision])
        with tf32(allow_tf32):
            on_gpu = embed_frames(model, arrays, len(arrays), MAX_FRAMES, runtime)
        out[arm] = embeddings_close(reference, on_gpu, EMBEDDING_TOLERANCE if arm == "fp32" else None)
    out["captions"] = len(arrays)


def batch_invariance(corpus: Corpus, plan: Plan, device: str, out: dict) -> None:
    """Each caption encoded alone vs. in one padded batch with all the others (strict fp32)."""
    torch.manual_seed(0)
    model = VGSModel(corpus.config).to(device).eval()
    arrays = sample_arrays(corpus, plan.compare_captions)
    runtime = Runtime(torch.device(device), None)
    with tf32(False):
        alone = embed_frames(model, arrays, 1, MAX_FRAMES, runtime)
        together = embed_frames(model, arrays, len(arrays), MAX_FRAMES, runtime)
    out.update({"device": device, "captions": len(arrays), **embeddings_close(alone, together, EMBEDDING_TOLERANCE)})


def precision_loss(corpus: Corpus, plan: Plan, device: str, out: dict) -> None:
    """Loss after N training steps (same initial weights, same batches) in each precision vs strict fp32.

    Training amplifies rounding differences, so this bounds what a precision does to the
    trajectory, not to a single product; the tolerance is relative, on the mean of the last
    quarter of the steps (less noisy than the last step alone).
    """
    batches = stratified(corpus.plans["bucketed"], corpus.train.lengths, plan.compare_steps)
    tail = max(1, plan.compare_steps // 4)
    reference: float | None = None
    out.update({"steps": plan.compare_steps, "reference": "fp32 (TF32 off)", "tolerance": LOSS_TOLERANCE})
    for arm, (precision, allow_tf32) in PRECISIONS.items():
        if device != "cuda" and allow_tf32:
            out[arm] = not_measured(f"{NOT_ON_CPU}: TF32 is a GPU mode")
            continue
        with tf32(allow_tf32):
            trainer = make_trainer(corpus, device, precision)
            with cpu_autocast_fallback(trainer.runtime):
                losses = [
                    float(trainer.train_step(*trainer.batch_tensors(corpus.train, indices), LR)) for indices in batches
                ]
                computed_in = lstm_dtype(trainer.runtime)
        final = float(np.mean(losses[-tail:]))
        row: dict[str, object] = {
            "first_loss": round(losses[0], 6),
            "final_loss": round(final, 6),
            "lstm_dtype": computed_in,
        }
        if trainer.scaler.is_enabled():  # below the initial 65536: fp16 steps were skipped on overflow
            row["grad_scale_final"] = trainer.scaler.get_scale()
        if reference is None:
            reference = final
        else:
            relative = abs(final - reference) / abs(reference)
            row.update({"relative_difference": round(relative, 6), "ok": bool(relative <= LOSS_TOLERANCE)})
        out[arm] = row


def resume(plan: Plan, directory: Path, device: str, out: dict) -> None:
    """Three epochs straight vs one epoch, a new process-like Trainer, and a resume to three.

    Uses the small model (the mechanism, not the size, is under test) under deterministic
    settings. Before resuming, the RNGs are scrambled; the check records whether resume restored
    the saved states (CPU's and, on CUDA, CUDA's) and whether the epoch losses after the resume
    match the uninterrupted run within the stated tolerance.
    """
    quick = dataclasses.replace(plan, size="small")
    corpus = make_corpus(directory, quick, plan.resume_images, "resume")
    train, dev = load_training_data(
        corpus.directory / "manifest.tsv", [corpus.directory / "mfcc.h5"], corpus.directory / "images.h5"
    )
    tolerance = RESUME_TOLERANCE[device]
    out.update(
        {
            "epochs": 3,
            "resumed_after_epoch": 1,
            "tolerance_relative": tolerance,
            "model": "small",
            "deterministic_settings": DETERMINISTIC if device == "cuda" else "CPU (deterministic by default)",
        }
    )
    for arm in ("fp32", "bf16", "fp16"):
        precision = PRECISIONS[arm][0]

        def trainer(name: str, epochs: int) -> Trainer:
            settings = TrainConfig(
                epochs=epochs,
                batch_size=corpus.batch,
                device=device,
                precision=precision,
                progress=False,
                lr_period_epochs=1.0,
            )
            return Trainer(corpus.config, settings, 0, directory / f"resume-{arm}-{name}", train.fingerprint())

        with deterministic(device), warnings.catch_warnings(record=True) as caught, tf32(False):
            warnings.simplefilter("always")
            runtime = trainer("probe", 1).runtime
            with cpu_autocast_fallback(runtime):
                straight = trainer("straight", 3).fit(train, dev)
                trainer("resumed", 1).fit(train, dev)
                resumed_trainer = trainer("resumed", 3)
                saved = torch.load(resumed_trainer.last_path, weights_only=True)["rng"]
                torch.manual_seed(12345)  # scramble: a resume that forgets the RNG state shows
                resumed_trainer.resume()
                restored = torch.equal(torch.get_rng_state(), saved["torch"]) and (
                    device != "cuda"
                    or all(
                        torch.equal(a, b) for a, b in zip(torch.cuda.get_rng_state_all(), saved["cuda"], strict=True)
                    )
                )
                resumed = resumed_trainer.fit(train, dev)
                computed_in = lstm_dtype(runtime)
        keys = ("train_loss", "dev_loss")
        difference = max(
            abs(a[k] - b[k]) / max(abs(a[k]), 1e-12)
            for a, b in zip(straight.log[1:], resumed.log[1:], strict=True)
            for k in keys
        )
        out[arm] = {
            "straight": [{k: row[k] for k in keys} for row in straight.log],
            "resumed": [{k: row[k] for k in keys} for row in resumed.log],
            "max_relative_difference": difference,
            "rng_state_restored": bool(restored),
            "ok": bool(difference <= tolerance and restored),
            "lstm_dtype": computed_in,
            "nondeterminism_warnings": sorted(
                {str(w.message)[:200] for w in caught if "deterministic" in str(w.message)}
            ),
        }


@contextlib.contextmanager
def deterministic(device: str) -> Iterator[None]:
    """The deterministic settings named in the result (CUDA only; CPU kernels are deterministic)."""
    if device != "cuda":
        yield
        return
    saved = (
        torch.are_deterministic_algorithms_enabled(),
        torch.backends.cudnn.deterministic,
        torch.backends.cudnn.benchmark,
    )
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(saved[0])
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = saved[1], saved[2]
