"""The GPU check's plans, time budget and shared pieces: the synthetic corpus, trainers, precision switches."""

from __future__ import annotations

import contextlib
import signal
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from vgs.model import ModelConfig, run_lstm
from vgs.train.batching import epoch_batches
from vgs.train.data import CaptionSet, load_training_data
from vgs.train.device import Runtime
from vgs.train.loop import TrainConfig, Trainer
from vgs.train.synthetic import synthetic_corpus
from vgs_ops.bench.train import BATCH, MAX_FRAMES, MEDIAN_FRAMES, PAPER_TRAINING, SIZES, forward_flops

NOT_ON_CPU = "not measured on CPU"
BUDGET_ENV = "GPU_CHECK_BUDGET_S"
LR = PAPER_TRAINING.lr_max  # the paper's peak learning rate, held fixed so every arm takes the same steps
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

    size: str  # key of vgs_ops.bench.train.SIZES
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
    probe_steps: int = 3  # training steps each probe's losses are compared over (vgs_ops.bench.gpu.probes)
    probe_buckets: int = 4  # padded lengths the graph probe captures
    sharing_processes: tuple[int, ...] = (1, 2, 4, 8)  # trainings sharing one GPU (vgs_ops.bench.gpu.sharing)
    sharing_window_s: float = 6.0  # seconds each sharing process is timed for


# Full: 400 s of parts, leaving 80 s of the 8 minutes for start-up (imports, CUDA context) and overruns.
# The parts measured on the H200 took 1-41 s each and the compiled arms 73-95 s
# (workflow/report/measured/gpu-h200-2026-12-04-run*.json), so the budgets of the parts that were
# there before the probes are cut to about twice what they took (the compiled arms, last, may use all
# the time left) to make room for the probes, whose budgets are estimates until a GPU measures them.
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
        "data": 10,
        "cpu_vs_cuda": 20,
        "batch_invariance": 10,
        "throughput_eager": 60,
        "precision_loss": 30,
        "resume": 20,
        "data_pipeline": 10,
        "largest_batch": 30,
        "probe_concurrent": 25,
        "probe_packed": 25,
        "probe_half_lstm": 30,
        "probe_graphs": 35,
        "probe_sharing": 65,
        "throughput_compiled": 30,
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
        "probe_concurrent": 60,
        "probe_packed": 60,
        "probe_half_lstm": 90,
        "probe_graphs": 60,
        "probe_sharing": 120,
        "throughput_compiled": 30,
    },
    probe_buckets=3,
    sharing_processes=(1, 2),
    sharing_window_s=1.0,
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
