"""Embedding tables: utterances (any manifest) and images, encoded with a trained model.

Utterances are encoded in batches of similar length (little padding); because the model masks
padding, an utterance's embedding does not depend on its batch. Outputs are ``ArrayStore`` files
of kind ``embedding`` holding one L2-normalised ``[1, D]`` row per id.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import torch

from vgs.config import schema_defaults
from vgs.identity import RunId
from vgs.io import PathLike, read_tsv
from vgs.model import VGSModel
from vgs.progress import ProgressLog
from vgs.store import ArrayStore, StoreRows, write_store
from vgs.train.batching import length_sorted_batches, pad_batch
from vgs.train.checkpoint import load_run_checkpoint, model_from_checkpoint
from vgs.train.device import Runtime, select_runtime

log = logging.getLogger(__name__)

#: Encoding's defaults are training's (train.schema.yaml: eval_batch_size, max_frames, device, precision).
TRAIN_DEFAULTS = schema_defaults("train.schema.yaml")


@torch.no_grad()
def embed_frames(
    model: VGSModel,
    arrays: Sequence[np.ndarray],
    batch_size: int,
    max_frames: int,
    runtime: Runtime,
    progress: str = "",
    lengths: np.ndarray | None = None,
) -> torch.Tensor:
    """Caption embeddings ``[N, D]`` (float32, CPU) of MFCC arrays, in input order.

    ``arrays`` may be lazy (:meth:`ArrayStore.arrays`): each array is then read when its batch is
    padded, and ``lengths`` (frames per array) plans the batches without reading any. With a
    ``progress`` label, progress lines are logged under it (vgs.progress).
    """
    lengths = np.minimum(np.array([len(array) for array in arrays]) if lengths is None else lengths, max_frames)
    out = torch.empty(len(arrays), model.config.embed_dim)
    batches = length_sorted_batches(lengths, batch_size)
    lines = ProgressLog(log, progress, len(arrays), "utt") if progress else None
    for indices in batches:
        frames, lens = pad_batch([arrays[i] for i in indices], max_frames)
        with runtime.autocast():
            embeddings = model.caption_encoder(runtime.put(frames), runtime.put(lens))
        out[torch.from_numpy(indices)] = embeddings.float().cpu()
        if lines is not None:
            lines.advance(len(indices))
    return out


@torch.no_grad()
def embed_features(
    model: VGSModel, features: np.ndarray | StoreRows, batch_size: int, runtime: Runtime
) -> torch.Tensor:
    """Image embeddings ``[N, D]`` (float32, CPU) of frozen feature rows ``[N, image_dim]`` (read a batch at a time)."""
    parts = []
    for start in range(0, len(features), batch_size):
        with runtime.autocast():
            block = model.image_encoder(runtime.put(torch.from_numpy(features[start : start + batch_size])))
        parts.append(block.float().cpu())
    return torch.cat(parts) if parts else torch.empty(0, model.config.embed_dim)


def log_cut_utterances(lengths: Sequence[int], max_frames: int, source: PathLike) -> int:
    """Log how many utterances are longer than ``max_frames`` and so encoded from their start only.

    Why: the cut (``train.max_frames``, 1,024 frames = 10.24 s, as the authors' encoder config) drops
    the end of long SpokenSTS sentences silently otherwise; the count belongs in the log.
    """
    lengths = np.asarray(lengths)
    cut = int((lengths > max_frames).sum())
    if cut:
        log.warning("%s: %d of %d utterances are longer than %d frames and are cut to it (longest %d frames)",
                    source, cut, lengths.size, max_frames, int(lengths.max()))  # fmt: skip
    else:
        log.info("%s: no utterance is longer than %d frames", source, max_frames)
    return cut


def check_frames_fit_durations(
    manifest_path: PathLike, mfcc_paths: Sequence[PathLike], utt_ids: Sequence[str], lengths: np.ndarray
) -> None:
    """Stop when the MFCC store holds more frames than a manifest's audio can give (a stale cache).

    Manifests that record each wav's ``duration`` (the SpokenSTS voices and the natural sample)
    bound its frame count: 10 ms frames of 25 ms windows give at most ``100 * duration + 2``
    (rounding and the last partial window). Fewer frames are fine (silence is cut before MFCCs);
    more mean the store was made from other, longer audio than the manifest lists now, and
    encoding it would pair a sentence with another recording's frames.
    """
    table = read_tsv(manifest_path)
    if "duration" not in table.columns:
        return
    seconds = table.drop_duplicates("utt_id").set_index("utt_id")["duration"].astype(float)
    limit = np.floor(100 * seconds.reindex(list(utt_ids)).to_numpy() + 2)
    too_long = [
        (utt, int(n), float(d))
        for utt, n, d, bound in zip(utt_ids, lengths, seconds.reindex(list(utt_ids)), limit, strict=True)
        if n > bound
    ]
    if too_long:
        shown = "; ".join(f"{utt}: {n} frames for {d:.2f} s" for utt, n, d in too_long[:5])
        raise ValueError(
            f"{list(mfcc_paths)}: {len(too_long)} utterance(s) of {manifest_path} have more MFCC frames than their "
            f"audio's duration allows ({shown}); the MFCC cache was made from other audio: delete it and rerun "
            "the mfcc rule for this set"
        )


def manifest_ids(manifest_path: PathLike, column: str, split: str | None) -> list[str]:
    """Unique values of ``column`` (first-seen order), optionally only rows of ``split``."""
    frame = read_tsv(manifest_path, required=[column] + (["split"] if split else []))
    if split:
        frame = frame[frame["split"] == split]
        if frame.empty:
            raise ValueError(f"{manifest_path}: no rows with split == {split!r}")
    return list(dict.fromkeys(frame[column]))


def store_metadata(checkpoint: PathLike, payload: dict, run: RunId) -> dict[str, object]:
    """What an embedding store records: its checkpoint, epoch and model config, and its run
    (``model``, ``seed``), which evaluation checks (vgs.identity)."""
    return {
        "checkpoint": str(checkpoint),
        "epoch": int(payload["epoch"]),
        "model_config": payload["model_config"],
        "model": run.system,
        "seed": run.seed,
    }


def embed_utterances(
    manifest: PathLike,
    mfcc_paths: Sequence[PathLike],
    checkpoint: PathLike,
    output: PathLike,
    split: str | None = None,
    batch_size: int = TRAIN_DEFAULTS["eval_batch_size"],
    max_frames: int = TRAIN_DEFAULTS["max_frames"],
    device: str = TRAIN_DEFAULTS["device"],
    precision: str = TRAIN_DEFAULTS["precision"],
    *,
    run: RunId,
) -> int:
    """Encode the (de-duplicated) utterances of ``manifest`` into an embedding store of ``run``
    (the job's model and seed, which ``checkpoint`` must record)."""
    return embed_utterance_sets(
        [(manifest, mfcc_paths, output)], checkpoint, split, batch_size, max_frames, device, precision, run=run
    )[0]


def embed_utterance_sets(
    sets: Sequence[tuple[PathLike, Sequence[PathLike], PathLike]],
    checkpoint: PathLike,
    split: str | None = None,
    batch_size: int = TRAIN_DEFAULTS["eval_batch_size"],
    max_frames: int = TRAIN_DEFAULTS["max_frames"],
    device: str = TRAIN_DEFAULTS["device"],
    precision: str = TRAIN_DEFAULTS["precision"],
    *,
    run: RunId,
) -> list[int]:
    """Encode several utterance sets, each ``(manifest, mfcc_paths, output)``, with one model load,
    with ``checkpoint`` checked to be ``run``'s; each store records ``run``.

    Why one job for many sets: an STS set is six voices plus the natural sample, and loading torch
    and the checkpoint costs more than encoding a set of a few hundred sentences.
    """
    runtime = select_runtime(device, precision)
    payload = load_run_checkpoint(checkpoint, run)
    model = model_from_checkpoint(payload, str(runtime.device))
    counts = []
    for manifest, mfcc_paths, output in sets:
        utt_ids = manifest_ids(manifest, "utt_id", split)
        frames = ArrayStore(list(mfcc_paths))
        missing = [utt for utt in utt_ids if utt not in frames]
        if missing:
            raise ValueError(
                f"{list(mfcc_paths)}: MFCCs of {len(missing)} utterance(s) of {manifest} missing "
                f"({', '.join(missing[:5])}); rerun the mfcc rule for this set"
            )
        lengths = np.array([frames.length(u) for u in utt_ids], dtype=np.int64)
        check_frames_fit_durations(manifest, list(mfcc_paths), utt_ids, lengths)
        log_cut_utterances(lengths, max_frames, manifest)
        embeddings = embed_frames(
            model, frames.arrays(utt_ids), batch_size, max_frames, runtime, f"embed {manifest}", lengths
        )
        log.info("encoded %d utterances of %s with %s", len(utt_ids), manifest, checkpoint)
        counts.append(write_store(
            output, zip(utt_ids, embeddings.numpy(), strict=True), model.config.embed_dim, "embedding",
            store_metadata(checkpoint, payload, run),
        ))  # fmt: skip
    return counts


def embed_images(
    manifest: PathLike,
    image_features: PathLike,
    checkpoint: PathLike,
    output: PathLike,
    split: str = "test",
    batch_size: int = 256,
    device: str = TRAIN_DEFAULTS["device"],
    *,
    run: RunId,
) -> int:
    """Project the frozen features of the ``split`` images of ``manifest`` into the joint space
    with ``run``'s checkpoint (checked); the store records ``run``."""
    runtime = select_runtime(device, "fp32")
    payload = load_run_checkpoint(checkpoint, run)
    model = model_from_checkpoint(payload, str(runtime.device))
    image_ids = manifest_ids(manifest, "image_id", split)
    store = ArrayStore(image_features)
    missing = [image for image in image_ids if image not in store]
    if missing:
        raise ValueError(
            f"{image_features}: features of {len(missing)} image(s) of {manifest} missing "
            f"({', '.join(missing[:5])}); rerun the image feature rule"
        )
    embeddings = embed_features(model, store.rows(image_ids), batch_size, runtime)
    return write_store(
        output,
        zip(image_ids, embeddings.numpy(), strict=True),
        model.config.embed_dim,
        "embedding",
        store_metadata(checkpoint, payload, run),
    )
