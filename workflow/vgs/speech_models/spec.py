"""What the workflow needs to know of a configured encoder before any job runs: the layers it
reads, checked against the checkpoint's config.json, and the checkpoint's sampling rate.

Why at planning time: every layer read is an evaluated system with its own output files, so the
DAG needs the layer list, and an out-of-range layer or a 24 kHz model should stop the run before
hours of synthesis and training, not in the encoding job. Only the two small JSON files of the
checkpoint are read (local directory, the Hugging Face cache, or the hub when online), without
importing torch or transformers, so planning stays fast.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

HF = "hf"
RANDOM_TINY = "hf-random-tiny"
RANDOM_LABEL = "random weights, untrained"
# wav2vec2-style encoders: a strided CNN over the waveform, then a transformer (one output API).
SAMPLE_RATE = 16_000
MODEL_TYPES = ("wav2vec2", "hubert", "wavlm", "data2vec-audio", "unispeech", "unispeech-sat", "wav2vec2-conformer")
TINY_LAYERS = 2  # transformer layers of the random tiny model (hidden states 0..2)


class SpeechModelConfigError(ValueError):
    """A configured speech model that cannot be planned; one line naming ``speech_models.<name>``."""


def checkpoint_json(source: str, filename: str, where: str) -> dict[str, Any]:
    """``filename`` of a local checkpoint directory or, for a hub id, from the cache or the hub."""
    local = Path(source)
    if local.is_dir():
        path = local / filename
        if not path.is_file():
            raise SpeechModelConfigError(
                f"{where}: {path} is missing; a local checkpoint directory needs config.json, the weights "
                "and preprocessor_config.json (as `hf download <id> --local-dir DIR` writes them)"
            )
    else:
        from huggingface_hub import hf_hub_download  # only for hub ids

        try:
            path = Path(hf_hub_download(source, filename))
        except Exception as error:  # noqa: BLE001 - offline, unknown id, gated: all end here
            raise SpeechModelConfigError(
                f"{where}: {source!r} is neither a local directory nor readable from the Hugging Face cache "
                f"or hub ({type(error).__name__}). Offline, download it where there is network "
                f"(`hf download {source} --local-dir DIR`), copy DIR here and set {where}: DIR"
            ) from None
    return json.loads(path.read_text(encoding="utf-8"))


def model_layers(name: str, spec: Mapping[str, Any]) -> int:
    """Number of transformer layers of the encoder (its hidden states are 0..that number), after
    checking its model type and sampling rate."""
    if spec["kind"] == RANDOM_TINY:
        return TINY_LAYERS
    where = f"speech_models.{name}.model"
    if "model" not in spec:
        raise SpeechModelConfigError(f"config error at {where}: kind {HF!r} needs a hub id or local directory")
    config = checkpoint_json(spec["model"], "config.json", where)
    rate = checkpoint_json(spec["model"], "preprocessor_config.json", where).get("sampling_rate")
    check_checkpoint(config.get("model_type"), rate, spec["model"], where)
    return int(config["num_hidden_layers"])


def check_checkpoint(model_type: str | None, sampling_rate: int | None, source: str, where: str) -> None:
    """Stop on a model type the encoder code cannot read, or a sampling rate other than 16 kHz
    (the SpokenSTS WAVs are read at 16 kHz; resampling them for one encoder would make its numbers
    incomparable with the others')."""
    if model_type not in MODEL_TYPES:
        raise SpeechModelConfigError(
            f"{where}: {source!r} is a {model_type!r} model; speech models of type {list(MODEL_TYPES)} are supported"
        )
    if sampling_rate != SAMPLE_RATE:
        raise SpeechModelConfigError(
            f"{where}: {source!r} expects audio at {sampling_rate} Hz (its preprocessor_config.json); "
            f"SpokenSTS is encoded at {SAMPLE_RATE} Hz, so use a 16 kHz model"
        )


def speech_model_layers(name: str, spec: Mapping[str, Any]) -> list[int]:
    """The hidden-state indices read from encoder ``name``: all of them, or the configured list
    (each within 0..number of layers)."""
    if spec["kind"] == RANDOM_TINY and "model" in spec:
        raise SpeechModelConfigError(
            f"config error at speech_models.{name}.model: kind {RANDOM_TINY!r} builds its own random model; "
            f"use kind {HF!r} for a checkpoint"
        )
    count = model_layers(name, spec)
    if spec["layers"] == "all":
        return list(range(count + 1))
    layers = sorted(spec["layers"])
    bad = [layer for layer in layers if layer > count]
    if bad:
        raise SpeechModelConfigError(
            f"config error at speech_models.{name}.layers: layer {bad[0]} is out of range; the model has {count} "
            f"transformer layers, so layers 0..{count} can be read"
        )
    return layers


def speech_model_description(spec: Mapping[str, Any]) -> str:
    """What tables and figures show in the ``corpus`` column: the checkpoint, or that it is random."""
    if spec["kind"] == RANDOM_TINY:
        return f"{RANDOM_LABEL}, tiny {spec['architecture']}"
    return str(spec["model"])
