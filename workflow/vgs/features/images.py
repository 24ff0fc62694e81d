"""Image feature cache: every image of a corpus through a frozen backbone, one ``[1, dim]`` row per image.

Preprocessing is the authors': resize the shorter side to 256 with Lanczos (their PIL ``ANTIALIAS``;
torchvision's default would be bilinear), take ten 224 x 224 crops (four corners and centre, and their
mirror images), encode each and average (``crops: ten``); ``crops: centre`` encodes the centre crop
only (10x faster).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd
import torch
from PIL import Image, UnidentifiedImageError
from torchvision import transforms

from vgs.features.backbones import ImageBackbone, build_backbone
from vgs.io import PathLike, read_tsv, require_files
from vgs.progress import ProgressLog
from vgs.store import write_store

log = logging.getLogger(__name__)

CROPS = ("ten", "centre")
RESIZE, CROP = 256, 224


class ImageError(ValueError):
    """An image that cannot be decoded; the message names the file."""


def crop_transform(backbone: ImageBackbone, crops: str) -> transforms.Compose:
    """PIL image -> ``[n_crops, 3, 224, 224]`` normalised tensor."""
    if crops not in CROPS:
        raise ValueError(f"features.image.crops must be one of {CROPS}, got {crops!r}")
    to_tensor = transforms.Compose([transforms.ToTensor(), transforms.Normalize(backbone.mean, backbone.std)])
    cropper = transforms.TenCrop(CROP) if crops == "ten" else transforms.CenterCrop(CROP)
    return transforms.Compose(
        [
            transforms.Resize(RESIZE, interpolation=transforms.InterpolationMode.LANCZOS),
            cropper,
            transforms.Lambda(lambda out: torch.stack([to_tensor(c) for c in (out if crops == "ten" else [out])])),
        ]
    )


def load_image(path: str) -> Image.Image:
    """An RGB image, or :class:`ImageError` naming the file."""
    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except (OSError, UnidentifiedImageError) as error:
        raise ImageError(f"{path}: cannot decode image ({error}); re-create or re-download it") from None


def corpus_images(manifest: PathLike) -> pd.DataFrame:
    """Unique ``image_id image_path`` rows of a manifest (all splits), sorted by id."""
    frame = read_tsv(manifest, required=["image_id", "image_path"])
    paths = frame.groupby("image_id")["image_path"].unique()
    conflicting = paths[paths.map(len) > 1]
    if len(conflicting):
        raise ValueError(f"{manifest}: image ids with several paths, e.g. {dict(conflicting.head(3).map(list))}")
    return pd.DataFrame({"image_id": paths.index, "image_path": paths.map(lambda p: p[0]).to_numpy()})


def iter_image_features(
    images: pd.DataFrame, backbone: ImageBackbone, crops: str, batch_size: int, device: torch.device
) -> Iterator[tuple[str, np.ndarray]]:
    """Yield ``(image_id, [dim] features)`` batch by batch, crops averaged; progress lines in the log."""
    transform = crop_transform(backbone, crops)
    network = backbone.network.to(device)
    ids: Sequence[str] = images["image_id"].tolist()
    paths: Sequence[str] = images["image_path"].tolist()
    progress = ProgressLog(log, f"{backbone.name} features", len(ids), "img")
    for start in range(0, len(ids), batch_size):
        batch = torch.stack([transform(load_image(path)) for path in paths[start : start + batch_size]])
        n_images, n_crops = batch.shape[:2]
        with torch.inference_mode():
            features = network(batch.flatten(0, 1).to(device)).reshape(n_images, n_crops, -1).mean(1)
        yield from zip(ids[start : start + batch_size], features.float().cpu().numpy(), strict=True)
        progress.advance(n_images)


def resolve_device(name: str) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; ``cpu`` / ``cuda`` as given."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def extract_image_store(
    manifest: PathLike,
    output: PathLike,
    backbone: str = "efficientnet_lite0",
    crops: str = "ten",
    batch_size: int = 32,
    seed: int = 0,
    device: str = "auto",
) -> int:
    """Encode every image a corpus manifest names into an ArrayStore at ``output`` (kind ``image``)."""
    images = corpus_images(manifest)
    require_files(
        images["image_path"],
        f"images of {manifest}",
        "re-run the corpus's load_corpus rule "
        "after restoring the images (see its loader's error for where they come from)",
    )
    model = build_backbone(backbone, seed)
    metadata = {
        "backbone": model.name,
        "crops": crops,
        "resize": RESIZE,
        "resample": "lanczos",
        "crop": CROP,
        "mean": model.mean,
        "std": model.std,
        "manifest": str(manifest),
        **model.metadata,
    }
    if "warning" in model.metadata:
        log.warning("%s", model.metadata["warning"])
    count = write_store(
        output,
        iter_image_features(images, model, crops, batch_size, resolve_device(device)),
        dim=model.dim,
        kind="image",
        metadata=metadata,
    )
    log.info("wrote %d image features (%s, %d-d) to %s", count, model.name, model.dim, output)
    return count
