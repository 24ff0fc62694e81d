"""Where and in which precision the model runs: CPU everywhere, CUDA with autocast when present.

Why fp32 by default: the authors train and encode in fp32, and autocast changes results (measured
in the README, "Speed options and their effect on results"). bf16 / fp16 autocast are speed options
that a configuration must ask for: ``bf16`` keeps fp32's exponent range, so the hinge loss needs no
gradient scaling; ``fp16`` (older GPUs) gets a ``GradScaler``; ``auto`` picks bf16 on CUDA where
supported, else fp16, and fp32 on CPU. fp32 also keeps resumed CPU runs bit-identical to
uninterrupted ones.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Runtime:
    device: torch.device
    dtype: torch.dtype | None  # autocast dtype, None = full precision

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def put(self, tensor: torch.Tensor) -> torch.Tensor:
        """Move a CPU tensor to the device (through pinned memory on CUDA, asynchronously)."""
        if self.device.type != "cuda":
            return tensor
        return tensor.pin_memory().to(self.device, non_blocking=True)


def select_runtime(device: str = "auto", precision: str = "fp32") -> Runtime:
    """``device``: auto|cpu|cuda; ``precision``: fp32|bf16|fp16|auto (auto: bf16/fp16 on CUDA, opt-in)."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("train.device is 'cuda' but no CUDA device is visible; use 'auto' or 'cpu'")
    chosen = torch.device(device)
    if precision == "auto":
        if chosen.type != "cuda":
            return Runtime(chosen, None)
        precision = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    dtypes = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
    if precision not in dtypes:
        raise ValueError(f"unknown precision {precision!r}; use auto, fp32, bf16 or fp16")
    return Runtime(chosen, dtypes[precision])
