"""Embed the SpokenSTS utterance sets (six voices + the natural sample) with an external speech
encoder: one store per layer read and utterance set, ``<out_dir>/layer<L>/<set>.h5``, holding the
mean-pooled hidden state of each utterance (``[1, D]`` per utt_id, as the trained models' stores,
but not L2-normalised: the evaluation normalises every embedding before averaging over voices).

Cost at the paper's size: the 122,388 synthetic utterances (20,398 distinct sentences x 6 voices)
and the natural sample (638 pairs x 2 sides x 4 speakers) are read once per encoder; one forward
pass gives every layer. Memory holds one utterance set's pooled vectors for
all layers read (20,398 utterances x 13 layers x 768 x 4 B = 0.8 GB for a base model, 2 GB for a
large one with 25 layers of 1024) plus one batch of audio; disk is 3 KB per utterance and layer
at D = 768 (4.9 GB for a base model's 13 layers). Throughput is measured in docs/speech-models.md
("External speech models").
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from vgs import layout
from vgs.features.audio import read_audio
from vgs.io import PathLike, read_tsv
from vgs.speech_models.hf import SAMPLE_RATE, length_batches, load_speech_model, padding_safe, pooled_layers
from vgs.store import write_store
from vgs.train.device import select_runtime

log = logging.getLogger(__name__)


def layer_store(out_dir: PathLike, layer: int, uttset: str) -> Path:
    """Store of one layer's embeddings of one utterance set (``voice`` or ``natural``)."""
    return Path(out_dir) / layout.fill(layout.SPEECH_MODEL_LAYER_STORE, layer=layer, name=uttset)


def embed_manifest(
    model: object, extractor: object, manifest: PathLike, layers: Sequence[int], batch_seconds: float, device: object
) -> tuple[list[str], np.ndarray]:
    """Utterance ids (de-duplicated) of ``manifest`` and their pooled layers ``[N, len(layers), D]``.

    Utterances are sorted by the manifest's ``duration`` so batches pad little; audio is read one
    batch at a time, so memory holds one batch of waveforms."""
    frame = read_tsv(manifest, required=("utt_id", "wav_path", "duration")).drop_duplicates("utt_id")
    durations = np.asarray(frame["duration"].astype(float))
    samples = [max(1, int(round(seconds * SAMPLE_RATE))) for seconds in durations]
    batches = length_batches(samples, int(batch_seconds * SAMPLE_RATE), padding_safe(model))
    ids, paths = list(frame["utt_id"]), list(frame["wav_path"])
    pooled: np.ndarray | None = None
    start = time.perf_counter()
    for number, batch in enumerate(batches, 1):
        waves = [read_audio(paths[i]).numpy() for i in batch]
        vectors = pooled_layers(model, extractor, waves, layers, device)
        if pooled is None:
            pooled = np.empty((len(ids), len(layers), vectors.shape[-1]), dtype=np.float32)
        pooled[batch] = vectors
        if number % 200 == 0 or number == len(batches):
            done = sum(len(b) for b in batches[:number])
            log.info("%s: %d/%d utterances, %.1f utterances/s", manifest, done, len(ids),
                     done / (time.perf_counter() - start))  # fmt: skip
    if pooled is None:
        raise ValueError(f"{manifest}: no utterances to encode")
    return ids, pooled


def embed_sts_with_speech_model(
    name: str,
    source: str,
    layers: Sequence[int],
    manifests: Sequence[PathLike],
    uttsets: Sequence[str],
    out_dir: PathLike,
    batch_seconds: float = 120.0,
    device: str = "auto",
    description: str = "",
) -> None:
    """Write ``<out_dir>/layer<L>/<uttset>.h5`` for every layer read and utterance set, from one
    model load. ``uttsets`` names the manifests (voice names and ``natural``)."""
    model, extractor = load_speech_model(source, name)
    runtime = select_runtime(device, "fp32")
    model.to(runtime.device)
    log.info(
        "encoder %s (%s): layers %s, %s",
        name,
        description or source,
        list(layers),
        "batched with attention masks" if padding_safe(model) else "one utterance at a time (group norm)",
    )
    for manifest, uttset in zip(manifests, uttsets, strict=True):
        ids, pooled = embed_manifest(model, extractor, manifest, layers, batch_seconds, runtime.device)
        for position, layer in enumerate(layers):
            write_store(
                layer_store(out_dir, layer, uttset),
                zip(ids, pooled[:, position], strict=True),
                dim=pooled.shape[-1],
                kind="embedding",
                metadata={"speech_model": name, "source": description or source, "layer": layer, "pooling": "mean"},
            )
