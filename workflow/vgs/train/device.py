"""Where and in which precision the model runs: CPU everywhere, CUDA with autocast when present.

Why fp32 by default: the authors train and encode in fp32, and autocast changes results (measured
in docs/study.md, "Speed options and their effect on results"). bf16 / fp16 autocast are speed options
that a configuration must ask for: ``bf16`` keeps fp32's exponent range, so the hinge loss needs no
gradient scaling, but on CUDA its LSTM stays fp32 (see :func:`vgs.model.run_lstm`), which leaves
it no faster than fp32 on the H200; ``fp16`` gets a ``GradScaler`` and was the fastest reduced
precision measured there (1.3-2x fp32, loss 0.02 % off fp32 after 20 steps), so ``auto`` picks it
on CUDA, and fp32 on CPU. fp32 also keeps resumed CPU runs bit-identical to uninterrupted ones.

What "fp32" means on a GPU: PyTorch lets cuDNN use TF32 tensor cores for convolutions and LSTMs
by default (``torch.backends.cudnn.allow_tf32`` is True, measured on the H200 in docs/benchmarks.md), so
an fp32 run there is partly TF32 unless told otherwise. The authors' recipe is fp32 proper, so
``fp32`` switches TF32 off for matmuls and cuDNN; ``tf32`` is the speed option that switches it
on (1.5-1.9x faster on the H200, loss 1.7 % off strict fp32 after 20 steps: docs/benchmarks.md, GPU check).
The switches are process-wide, which is right for a job that trains or encodes one model in one
precision.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch

from vgs.config import schema_defaults

#: Where and in which precision, unless told: the training defaults (train.schema.yaml).
DEFAULTS = schema_defaults("train.schema.yaml")


@dataclass(frozen=True)
class Runtime:
    device: torch.device
    dtype: torch.dtype | None  # autocast dtype, None = full precision
    tf32: bool = False  # TF32 tensor cores for fp32 matmuls, convolutions and LSTMs (CUDA only)

    def apply_tf32(self) -> None:
        """Set PyTorch's process-wide TF32 switches to this runtime's (CUDA only; CPUs have no TF32)."""
        if self.device.type == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = self.tf32

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def put(self, tensor: torch.Tensor) -> torch.Tensor:
        """Move a CPU tensor to the device (through pinned memory on CUDA, asynchronously)."""
        if self.device.type != "cuda":
            return tensor
        return tensor.pin_memory().to(self.device, non_blocking=True)


def select_runtime(device: str = DEFAULTS["device"], precision: str = DEFAULTS["precision"]) -> Runtime:
    """``device``: auto|cpu|cuda; ``precision``: fp32|tf32|bf16|fp16|auto (auto: fp16 on CUDA, opt-in).

    On CUDA it also sets the TF32 switches (:meth:`Runtime.apply_tf32`): off except for ``tf32``.
    """
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("train.device is 'cuda' but no CUDA device is visible; use 'auto' or 'cpu'")
    chosen = torch.device(device)
    if precision == "auto":
        precision = "fp16" if chosen.type == "cuda" else "fp32"
    dtypes = {"fp32": None, "tf32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
    if precision not in dtypes:
        raise ValueError(f"unknown precision {precision!r}; use auto, fp32, tf32, bf16 or fp16")
    runtime = Runtime(chosen, dtypes[precision], tf32=precision == "tf32")
    runtime.apply_tf32()
    return runtime
