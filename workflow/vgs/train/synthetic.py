"""Synthetic caption sets for tests and benchmarks: learnable, seeded, sized like real captions.

Why: the training loop, resume and the speed of batching strategies must be checked without
waiting for the world's speech and features. Each image has a random 39-d "word" template; its
captions are noise frames with that template added over a random stretch, and the image's
feature vector is a fixed random linear map of the template, so a model can learn to retrieve the
image from the caption (retrieval far above chance is a real signal that the loop learns).
Lengths follow a log-normal distribution like spoken captions (Flickr8k's ~4 s at 100 frames/s by
default; the world's are 1.5-3 s).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from vgs.io import PathLike, write_tsv
from vgs.store import write_store


def caption_lengths(
    count: int, rng: np.random.Generator, median_frames: float = 430, sigma: float = 0.35
) -> np.ndarray:
    """Log-normal caption lengths in frames (at least 20)."""
    return np.maximum(20, rng.lognormal(np.log(median_frames), sigma, size=count)).astype(np.int64)


def synthetic_corpus(
    directory: PathLike,
    images: Mapping[str, int] | None = None,
    captions_per_image: int = 2,
    image_dim: int = 16,
    median_frames: float = 60,
    seed: int = 0,
) -> dict[str, object]:
    """Write manifest.tsv, mfcc.h5 and images.h5 under ``directory``; return their paths.

    ``images`` maps split -> number of images (default train 24, dev 8, test 8).
    """
    root = Path(directory)
    rng = np.random.default_rng(seed)
    counts = dict(images or {"train": 24, "dev": 8, "test": 8})
    mixing = rng.normal(size=(39, image_dim)) / np.sqrt(39)
    rows, frames, features = [], [], []
    for split, count in counts.items():
        for image in range(count):
            image_id = f"{split}-img{image:03d}"
            template = rng.normal(size=39) * 2.0
            features.append((image_id, (template @ mixing).astype(np.float32)))
            for caption, length in enumerate(caption_lengths(captions_per_image, rng, median_frames)):
                utt_id = f"{image_id}-cap{caption}"
                noise = rng.normal(size=(length, 39)).astype(np.float32)
                start = rng.integers(0, length // 2)
                noise[start : start + length // 3] += template.astype(np.float32)
                frames.append((utt_id, noise))
                rows.append(
                    {
                        "utt_id": utt_id,
                        "image_id": image_id,
                        "image_path": f"{image_id}.png",
                        "wav_path": f"{utt_id}.wav",
                        "text": f"caption {caption} of {image_id}",
                        "speaker": "synthetic",
                        "split": split,
                    }
                )
    paths = {"manifest": root / "manifest.tsv", "mfcc": root / "mfcc.h5", "images": root / "images.h5"}
    write_tsv(paths["manifest"], pd.DataFrame(rows))
    write_store(paths["mfcc"], frames, 39, "mfcc")
    write_store(paths["images"], features, image_dim, "image")
    return paths


def random_frames(lengths: Sequence[int], rng: np.random.Generator) -> list[np.ndarray]:
    """Noise MFCC arrays of the given lengths (for speed measurements)."""
    return [rng.normal(size=(int(n), 39)).astype(np.float32) for n in lengths]
