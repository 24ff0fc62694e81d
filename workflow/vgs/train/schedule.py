"""Cyclic learning rate (Smith 2017), as used by Merkx et al.: a cosine wave between two bounds.

Why a plain function of the global step instead of a ``torch.optim.lr_scheduler``: the whole
schedule state is one integer, which makes checkpoints trivially exact and the values testable.
The cycle starts at the minimum, peaks half-way and returns to the minimum at the end of each
period, so the end of every period (a multiple of ``period`` steps) is a low-learning-rate point.

The period follows the authors' step arithmetic by default (:func:`authors_period`).
"""

from __future__ import annotations

import math


def cyclic_lr(step: int, lr_min: float, lr_max: float, period: int) -> float:
    """Learning rate at ``step`` (0-based): ``lr_min + (lr_max - lr_min) * (1 - cos(2πs/P)) / 2``."""
    if period <= 0:
        raise ValueError(f"period must be positive, got {period}")
    phase = (step % period) / period
    return lr_min + (lr_max - lr_min) * (1.0 - math.cos(2.0 * math.pi * phase)) / 2.0


def authors_period(n_images: int, captions_per_image: int, batch_size: int, epochs: float) -> int:
    """The authors' cycle length in steps: ``int(n_images / batch_size) * captions_per_image * epochs``.

    Their training scripts set ``stepsize = int(len(train) / batch_size) * 5 * 4`` (Flickr8k and
    SpokenCOCO, whose sampler reads five captions per image) or ``* 4`` (Places, one), ``len(train)``
    counting images. The partial batch is left out, so a cycle is a little shorter than four epochs
    (Flickr8k: 187 * 20 = 3,740 steps, 3.99 epochs of 938) and its phase drifts against the epochs:
    at the end of epoch 32 the rate is 2.29e-6, not the minimum.
    """
    return max(1, round(int(n_images / batch_size) * captions_per_image * epochs))
