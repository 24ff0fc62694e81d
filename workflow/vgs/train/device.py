"""Where and in which precision the model runs: CPU everywhere, CUDA with autocast when present.

Why bf16 by default on CUDA: it keeps fp32's exponent range, so the hinge loss needs no gradient
scaling; fp16 (older GPUs) gets a ``GradScaler``. On CPU everything stays fp32, which also keeps
resumed runs bit-identical to uninterrupted ones.
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


def select_runtime(device: str = "auto", precision: str = "auto") -> Runtime:
    """``device``: auto|cpu|cuda; ``precision``: auto|fp32|bf16|fp16 (auto: bf16/fp16 on CUDA)."""
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
