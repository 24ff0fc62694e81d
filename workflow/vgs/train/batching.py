"""Which captions go into which batch, and how a batch of MFCC arrays becomes one tensor.

An epoch visits every caption exactly once, organised as the authors did: in pass ``p`` every
image contributes its ``p``-th caption (captions of an image are shuffled each epoch), so a
corpus with five captions per image is five passes over its images, and no batch ever holds two
captions of the same image (which would turn a positive into a "negative").

Why bucketing: a batch is padded to its longest utterance, and on CPU the LSTM's cost is
proportional to the padded length. Sorting each pass by (slightly jittered) length before cutting
it into batches keeps padding small; the jitter and the shuffled batch order keep batches
different from epoch to epoch. Bucketing is a speed option: the default ``bucket=False`` gives the
authors' random batches, and in a length-homogeneous batch the loss sees different negatives (its
effect on results is measured in docs/study.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch


def caption_passes(image_ids: Sequence[str], rng: np.random.Generator) -> list[np.ndarray]:
    """Caption indices per pass: pass ``p`` holds the ``p``-th caption (random order) of each image."""
    count = len(image_ids)
    _, codes = np.unique(np.asarray(image_ids, dtype=object), return_inverse=True)
    shuffled = rng.permutation(count)
    order = shuffled[np.argsort(codes[shuffled], kind="stable")]
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    group_start = np.repeat(starts, np.diff(np.r_[starts, count]))
    rank = np.empty(count, dtype=np.int64)
    rank[order] = np.arange(count) - group_start
    return [np.flatnonzero(rank == p) for p in range(int(rank.max()) + 1)] if count else []


def epoch_batches(
    image_ids: Sequence[str],
    lengths: np.ndarray,
    batch_size: int,
    rng: np.random.Generator,
    bucket: bool = False,
    jitter: float = 0.05,
) -> list[np.ndarray]:
    """Batches (arrays of caption indices) covering every caption exactly once, in random order.

    Each pass is cut into ``ceil(n / batch_size)`` near-equal batches, sorted by length times a
    random factor in ``[1 - jitter, 1 + jitter]`` when ``bucket`` is set, shuffled otherwise (the
    authors' random batches, the default).
    """
    lengths = np.asarray(lengths)
    batches: list[np.ndarray] = []
    for members in caption_passes(image_ids, rng):
        if bucket:
            keys = lengths[members] * rng.uniform(1.0 - jitter, 1.0 + jitter, size=len(members))
            members = members[np.argsort(keys, kind="stable")]
        else:
            members = rng.permutation(members)
        batches.extend(np.array_split(members, -(-len(members) // batch_size)))
    return [batches[i] for i in rng.permutation(len(batches))]


def length_sorted_batches(lengths: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Deterministic batches of similar length (for encoding and evaluation, no image constraint)."""
    order = np.argsort(np.asarray(lengths), kind="stable")
    return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]


def pad_batch(arrays: Sequence[np.ndarray], max_frames: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad ``[frames, dim]`` arrays (truncated to ``max_frames``) into ``[B, T, dim]`` + lengths."""
    clipped = [array[:max_frames] for array in arrays]
    lengths = torch.tensor([len(array) for array in clipped], dtype=torch.long)
    frames = torch.zeros(len(clipped), int(lengths.max()), clipped[0].shape[1], dtype=torch.float32)
    for row, array in enumerate(clipped):
        frames[row, : len(array)] = torch.from_numpy(np.ascontiguousarray(array))
    return frames, lengths
