"""Losses over a batch of matching (caption, image) embedding pairs, and retrieval recall.

Both losses treat every other item of the batch as a negative, in both directions (caption as
anchor against other images, image as anchor against other captions). Batches never hold two
captions of one image (see :mod:`vgs.train.batching`), so no negative is a hidden positive.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F


def hinge_loss(captions: torch.Tensor, images: torch.Tensor, margin: float = 0.2) -> torch.Tensor:
    """Symmetric in-batch hinge loss over cosine similarities (inputs are L2-normalised).

    For the similarity matrix ``S[i, j] = <caption_i, image_j>`` each negative pair ``i != j``
    costs ``max(0, margin - S[i, i] + S[i, j]) + max(0, margin - S[j, j] + S[i, j])``. As in the
    authors' ``batch_hinge_loss`` the cost matrix has a zero diagonal and the loss is its mean over
    all ``B * B`` cells: the sum over the ``B (B - 1)`` negative pairs divided by ``B**2``.
    """
    sims = captions.float() @ images.float().T
    positive = sims.diagonal()
    caption_anchor = (margin - positive[:, None] + sims).clamp(min=0)
    image_anchor = (margin - positive[None, :] + sims).clamp(min=0)
    negatives = ~torch.eye(len(sims), dtype=torch.bool, device=sims.device)
    return (caption_anchor + image_anchor)[negatives].sum() / sims.numel()


def infonce_loss(captions: torch.Tensor, images: torch.Tensor, temperature: float = 0.07) -> torch.Tensor:
    """Symmetric InfoNCE (CLIP-style cross-entropy over the similarity matrix)."""
    logits = captions.float() @ images.float().T / temperature
    target = torch.arange(len(logits), device=logits.device)
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2


def batch_loss(
    name: str, captions: torch.Tensor, images: torch.Tensor, margin: float, temperature: float
) -> torch.Tensor:
    """The configured loss (``hinge`` or ``infonce``)."""
    if name == "hinge":
        return hinge_loss(captions, images, margin)
    if name == "infonce":
        return infonce_loss(captions, images, temperature)
    raise ValueError(f"unknown loss {name!r}; use 'hinge' or 'infonce'")


def recall_at_k(
    captions: torch.Tensor, images: torch.Tensor, targets: torch.Tensor, ks: Sequence[int] = (1, 5, 10)
) -> dict[int, float]:
    """Caption -> image recall: fraction of captions whose image ranks in the top ``k``.

    ``targets[i]`` is the row of ``images`` that caption ``i`` describes. Ties count against the
    caption (an image scoring equal to the target ranks above it), so recall is never inflated.
    """
    sims = captions.float() @ images.float().T
    correct = sims.gather(1, targets[:, None])
    rank = (sims >= correct).sum(dim=1) - 1
    return {k: float((rank < k).float().mean()) for k in ks}
