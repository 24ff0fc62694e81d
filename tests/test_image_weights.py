"""ResNet-152 with the ImageNet weights the paper's image features use: an opt-in check.

Why opt-in: the weights (torchvision's resnet152-394f9c45.pth, 230 MB) cannot be downloaded on the
offline machines CI runs on, so this file is collected only when ``VGS_IMAGENET_WEIGHTS`` is set
(tests/conftest.py, ``OPT_IN_CHECKS``; pytest's header names it as NOT RUN otherwise). The ten-crop
path itself runs in CI with random weights against torchvision's own model
(test_features_images.py); this check adds only that the cached weights load into it.
"""

from __future__ import annotations

from pathlib import Path

from test_features_images import image_manifest
from vgs.features.backbones import resnet152_weights_path
from vgs.features.images import extract_image_store
from vgs.store import ArrayStore


def test_resnet152_with_cached_weights(tmp_path: Path) -> None:
    assert resnet152_weights_path().is_file(), f"VGS_IMAGENET_WEIGHTS is set but {resnet152_weights_path()} is missing"
    manifest = image_manifest(tmp_path, 2)
    extract_image_store(manifest, tmp_path / "r.h5", "resnet152", crops="centre", device="cpu")
    store = ArrayStore(tmp_path / "r.h5")
    assert store.dim == 2048 and store.metadata["pretrained"] == "imagenet"
