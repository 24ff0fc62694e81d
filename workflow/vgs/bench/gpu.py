"""GPU readiness check (``make gpu-check``): proves the CUDA path and measures what the GPU-hour estimate assumes.

On a CUDA device it trains the paper-size model on paper-like batches (32 captions, log-normal
lengths around 4.3 s, cut at 1024 frames) through the real training code (:class:`Trainer`'s
``batch_tensors`` and ``train_step``: pinned transfers, autocast, grad scaler, ``torch.compile``)
and records, within an overall time budget (8 minutes on one data-centre GPU):

* throughput per arm (fp32 with TF32 off and on, bf16 autocast, fp16 + GradScaler; eager and
  compiled; bucketed and the authors' random batches): captions/s, achieved TFLOP/s counted with
  the same :func:`~vgs.bench.train.forward_flops` as the GPU-hour estimate (useful frames only, so
  padding shows up as lost FLOP/s), peak GPU memory;
* the largest batch of 1024-frame captions that trains without running out of memory;
* the data pipeline alone (MFCC cache -> padded, pinned device tensors), beside the model's rate;
* correctness: CPU vs CUDA embeddings of the same weights, batch invariance, the loss after N steps
  in each precision against strict fp32, and resume (the same epochs after a resume as without,
  RNG states restored, deterministic settings named);
* the GPU-hour projection for the paper's eight models from the measured TFLOP/s, beside the
  assumed-rate estimate.

Without a GPU (and with ``--quick``) it runs a quick mode: the small model, few steps. The
correctness checks that mean something on a CPU run for real there (batch invariance, precision
comparison with CPU autocast, resume); GPU-only fields say ``not measured on CPU`` and why.

Every part has a time budget; a part that would not fit in what is left of the overall budget is
skipped with the reason recorded, and a part that overruns its own budget is stopped (SIGALRM)
with what it measured so far kept.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vgs.bench.train import ASSUMED_GPU_TFLOPS, SIZES, forward_flops, gpu_hours_estimate, stratified
from vgs.model import ModelConfig, VGSModel, run_lstm
from vgs.train.batching import epoch_batches
from vgs.train.data import CaptionSet, load_training_data
from vgs.train.device import Runtime
from vgs.train.encode import embed_utterances
from vgs.train.loop import TrainConfig, Trainer
from vgs.train.synthetic import synthetic_corpus

NAME = "gpu"
NOT_ON_CPU = "not measured on CPU"
BUDGET_ENV = "GPU_CHECK_BUDGET_S"
MEDIAN_FRAMES = 430  # ~4.3 s captions at 100 frames/s, as in the GPU-hour estimate
MAX_FRAMES = 1024
BATCH = 32
LR = 2e-4  # the paper's peak learning rate, held fixed so every arm takes the same steps
# Precision arms: name -> (train.precision, TF32 allowed for fp32 matmuls, convolutions and cuDNN LSTMs).
PRECISIONS: dict[str, tuple[str, bool]] = {
    "fp32": ("fp32", False),
    "fp32-tf32": ("tf32", True),
    "bf16": ("bf16", False),
    "fp16": ("fp16", False),
}
COMPILE_ORDER = ("bf16", "fp32-tf32", "fp32", "fp16")
# Stated tolerances (see the docstrings of the checks that use them).
EMBEDDING_TOLERANCE = 1e-4  # max |difference| of unit-norm embeddings, strict fp32
LOSS_TOLERANCE = 0.05  # relative difference of the loss after N steps vs strict fp32
RESUME_TOLERANCE = {"cpu": 0.0, "cuda": 1e-5}  # relative difference of the epoch losses, resumed vs straight
DETERMINISTIC = {
    "torch.use_deterministic_algorithms": "True (warn_only)",
    "cudnn.deterministic": True,
    "cudnn.benchmark": False,
    "CUBLAS_WORKSPACE_CONFIG": ":4096:8",
}


@dataclass(frozen=True)
class Plan:
    """Sizes and per-part time budgets (seconds) of one mode."""

    size: str  # key of vgs.bench.train.SIZES
    batch: int  # captions per training batch
    median_frames: int  # of the log-normal caption lengths
    images: int  # synthetic training images, five captions each
    warmup_batches: int
    timed_batches: int
    compare_steps: int
    compare_captions: int
    resume_images: int
    budget_s: float
    part_budgets: Mapping[str, float]


# Full: 400 s of parts, leaving 80 s of the 8 minutes for start-up (imports, CUDA context) and overruns.
FULL = Plan(
    "paper",
    BATCH,
    MEDIAN_FRAMES,
    400,
    3,
    12,
    20,
    8,
    24,
    400.0,
    {
        "data": 20,
        "cpu_vs_cuda": 40,
        "batch_invariance": 15,
        "throughput_eager": 80,
        "precision_loss": 40,
        "resume": 45,
        "data_pipeline": 15,
        "largest_batch": 60,
        "throughput_compiled": 80,
    },
)
# Quick: short captions so that the whole check takes seconds (it runs in the tests); its budgets
# are only guards, generous for busy shared CPUs.
QUICK = Plan(
    "small",
    8,
    80,
    24,
    1,
    2,
    4,
    4,
    2,
    600.0,
    {
        "data": 30,
        "cpu_vs_cuda": 30,
        "batch_invariance": 30,
        "throughput_eager": 60,
        "precision_loss": 90,
        "resume": 240,
        "data_pipeline": 30,
        "largest_batch": 30,
        "throughput_compiled": 30,
    },
)


def not_measured(reason: str) -> dict[str, str]:
    """The marker of a field this run could not measure (never a number that looks measured)."""
    return {"not_measured": reason}


class PartTimeout(Exception):
    """A part ran past its own time budget."""


def failure(error: BaseException) -> str:
    """One line naming an exception, for the record (the traceback goes to the log)."""
    return f"{type(error).__name__}: {str(error).splitlines()[0][:300] if str(error) else ''}"


class Clock:
    """The overall budget: runs parts that fit, stops parts that overrun, records both."""

    def __init__(self, total_s: float):
        self.total_s, self.start = total_s, time.perf_counter()
        self.parts: dict[str, dict[str, object]] = {}

    def left(self) -> float:
        return self.total_s - (time.perf_counter() - self.start)

    def run(self, name: str, budget_s: float, work: Callable[[dict], None], use_rest: bool = False) -> dict:
        """``work(result)`` fills ``result``; skipped if its budget no longer fits, stopped when it overruns.

        ``use_rest``: the part may use all the time left (at least ``budget_s``).
        """
        result: dict[str, object] = {}
        left = self.left()
        if left < budget_s:
            reason = (
                f"skipped: {left:.0f} s of the overall {self.total_s:.0f} s budget left, part needs {budget_s:.0f} s"
            )
            self.parts[name] = {"budget_s": budget_s, "status": reason}
            print(f"[gpu-check] {name}: {reason}", flush=True)
            return not_measured(reason)
        budget_s = max(budget_s, left) if use_rest else budget_s
        start = time.perf_counter()
        status = "done"
        try:
            with alarm(budget_s):
                work(result)
        except PartTimeout:
            status = f"stopped after its {budget_s:.0f} s budget; results so far kept"
            result["incomplete"] = status
        except Exception as error:  # noqa: BLE001 - one broken part must not lose the others' measurements
            status = f"failed: {failure(error)}"
            result["failed"] = status
            traceback.print_exc()
        seconds = time.perf_counter() - start
        self.parts[name] = {"budget_s": budget_s, "seconds": round(seconds, 1), "status": status}
        print(
            f"[gpu-check] {name}: {seconds:.1f} s of {budget_s:.0f} s ({status}); "
            f"{time.perf_counter() - self.start:.0f} s elapsed",
            flush=True,
        )
        return result

    def record(self) -> dict[str, object]:
        return {"total_s": self.total_s, "elapsed_s": round(time.perf_counter() - self.start, 1), "parts": self.parts}


@contextlib.contextmanager
def alarm(seconds: float) -> Iterator[None]:
    """Raise :class:`PartTimeout` in the main thread after ``seconds`` (compilation included)."""

    def expire(signum: int, frame: object) -> None:
        raise PartTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def tf32(allowed: bool) -> Iterator[None]:
    """Allow or forbid TF32 in fp32 matmuls and cuDNN (convolutions and LSTMs); restore afterwards.

    PyTorch's defaults differ by library (cuBLAS matmuls off, cuDNN on), so "fp32" on a GPU is
    partly TF32 unless forbidden; the arms set both explicitly.
    """
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = allowed
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


@dataclass
class Corpus:
    """A synthetic caption set with paper-like lengths, stored as the workflow stores MFCCs."""

    directory: Path
    train: CaptionSet
    config: ModelConfig
    batch: int
    plans: dict[str, list[np.ndarray]]  # batching -> this epoch's batches (bucketed, random)


def make_corpus(directory: Path, plan: Plan, images: int, name: str, dev_images: int = 2) -> Corpus:
    config = SIZES[plan.size]
    paths = synthetic_corpus(
        directory / name,
        {"train": images, "dev": dev_images},
        captions_per_image=5,
        image_dim=config.image_dim,
        median_frames=plan.median_frames,
    )
    train, _ = load_training_data(paths["manifest"], [paths["mfcc"]], paths["images"])
    plans = {
        batching: [
            b
            for b in epoch_batches(
                train.image_ids, train.lengths, plan.batch, np.random.default_rng(1), bucket=batching == "bucketed"
            )
            if len(b) > 1
        ]
        for batching in ("bucketed", "random")
    }
    return Corpus(directory / name, train, config, plan.batch, plans)


def make_trainer(corpus: Corpus, device: str, precision: str, compiled: bool = False, seed: int = 0) -> Trainer:
    settings = TrainConfig(
        batch_size=corpus.batch,
        max_frames=MAX_FRAMES,
        device=device,
        precision=precision,
        compile=compiled,
        progress=False,
    )
    return Trainer(corpus.config, settings, seed, corpus.directory / "checkpoints")


def synchronize(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def training_flops(config: ModelConfig, lengths: np.ndarray) -> float:
    """FLOPs of training on captions of ``lengths`` (3x forward, useful frames only, as the estimate)."""
    return float(sum(3 * forward_flops(config, min(int(n), MAX_FRAMES)) for n in lengths))


def lstm_dtype(runtime: Runtime) -> str:
    """The dtype a cuDNN/oneDNN LSTM actually computes in under this runtime's autocast.

    The LSTM is fed as in the model: under autocast the convolution before it already outputs the
    reduced dtype, so the probe's input is in that dtype too. oneDNN can reject an fp32 input under
    reduced-precision autocast (seen for fp16, and for bf16 on CPUs without AVX-512 BF16) while it
    runs an input of that dtype, which is what training gives it.
    """
    lstm = torch.nn.LSTM(8, 8, batch_first=True).to(runtime.device)
    try:
        with runtime.autocast():
            return str(run_lstm(lstm, runtime.put(torch.randn(2, 3, 8, dtype=runtime.dtype or torch.float32))).dtype)
    except RuntimeError as error:
        return f"fails: {str(error)[:160]}"


def cpu_autocast_fallback(runtime: Runtime) -> contextlib.AbstractContextManager:
    """Where oneDNN cannot run the LSTM in the reduced precision even on input of that dtype.

    There, the reduced-precision CPU arms run with oneDNN off: the LSTM then stays fp32 (CPU
    autocast does not cast it) while convolution and linear layers run in bf16/fp16. The result
    records which case applied (``lstm_dtype``); training itself has no such fallback.
    """
    if runtime.device.type == "cpu" and runtime.dtype is not None and lstm_dtype(runtime).startswith("fails"):
        return torch.backends.mkldnn.flags(enabled=False)
    return contextlib.nullcontext()


# --- throughput ------------------------------------------------------------------------------------


def timed_steps(trainer: Trainer, corpus: Corpus, batches: list[np.ndarray], device: str) -> dict[str, object]:
    """Train on ``batches``; captions/s, achieved TFLOP/s and peak memory of those steps."""
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    synchronize(device)
    start = time.perf_counter()
    losses = [trainer.train_step(*trainer.batch_tensors(corpus.train, indices), LR) for indices in batches]
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
                trainer.train_step(*trainer.batch_tensors(corpus.train, indices), LR)
        synchronize(device)
        out["warmup_seconds"] = round(time.perf_counter() - start, 2)
        for name, batches in corpus.plans.items():  # timed: a cost-stratified, representative sample
            out[name] = timed_steps(
                trainer, corpus, stratified(batches, corpus.train.lengths, plan.timed_batches), device
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
    reference = embed_utterances(model, arrays, len(arrays), MAX_FRAMES, Runtime(torch.device("cpu"), None))
    model.to("cuda")
    for arm in ("fp32", "fp32-tf32", "bf16"):
        precision, allow_tf32 = PRECISIONS[arm]
        runtime = Runtime(torch.device("cuda"), {"fp32": None, "tf32": None, "bf16": torch.bfloat16}[precision])
        with tf32(allow_tf32):
            on_gpu = embed_utterances(model, arrays, len(arrays), MAX_FRAMES, runtime)
        out[arm] = embeddings_close(reference, on_gpu, EMBEDDING_TOLERANCE if arm == "fp32" else None)
    out["captions"] = len(arrays)


def batch_invariance(corpus: Corpus, plan: Plan, device: str, out: dict) -> None:
    """Each caption encoded alone vs. in one padded batch with all the others (strict fp32)."""
    torch.manual_seed(0)
    model = VGSModel(corpus.config).to(device).eval()
    arrays = sample_arrays(corpus, plan.compare_captions)
    runtime = Runtime(torch.device(device), None)
    with tf32(False):
        alone = embed_utterances(model, arrays, 1, MAX_FRAMES, runtime)
        together = embed_utterances(model, arrays, len(arrays), MAX_FRAMES, runtime)
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


# --- projection ------------------------------------------------------------------------------------


def gpu_hours(config: ModelConfig, arms: Mapping[str, Any], device_name: str, missing: str) -> dict[str, object]:
    """The assumed-rate estimate, and a projection from each measured arm's best TFLOP/s per batching."""
    result: dict[str, object] = {
        "estimate": {
            "kind": f"estimate: assumed {ASSUMED_GPU_TFLOPS} TFLOP/s, not measured",
            **gpu_hours_estimate(config),
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
                basis = f"measured on {device_name}: {arm} {mode}, {batching} batches of {BATCH}"
                projection = gpu_hours_estimate(config, tflops, basis)
                measured[f"{arm}-{batching}"] = {
                    "achieved_tflops": tflops,
                    "mode": mode,
                    "gpu_hours_total": projection["gpu_hours_total"],
                    "gpu_hours_per_model": projection["gpu_hours_per_model"],
                }
    result["measured"] = measured or not_measured(missing)
    return result


# --- the benchmark ---------------------------------------------------------------------------------


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
    result["gpu_hours"] = gpu_hours(SIZES["paper"], arms if plan.size == "paper" else {}, device_name, missing)
    result["budget"] = clock.record()
    return result


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


# --- summary -----------------------------------------------------------------------------------------


def cell(value: object) -> str:
    if isinstance(value, dict) and "not_measured" in value:
        return "—"
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def summary(record: Mapping[str, Any]) -> str:
    """A short Markdown digest of ``gpu.json`` (tables of throughput, correctness, GPU hours)."""
    r = record["results"]
    lines = [
        f"# GPU check ({r['mode']} mode, {r['device']}, model {r['model_size']}, torch {r['torch']})",
        "",
        f"{r['mode_reason']}; {record['seconds']} s in all. — = not measured (reason in gpu.json).",
        "",
        f"## Training throughput (batches of {r['batch_size']})",
        "",
        "| arm | batching | captions/s | TFLOP/s | peak GiB | LSTM dtype |",
        "|---|---|---|---|---|---|",
    ]
    for name, arm in r["throughput"].items():
        if "not_measured" in arm or not any(b in arm for b in ("bucketed", "random")):
            marker = f"FAILED: {arm['failed']}" if "failed" in arm else "—"
            lines.append(f"| {name} | {marker} | — | — | — | — |")
            continue
        for batching in ("bucketed", "random"):
            if batching in arm:
                row = arm[batching]
                lines.append(
                    f"| {name} | {batching} | {cell(row['captions_per_s'])} | {cell(row['achieved_tflops'])} "
                    f"| {cell(row['peak_memory_gib'])} | {arm.get('lstm_dtype', '')} |"
                )
    pipeline = r["data_pipeline"]
    lines += [
        "",
        f"Data pipeline alone: {cell(pipeline.get('captions_per_s', pipeline))} captions/s "
        f"(bottleneck: {r['bottleneck'].get('verdict', '—')}; pipeline / fastest arm "
        f"{cell(r['bottleneck'].get('pipeline_over_fastest_training', '—'))}).",
        "",
    ]
    largest = r["largest_batch"]
    for arm in ("fp32", "bf16"):
        if arm in largest:
            lines.append(
                f"Largest batch of {largest[arm]['frames']}-frame captions, {arm}: "
                f"{largest[arm].get('largest_verified', 'none verified')} verified "
                f"(predicted {largest[arm]['predicted']}, {largest[arm]['gib_per_caption']} GiB per caption, "
                f"{largest['gpu_memory_gib']} GiB card)."
            )
    lines += ["", "## Correctness", ""]
    for name, check in r["correctness"].items():
        lines.append(f"- {name}: {check.get('not_measured') or summarise_check(check)}")
    hours = r["gpu_hours"]
    lines += [
        "",
        "## GPU hours, paper's eight models",
        "",
        f"- {hours['estimate']['kind']}: {hours['estimate']['gpu_hours_total']} GPU-h",
    ]
    measured = hours["measured"]
    if "not_measured" in measured:
        lines.append(f"- measured: {measured['not_measured']}")
    else:
        lines += [
            f"- measured, {name} ({row['mode']}, {row['achieved_tflops']} TFLOP/s): {row['gpu_hours_total']} GPU-h"
            for name, row in measured.items()
        ]
    lines += ["", "## Time per part", ""] + [
        f"- {name}: {part.get('seconds', 0)} s of {part['budget_s']} s ({part['status']})"
        for name, part in r["budget"]["parts"].items()
    ]
    return "\n".join(lines) + "\n"


def summarise_check(check: Mapping[str, Any]) -> str:
    """``ok``/``FAILED``/``reported`` per sub-check, with its headline number."""
    if "failed" in check:
        return check["failed"]
    if "ok" in check:
        return f"{'ok' if check['ok'] else 'FAILED'} (max |diff| {cell(check['max_abs_difference'])})"
    parts = []
    for name, sub in check.items():
        if isinstance(sub, dict):
            if "not_measured" in sub:
                parts.append(f"{name} —")
            elif "ok" in sub:
                number = next(
                    (
                        sub[k]
                        for k in ("max_abs_difference", "relative_difference", "max_relative_difference")
                        if k in sub
                    ),
                    "",
                )
                parts.append(f"{name} {'ok' if sub['ok'] else 'FAILED'} ({cell(number)})")
            elif "max_abs_difference" in sub:
                parts.append(f"{name} reported ({cell(sub['max_abs_difference'])})")
            elif "final_loss" in sub:
                parts.append(f"{name} reference (loss {cell(sub['final_loss'])})")
    return "; ".join(parts) if parts else "incomplete"
