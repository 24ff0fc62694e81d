"""When a training run has diverged, and what its stop leaves for the next submission.

Divergence, per precision:

* **fp32, tf32, bf16** (no gradient scaling): the first non-finite loss (NaN or ±inf). Its
  backward pass has already handed Adam non-finite gradients, so the weights are lost from that
  step on.
* **fp16** (``GradScaler``): a step whose scaled gradients hold inf or NaN (an overflow, or a
  non-finite loss) is skipped by the scaler, which halves its scale. That is routine, above all
  in the first steps (the scale starts at 2**16), and only counted (``skipped_steps`` per epoch in
  ``train_log.tsv`` and the log). Divergence is :data:`MAX_CONSECUTIVE_SKIPS` skipped steps in a
  row: by then the scale has fallen 2**50-fold, and a gradient that still overflows fp16 (65,504)
  would be above 1e15 unscaled; what no scale mends is a forward pass that is itself non-finite.
* **Any precision**: non-finite weights where a checkpoint is about to be saved (a finite loss
  whose gradient overflowed), so no save ever replaces a good ``last.pt`` or ``best.pt`` with them.

Cost: the loop never waits for the device to learn a loss (``Trainer.train_step``);
:class:`NonFiniteLossWatch` keeps the first non-finite step on the device and is read where the
loop waits anyway: progress lines, the end of an epoch, a SIGTERM save. The steps after a
divergence until then (at most one progress interval, 5 minutes by default) are wasted, never
saved. fp16 skips are read per step, right after ``GradScaler.step`` waited for the device.

What a divergence leaves: ``checkpoints/last.pt``, the last good save, untouched, and
``checkpoints/diverged.json`` (:data:`MARKER`: the message, the settings and the data it diverged
with). A resubmission with the same settings and data (the train rule's ``retries``, meant for
SLURM time limits) stops at once with the same message: a divergence costs one job start per
retry, not GPU-hours. Changing a remedy key (:data:`REMEDY_KEYS`) continues from ``last.pt`` with
the new values, recorded in the checkpoint's ``remedies`` and the log; deleting the marker repeats
the run unchanged; deleting the checkpoints directory starts over.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from vgs.io import PathLike, atomic_path

#: fp16 steps skipped in a row (GradScaler) that count as divergence; see the module docstring.
MAX_CONSECUTIVE_SKIPS = 50
#: Training settings a diverged run may continue with changed (from its last good ``last.pt``).
REMEDY_KEYS = ("lr_max", "lr_min", "precision")
#: The file in a run's checkpoints directory that records its divergence.
MARKER = "diverged.json"


class TrainingDiverged(RuntimeError):
    """Training stopped on a non-finite loss or weights; the last good checkpoint is kept."""


class NonFiniteLossWatch:
    """The first non-finite loss of a run (global step, batch of its epoch, value), kept on the
    device, so that watching costs a few element-wise kernels per step and no wait for the device."""

    def __init__(self, device: torch.device) -> None:
        self.step = torch.full((), -1, dtype=torch.int64, device=device)
        self.position = torch.full((), -1, dtype=torch.int64, device=device)
        self.value = torch.zeros((), dtype=torch.float32, device=device)

    def observe(self, loss: torch.Tensor, step: int, position: int) -> None:
        """Record ``loss`` of global step ``step`` (batch ``position`` of its epoch) if it is the first
        non-finite one."""
        first = ~torch.isfinite(loss) & (self.step < 0)
        self.step = torch.where(first, step, self.step)
        self.position = torch.where(first, position, self.position)
        self.value = torch.where(first, loss.float(), self.value)

    def first(self) -> tuple[int, int, float] | None:
        """``(step, position, value)`` of the first non-finite loss, or None (waits for the device)."""
        step = int(self.step)
        return None if step < 0 else (step, int(self.position), float(self.value))


def non_finite_parameters(model: torch.nn.Module) -> list[str]:
    """Names of the parameters holding a NaN or an infinity."""
    return [name for name, parameter in model.named_parameters() if not bool(torch.isfinite(parameter).all())]


def remedy(directory: Path, resumable: bool) -> str:
    """What a user can do after a divergence (the second half of its message)."""
    goes_on = "training continues from last.pt" if resumable else "training starts over"
    marker = directory / MARKER
    return (
        "To go on, lower the learning rate (lr_max, lr_min) or change the precision (precision, e.g. fp32 where "
        "fp16 or bf16 diverged) for this model (models.<model>.train in the configuration) and rerun: "
        f"{goes_on} with the new values (docs/usage.md, 'When training diverges'). Rerunning unchanged (also the "
        f"train rule's retries) stops at once with this message while {marker} exists; delete it to repeat the run "
        f"unchanged, or delete {directory} to start over"
    )


def write_marker(directory: Path, message: str, settings: Mapping[str, Any], data: str) -> None:
    """Record a divergence: its message, and the settings and data it happened with."""
    with atomic_path(directory / MARKER) as tmp:
        Path(tmp).write_text(json.dumps({"message": message, "settings": dict(settings), "data": data}, indent=1))


def read_marker(directory: PathLike) -> dict[str, Any] | None:
    """The divergence recorded in ``directory``, or None."""
    path = Path(directory) / MARKER
    if not path.exists():
        return None
    try:
        marker = json.loads(path.read_text())
        if not isinstance(marker, dict) or not {"message", "settings", "data"} <= marker.keys():
            raise ValueError("not a divergence record")
    except ValueError as error:
        raise ValueError(f"{path}: unreadable divergence record ({error}); delete it to train this run again") from None
    return marker
