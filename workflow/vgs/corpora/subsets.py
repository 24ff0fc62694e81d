"""Captions-per-image subsets: the same number of training captions spread over fewer or more images.

The paper trains on 30,000 SpokenCOCO captions as 6,000 images x 5, 7,500 x 4, 10,000 x 3, 15,000 x 2
and 30,000 x 1. To compare the k values fairly the subsets are nested: one seeded ranking of the
training images and one seeded ranking of each image's captions serve every k; the k-subset takes the
first ``total / k`` images with their first ``k`` captions. A smaller-k subset then contains all
images of every larger-k subset and, of those, the first captions, so two subsets share
``(total / k_large) * k_small`` captions, the most any pair of such subsets can share.

Images with fewer captions than the largest k are ranked after those with more (by caption count,
then the seeded order), so the images that can serve a given k always form a prefix of the ranking
and nesting holds even when caption counts vary.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from vgs.corpora.manifest import MANIFEST_COLUMNS, write_manifest
from vgs.io import PathLike, read_tsv


class SubsetError(ValueError):
    """The requested subset cannot be drawn from the corpus; the message says which config key to change."""


def rank_training_captions(manifest: pd.DataFrame, max_k: int, seed: int) -> pd.DataFrame:
    """Training rows with ``image_rank`` and ``caption_rank`` columns (the shared nested order)."""
    train = manifest[manifest["split"] == "train"].sort_values("utt_id", kind="stable").reset_index(drop=True)
    rng = np.random.default_rng(seed)
    images = np.sort(train["image_id"].unique())
    counts = train.groupby("image_id").size().reindex(images).to_numpy()
    order = np.lexsort((rng.permutation(len(images)), -np.minimum(counts, max_k)))
    image_rank = pd.Series(np.empty(len(images), dtype=np.int64), index=images)
    image_rank.iloc[order] = np.arange(len(images))
    ranked = train.assign(image_rank=train["image_id"].map(image_rank).to_numpy(), _key=rng.random(len(train)))
    ranked["caption_rank"] = ranked.groupby("image_id")["_key"].rank(method="first").astype(np.int64) - 1
    return ranked.drop(columns="_key")


def select_subset(
    ranked: pd.DataFrame, k: int, total: int, total_key: str = "subsets.total", k_key: str = "subsets.k"
) -> pd.DataFrame:
    """The k-captions-per-image subset of ``total`` captions from :func:`rank_training_captions` output.

    ``total_key`` and ``k_key`` are the config keys that asked for ``total`` and ``k``; an error
    names the changes of them that make the subset drawable (a lower total helps only when some
    image has k captions).
    """
    if total % k:
        raise SubsetError(f"{total_key}: {total} is not divisible by k = {k}")
    n_images = total // k
    counts = ranked.groupby("image_id").size()
    eligible = int((counts >= k).sum())
    if eligible < n_images:
        needs = f"k = {k} needs {n_images} training images with at least {k} captions; the corpus has"
        if eligible:
            raise SubsetError(
                f"{needs} {eligible}: lower {total_key} to at most {eligible * k}, or drop k = {k} from {k_key}"
            )
        most = int(counts.max()) if len(counts) else 0
        raise SubsetError(
            f"{needs} none (its training images have at most {most} captions each), so no total can be drawn "
            f"at this k: drop k = {k} from {k_key}, or load the corpus with more captions per image"
        )
    chosen = ranked[(ranked["image_rank"] < n_images) & (ranked["caption_rank"] < k)]
    return chosen.sort_values(["image_rank", "caption_rank"], kind="stable")


def make_subsets(
    manifest: pd.DataFrame,
    ks: Sequence[int],
    total: int,
    seed: int,
    max_k: int | None = None,
    total_key: str = "subsets.total",
    k_key: str = "subsets.k",
) -> dict[int, pd.DataFrame]:
    """The requested subsets: train rows of each followed by the source's dev and test rows.

    ``max_k`` (default ``max(ks)``) fixes the ranking; pass the largest configured k when drawing
    subsets one at a time so that they nest with each other.
    """
    ranked = rank_training_captions(manifest, max_k or max(ks), seed)
    held_out = manifest[manifest["split"] != "train"]
    return {
        k: pd.concat([select_subset(ranked, k, total, total_key, k_key)[MANIFEST_COLUMNS], held_out], ignore_index=True)
        for k in ks
    }


def make_subset(
    source: PathLike,
    output: PathLike,
    k: int,
    ks: Sequence[int],
    total: int,
    seed: int,
    total_key: str = "subsets.total",
    k_key: str = "subsets.k",
) -> pd.DataFrame:
    """Write the k-subset of the manifest at ``source``; ``ks`` (all configured k) fixes the ranking."""
    if k not in ks:
        raise SubsetError(
            f"k = {k} is not among the configured k {list(ks)}; add it there so all subsets share one ranking"
        )
    manifest = read_tsv(source, required=MANIFEST_COLUMNS)
    subset = make_subsets(manifest, [k], total, seed, max_k=max(ks), total_key=total_key, k_key=k_key)[k]
    write_manifest(output, subset)
    return subset
