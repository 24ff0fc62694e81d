"""Image feature extraction speed (images/s) per backbone and crop scheme, decoding included.

ResNet-152 is timed with random weights (``random_resnet152``): the speed is the same as with the
ImageNet weights, which an offline machine may not have. Runs on CUDA when available, else on one CPU thread.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image

from vgs.features.backbones import build_backbone
from vgs.features.images import iter_image_features, resolve_device

NAME = "image_features"


def write_test_images(directory: Path, count: int, seed: int = 0) -> pd.DataFrame:
    """Smooth random 320 x 240 JPEGs (Flickr8k-sized images after their typical downscaling)."""
    rng = np.random.default_rng(seed)
    rows = []
    for index in range(count):
        coarse = rng.uniform(0, 255, size=(12, 16, 3)).astype(np.uint8)
        path = directory / f"img{index:04d}.jpg"
        Image.fromarray(coarse).resize((320, 240), Image.BILINEAR).save(path, quality=90)
        rows.append({"image_id": path.stem, "image_path": str(path)})
    return pd.DataFrame(rows)


def images_per_second(
    images: pd.DataFrame, backbone_name: str, crops: str, device: torch.device, budget_s: float
) -> float:
    """Encode images until all are done or ``budget_s`` seconds have passed; images per second."""
    backbone = build_backbone(backbone_name)
    batch_size = (32 if crops == "centre" else 8) if device.type == "cuda" else (8 if crops == "centre" else 2)
    list(iter_image_features(images.head(2), backbone, crops, 2, device))  # warm-up
    done, start = 0, time.perf_counter()
    for _ in iter_image_features(images, backbone, crops, batch_size, device):
        done += 1
        if done % batch_size == 0 and time.perf_counter() - start > budget_s:
            break
    if device.type == "cuda":
        torch.cuda.synchronize()
    return done / (time.perf_counter() - start)


def run(quick: bool) -> dict:
    device = resolve_device("auto")
    if device.type == "cpu":
        torch.set_num_threads(1)  # per-core figures, undisturbed by OpenMP spinning on a shared machine
    results: dict[str, object] = {"device": str(device), "torch_threads": torch.get_num_threads()}
    with tempfile.TemporaryDirectory() as tmp:
        images = write_test_images(Path(tmp), 256 if device.type == "cuda" else 64)
        for backbone_name in ("efficientnet_lite0", "random_resnet152"):
            for crops in ("centre", "ten"):
                rate = images_per_second(images, backbone_name, crops, device, budget_s=5 if quick else 30)
                results[f"{backbone_name}_{crops}_images_per_second"] = round(rate, 2)
    return results
