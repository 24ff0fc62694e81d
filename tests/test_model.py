"""The VGS model: shapes, normalisation, padding masking and batch invariance."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from vgs.model import (
    BiLSTM,
    ModelConfig,
    VGSModel,
    conv_output_lengths,
    model_config,
    reverse_valid,
)

TINY = ModelConfig(
    image_dim=12, conv_channels=8, conv_kernel=6, conv_stride=2, rnn_layers=2, rnn_hidden=10, attention_hidden=6
)


@pytest.fixture()
def model() -> VGSModel:
    torch.manual_seed(0)
    return VGSModel(TINY).eval()


def test_output_shapes_and_unit_norm(model):
    frames, lengths = torch.randn(3, 40, 39), torch.tensor([40, 31, 7])
    captions, images = model(frames, lengths, torch.randn(3, 12))
    assert captions.shape == images.shape == (3, TINY.embed_dim) == (3, 20)
    assert torch.allclose(captions.norm(dim=1), torch.ones(3), atol=1e-6)
    assert torch.allclose(images.norm(dim=1), torch.ones(3), atol=1e-6)


def test_unknown_size_is_named():
    with pytest.raises(ValueError, match="'huge' is not one of"):
        model_config({"size": "huge", "sizes": {"small": {}}}, image_dim=4)


def test_reverse_valid_reverses_only_valid_frames_and_is_an_involution():
    x = torch.arange(10, dtype=torch.float32).reshape(2, 5, 1)
    lengths = torch.tensor([5, 3])
    flipped = reverse_valid(x, lengths)
    assert flipped[:, :, 0].tolist() == [[4, 3, 2, 1, 0], [7, 6, 5, 8, 9]]
    assert torch.equal(reverse_valid(flipped, lengths), x)


def test_conv_output_lengths():
    assert conv_output_lengths(torch.tensor([6, 7, 8, 100, 2]), 6, 2).tolist() == [1, 1, 2, 48, 1]


def test_embedding_ignores_padding_content(model):
    """Whatever sits in the padded frames, the valid frames alone decide the embedding."""
    torch.manual_seed(1)
    frames, lengths = torch.randn(2, 50, 39), torch.tensor([50, 23])
    garbage = frames.clone()
    garbage[1, 23:] = 1e3
    with torch.no_grad():
        clean = model.caption_encoder(frames, lengths)
        dirty = model.caption_encoder(garbage, lengths)
    assert torch.allclose(clean, dirty, atol=1e-6)


def test_embedding_does_not_depend_on_batch(model):
    """An utterance encoded alone equals the same utterance padded inside a longer batch.

    Exact up to float rounding of batched matrix products (different batch shapes may take
    different BLAS paths), hence the 1e-5 tolerance; a stock bidirectional LSTM differs by far more.
    """
    torch.manual_seed(2)
    short = torch.randn(1, 23, 39)
    batch = torch.randn(3, 60, 39)
    batch[1, :23] = short[0]
    batch[1, 23:] = 0
    with torch.no_grad():
        alone = model.caption_encoder(short, torch.tensor([23]))
        together = model.caption_encoder(batch, torch.tensor([60, 23, 41]))
    assert torch.allclose(alone[0], together[1], atol=1e-5)


def test_a_stock_bidirectional_lstm_would_not_be_batch_invariant():
    """The reason BiLSTM exists: nn.LSTM(bidirectional) reads the padding before the frames."""
    torch.manual_seed(3)
    stock = nn.LSTM(4, 5, batch_first=True, bidirectional=True)
    ours = BiLSTM(4, 5, 1)
    ours.forward_layers[0].load_state_dict(
        {k.replace("_reverse", ""): v for k, v in stock.state_dict().items() if not k.endswith("_reverse")}
    )
    ours.backward_layers[0].load_state_dict(
        {k.replace("_reverse", ""): v for k, v in stock.state_dict().items() if k.endswith("_reverse")}
    )
    x = torch.randn(1, 7, 4)
    padded = torch.cat([x, torch.zeros(1, 5, 4)], dim=1)
    with torch.no_grad():
        reference, _ = stock(x)
        stock_padded, _ = stock(padded)
        ours_padded = ours(padded, torch.tensor([7]))
    assert torch.allclose(ours_padded[:, :7], reference, atol=1e-6)
    assert not torch.allclose(stock_padded[:, :7], reference, atol=1e-3)
