"""Cyclic learning rate (Smith 2017), as used by Merkx et al.: a cosine wave between two bounds.

Why a plain function of the global step instead of a ``torch.optim.lr_scheduler``: the whole
schedule state is one integer, which makes checkpoints trivially exact and the values testable.
The cycle starts at the minimum, peaks half-way and returns to the minimum at the end of each
period, so the end of every period (a multiple of ``period`` steps) is a low-learning-rate point.
"""

from __future__ import annotations

import math


def cyclic_lr(step: int, lr_min: float, lr_max: float, period: int) -> float:
    """Learning rate at ``step`` (0-based): ``lr_min + (lr_max - lr_min) * (1 - cos(2πs/P)) / 2``."""
    if period <= 0:
        raise ValueError(f"period must be positive, got {period}")
    phase = (step % period) / period
    return lr_min + (lr_max - lr_min) * (1.0 - math.cos(2.0 * math.pi * phase)) / 2.0
