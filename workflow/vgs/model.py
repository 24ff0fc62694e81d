"""The visually grounded speech (VGS) model of Merkx, Frank & Ernestus (2021), in one file.

Two encoders map an image and a spoken caption into one space where matching pairs are close:

* image encoder: a linear projection of frozen image features (ResNet-152 / EfficientNet),
  L2-normalised;
* caption encoder: Conv1d over 39-d MFCC frames -> multi-layer bidirectional LSTM ->
  vector-valued self-attention pooling (MLP ``2H -> A -> 2H`` with tanh, softmax over time) ->
  L2-normalised embedding of size ``2H``.

Why the BiLSTM is built from unidirectional layers: utterances are right-padded to the longest in
their batch, and a stock bidirectional ``nn.LSTM`` would start its backward direction on the
padding. The authors avoid that with ``pack_padded_sequence``, which was measured 6.5x slower on
CPU. Instead the backward direction reads each sequence's *valid frames reversed in place*
(padding stays at the end), so both directions see exactly the utterance's own frames, as with
packing.

Attention pooling masks the padded positions. This departs from the authors' code, whose pooling
runs over the zero states that ``pad_packed_sequence`` puts at padded positions: there each padded
step takes a share of the softmax, so their embedding depends on how long the other utterances of
its batch are. Masking makes the embedding independent of the batch up to floating-point
rounding of batched matrix products (listed in docs/departures.md).

Initialisation: :func:`initialise_like_authors` reproduces the authors' (Xavier-uniform image
projection, orthogonal first attention layer); everything else keeps PyTorch's defaults, as theirs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from vgs.config import schema_defaults

#: The named sizes (``paper``: the authors' architecture; ``small``: the world's), written once as
#: the defaults of workflow/schemas/model.schema.yaml.
SIZES: dict[str, dict[str, int]] = schema_defaults("model.schema.yaml")["sizes"]


@dataclass(frozen=True)
class ModelConfig:
    """Sizes of the model. ``embed_dim`` is ``2 * rnn_hidden`` (forward + backward states).

    No architecture defaults here: a size comes from the configuration (``model.size`` of
    ``model.sizes``) or by name from the schema's sizes (:meth:`named`), so the paper's numbers are
    written in one place.
    """

    image_dim: int
    conv_channels: int
    conv_kernel: int
    conv_stride: int
    rnn_layers: int
    rnn_hidden: int
    attention_hidden: int
    mfcc_dim: int = SIZES["paper"]["mfcc_dim"]

    @property
    def embed_dim(self) -> int:
        return 2 * self.rnn_hidden

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)

    @classmethod
    def named(cls, size: str, image_dim: int) -> ModelConfig:
        """The schema's size ``size`` (``paper`` or ``small``) on ``image_dim``-d image features."""
        return model_config({"size": size, "sizes": SIZES}, image_dim)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> ModelConfig:
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown model size key(s) {unknown}; known: {sorted(known)}")
        return cls(**{key: int(value) for key, value in values.items()})

    def differences(self, other: ModelConfig) -> list[str]:
        """Human-readable ``field: mine != other`` lines (empty when equal)."""
        mine, theirs = self.as_dict(), other.as_dict()
        return [f"{key}: {mine[key]} != {theirs[key]}" for key in mine if mine[key] != theirs[key]]


def model_config(section: Mapping[str, Any], image_dim: int) -> ModelConfig:
    """The :class:`ModelConfig` named by the ``model:`` config section (``size`` + ``sizes``)."""
    sizes = section["sizes"]
    if section["size"] not in sizes:
        raise ValueError(f"model.size {section['size']!r} is not one of model.sizes: {sorted(sizes)}")
    return ModelConfig.from_dict({**sizes[section["size"]], "image_dim": image_dim})


def conv_output_lengths(lengths: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """Frames left after an unpadded Conv1d; at least one (inputs are padded to ``kernel``)."""
    return ((lengths - kernel) // stride + 1).clamp(min=1)


def reverse_valid(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse each sequence's first ``lengths[b]`` steps in place; padding stays where it is.

    Applying it twice is the identity, so it also maps backward-direction outputs back to time
    order.
    """
    steps = torch.arange(x.shape[1], device=x.device)
    index = lengths[:, None] - 1 - steps[None, :]
    index = torch.where(index >= 0, index, steps[None, :])
    return x.gather(1, index[:, :, None].expand(-1, -1, x.shape[2]))


def run_lstm(lstm: nn.LSTM, x: torch.Tensor) -> torch.Tensor:
    """The LSTM's outputs, in fp32 under a CUDA autocast to anything but fp16.

    PyTorch's autocast wrapper for cuDNN RNNs casts to fp16 whatever dtype autocast was asked for
    (measured on the H200: under bf16 autocast the LSTM returned fp16, without the gradient
    scaling that fp16 needs, and the loss after 20 steps was 22 % off fp32). So under bf16 the
    LSTM runs outside autocast in fp32; the convolution, attention and projection stay in bf16.
    """
    if x.is_cuda and lstm_leaves_autocast(torch.is_autocast_enabled("cuda"), torch.get_autocast_dtype("cuda")):
        with torch.autocast("cuda", enabled=False):
            return lstm(x.float())[0]
    return lstm(x)[0]


def lstm_leaves_autocast(autocast_enabled: bool, autocast_dtype: torch.dtype) -> bool:
    """Whether a CUDA LSTM must run outside autocast (see :func:`run_lstm`)."""
    return autocast_enabled and autocast_dtype != torch.float16


class BiLSTM(nn.Module):
    """Stacked bidirectional LSTM whose backward direction never reads padding."""

    def __init__(self, input_size: int, hidden: int, layers: int):
        super().__init__()
        sizes = [input_size] + [2 * hidden] * (layers - 1)
        self.forward_layers = nn.ModuleList(nn.LSTM(size, hidden, batch_first=True) for size in sizes)
        self.backward_layers = nn.ModuleList(nn.LSTM(size, hidden, batch_first=True) for size in sizes)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        for ahead_lstm, behind_lstm in zip(self.forward_layers, self.backward_layers, strict=True):
            ahead = run_lstm(ahead_lstm, x)
            behind = run_lstm(behind_lstm, reverse_valid(x, lengths))
            x = torch.cat([ahead, reverse_valid(behind, lengths)], dim=-1)
        return x


class AttentionPooling(nn.Module):
    """Vector-valued self-attention over time: one softmax per feature, padding masked out."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.score = nn.Sequential(nn.Linear(dim, hidden), nn.Tanh(), nn.Linear(hidden, dim))

    def forward(self, states: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        logits = self.score(states).masked_fill(~valid[:, :, None], float("-inf"))
        return (logits.softmax(dim=1) * states).sum(dim=1)


class CaptionEncoder(nn.Module):
    """MFCC frames ``[B, T, 39]`` + lengths ``[B]`` -> L2-normalised embeddings ``[B, 2H]``."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.kernel, self.stride = config.conv_kernel, config.conv_stride
        self.conv = nn.Conv1d(config.mfcc_dim, config.conv_channels, config.conv_kernel, config.conv_stride)
        self.rnn = BiLSTM(config.conv_channels, config.rnn_hidden, config.rnn_layers)
        self.pool = AttentionPooling(config.embed_dim, config.attention_hidden)

    def forward(self, frames: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        if frames.shape[1] < self.kernel:
            frames = F.pad(frames, (0, 0, 0, self.kernel - frames.shape[1]))
        steps = conv_output_lengths(lengths, self.kernel, self.stride)
        x = self.conv(frames.transpose(1, 2)).transpose(1, 2)
        valid = torch.arange(x.shape[1], device=x.device)[None, :] < steps[:, None]
        states = self.rnn(x, steps)
        return F.normalize(self.pool(states, valid).float(), dim=-1)


class ImageEncoder(nn.Module):
    """Frozen image features ``[B, D]`` -> L2-normalised embeddings ``[B, 2H]``."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.project = nn.Linear(config.image_dim, config.embed_dim)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.project(features).float(), dim=-1)


def initialise_like_authors(model: VGSModel) -> None:
    """The authors' initialisation: Xavier-uniform weights of the image projection and orthogonal
    weights of the attention MLP's first layer (their code re-initialises that layer twice and
    leaves the second one at PyTorch's default, and so does this)."""
    nn.init.xavier_uniform_(model.image_encoder.project.weight)
    nn.init.orthogonal_(model.caption_encoder.pool.score[0].weight)


class VGSModel(nn.Module):
    """Both encoders; ``forward`` returns ``(caption_embeddings, image_embeddings)``."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.image_encoder = ImageEncoder(config)
        self.caption_encoder = CaptionEncoder(config)

    def forward(
        self, frames: torch.Tensor, lengths: torch.Tensor, images: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return self.caption_encoder(frames, lengths), self.image_encoder(images)
