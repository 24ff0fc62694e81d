"""Hugging Face speech models (wav2vec 2.0, HuBERT, WavLM, ...): loading, the random tiny model,
and pooled hidden states of a batch of waveforms.

Why this module imports only torch, numpy and transformers: the encoder benchmark
(``python -m vgs_ops.bench.speech_models``) runs it on GPU machines that lack the workflow's audio stack.

Layer numbering is transformers' ``output_hidden_states``: index 0 is the transformer's input (the
projected CNN features plus the convolutional position embedding), index i the output of
transformer layer i, so a 12-layer base model has layers 0..12.

Padding: models whose CNN feature extractor starts with group normalisation
(``feat_extract_norm == "group"``: wav2vec2-base, hubert-base, the base WavLMs) normalise each
channel over the whole padded input, so zero padding changes every frame; transformers documents
that such models must not be given an attention mask. Their utterances are therefore encoded one
at a time, unpadded. Models with layer normalisation (the large checkpoints) are batched with an
attention mask: the convolutions of valid frames see only valid samples, the encoder zeroes padded
frames before its position convolution (as the conv's own zero padding does for a lone utterance)
and attention ignores padded keys, so an utterance's hidden states do not depend on its
batch-mates (tested against unpadded single-utterance outputs).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from transformers import AutoConfig, AutoFeatureExtractor, AutoModel, PreTrainedModel

from vgs.speech_models.spec import SAMPLE_RATE, TINY_LAYERS, SpeechModelConfigError, check_checkpoint

ARCHITECTURES = ("wav2vec2", "hubert", "wavlm")


class SpeechModelError(SpeechModelConfigError):
    """A speech model that cannot be used; the message names it and says what to do."""


def tiny_config(architecture: str) -> object:
    """A transformers configuration of a tiny model (2 layers of width 32) with the real models'
    CNN strides (one frame per 20 ms) and layer normalisation, so it can be batched."""
    if architecture not in ARCHITECTURES:
        raise SpeechModelError(f"unknown architecture {architecture!r}; use one of {list(ARCHITECTURES)}")
    return AutoConfig.for_model(
        architecture,
        hidden_size=32, num_hidden_layers=TINY_LAYERS, num_attention_heads=2, intermediate_size=64,
        conv_dim=(32,) * 7, conv_kernel=(10, 3, 3, 3, 3, 2, 2), conv_stride=(5, 2, 2, 2, 2, 2, 2),
        num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4,
        feat_extract_norm="layer", do_stable_layer_norm=True, vocab_size=32,
    )  # fmt: skip


def feature_extractor() -> object:
    """The wav2vec2-style feature extractor of the random models: 16 kHz, per-utterance
    normalisation (as the large checkpoints), attention masks."""
    from transformers import Wav2Vec2FeatureExtractor

    return Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=SAMPLE_RATE, padding_value=0.0, do_normalize=True,
                                    return_attention_mask=True)  # fmt: skip


def save_random_model(directory: str | Path, config: object, seed: int) -> Path:
    """Initialise a model of ``config`` with ``seed`` and save it with its feature extractor, in the
    layout of a downloaded checkpoint, so it loads through exactly the path a real one takes."""
    torch.manual_seed(seed)
    model = AutoModel.from_config(config)
    directory = Path(directory)
    model.save_pretrained(directory)
    feature_extractor().save_pretrained(directory)
    return directory


def load_speech_model(source: str, name: str = "") -> tuple[PreTrainedModel, object]:
    """Model (eval mode) and feature extractor of ``source``: a local directory or a hub id.

    A hub id that is neither cached nor downloadable stops with how to point at a local copy; a
    model type or sampling rate that :func:`vgs.speech_models.spec.check_checkpoint` refuses stops too
    (checked again here: a hub id's cached files may have changed since planning)."""
    where = f"speech_models.{name}.model" if name else "the encoder"
    try:
        extractor = AutoFeatureExtractor.from_pretrained(source)
        model = AutoModel.from_pretrained(source)
    except OSError as error:
        raise SpeechModelError(
            f"{where}: cannot load {source!r} ({str(error).splitlines()[0]}). Offline, download it "
            f"where there is network (`hf download {source} --local-dir DIR`), copy DIR here and set "
            f"{where}: DIR (a directory with config.json, the weights and preprocessor_config.json)"
        ) from None
    check_checkpoint(model.config.model_type, getattr(extractor, "sampling_rate", None), source, where)
    return model.eval(), extractor


def padding_safe(model: PreTrainedModel) -> bool:
    """Whether padded batches give each utterance its unpadded hidden states (see module docstring)."""
    return getattr(model.config, "feat_extract_norm", "group") == "layer"


@torch.no_grad()
def pooled_layers(
    model: PreTrainedModel,
    extractor: object,
    waves: Sequence[np.ndarray],
    layers: Sequence[int],
    device: torch.device | str = "cpu",
) -> np.ndarray:
    """Mean over valid frames of the hidden states ``layers`` of each waveform: ``[B, len(layers), D]``.

    The feature extractor normalises each waveform over its own samples (if the checkpoint asks
    for it) and pads; the attention mask is passed only to padding-safe models and only when the
    batch is padded (a single utterance is never padded)."""
    inputs = extractor(
        [np.asarray(wave, dtype=np.float32) for wave in waves], sampling_rate=SAMPLE_RATE,
        padding=True, return_attention_mask=True, return_tensors="pt",
    )  # fmt: skip
    values = inputs["input_values"].to(device)
    mask = inputs["attention_mask"].to(device)
    if len(waves) > 1 and not padding_safe(model):
        raise SpeechModelError(
            "this model normalises over the padded input (feat_extract_norm 'group'); encode one utterance at a time"
        )
    output = model(values, attention_mask=mask if len(waves) > 1 else None, output_hidden_states=True)
    frames = model._get_feat_extract_output_lengths(mask.sum(-1)).long()
    steps = output.hidden_states[0].shape[1]
    valid = (torch.arange(steps, device=values.device)[None, :] < frames[:, None]).to(values.dtype)
    stacked = torch.stack([output.hidden_states[layer] for layer in layers], dim=1)  # [B, L, T, D]
    pooled = (stacked * valid[:, None, :, None]).sum(dim=2) / frames[:, None, None].to(values.dtype)
    return pooled.float().cpu().numpy()


def length_batches(lengths: Sequence[int], batch_samples: int, batched: bool) -> list[list[int]]:
    """Indices grouped into batches of similar length (longest first, so an out-of-memory batch
    shows at once) whose padded size stays within ``batch_samples``; single utterances when not
    ``batched``."""
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    if not batched:
        return [[i] for i in order]
    batches: list[list[int]] = []
    for index in order:
        # Sorted longest first, so the batch's first utterance fixes its padded length.
        if batches and lengths[batches[-1][0]] * (len(batches[-1]) + 1) <= batch_samples:
            batches[-1].append(index)
        else:
            batches.append([index])
    return batches
