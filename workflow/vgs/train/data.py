"""Captions (MFCC frames) paired with their images' frozen features, read from the stage files.

Why check everything up front: a missing MFCC or image feature found after an hour of training
wastes the hour; the checks here name the file and the first missing ids, and say which rule
makes them.

Why nothing is loaded here: a caption set holds ids, lengths and the stores' indexes; frames and
image features are read from the stores a batch at a time (see :mod:`vgs.store`), so a job's
memory does not grow with the corpus (SpokenCOCO's MFCCs are ~42 GB, Places' ~56 GB) and a
30k-caption subset model reads only its own captions' rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from vgs.io import PathLike, read_tsv
from vgs.store import ArrayStore, StoreRows

MANIFEST_COLUMNS = ("utt_id", "image_id", "split")


@dataclass
class CaptionSet:
    """Captions of one split: ids, their image row in ``image_features``, lengths, frames.

    ``frames`` and ``image_features`` read from disk when indexed (``arrays``, ``image_features[rows]``).
    """

    utt_ids: list[str]
    image_ids: list[str]
    image_rows: np.ndarray
    lengths: np.ndarray
    frames: ArrayStore
    image_features: StoreRows

    def __len__(self) -> int:
        return len(self.utt_ids)

    def arrays(self, indices: Sequence[int]) -> list[np.ndarray]:
        return [self.frames[self.utt_ids[i]] for i in indices]

    def fingerprint(self) -> str:
        """Digest of ids, pairing and lengths: tells a checkpoint made on other data apart."""
        digest = hashlib.sha256("\n".join(f"{u}\t{i}" for u, i in zip(self.utt_ids, self.image_ids)).encode())
        digest.update(self.lengths.tobytes())
        digest.update(str(self.image_features.shape).encode())
        return digest.hexdigest()[:16]


def missing_ids_error(what: str, path: object, missing: Sequence[str], total: int, rule: str) -> ValueError:
    shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
    return ValueError(f"{path}: {len(missing)} of {total} {what} missing ({shown}); rerun the {rule} rule for this set")


def split_rows(manifest: pd.DataFrame, split: str, path: PathLike) -> pd.DataFrame:
    rows = manifest[manifest["split"] == split]
    if rows.empty:
        found = sorted(manifest["split"].unique())
        raise ValueError(f"{path}: no rows with split == {split!r} (splits present: {found})")
    return rows


def caption_set(
    rows: pd.DataFrame, frames: ArrayStore, images: ArrayStore, mfcc_paths: object, image_path: object
) -> CaptionSet:
    """Pair ``rows`` (manifest rows) with their frames and image features, checking both exist."""
    utt_ids = rows["utt_id"].tolist()
    missing = [utt for utt in utt_ids if utt not in frames]
    if missing:
        raise missing_ids_error("utterances' MFCCs", mfcc_paths, missing, len(utt_ids), "mfcc")
    unique_images = list(dict.fromkeys(rows["image_id"]))
    missing = [image for image in unique_images if image not in images]
    if missing:
        raise missing_ids_error("image features", image_path, missing, len(unique_images), "image feature")
    lengths = np.array([frames.length(utt) for utt in utt_ids], dtype=np.int64)
    if (lengths == 0).any():
        empty = [utt for utt, length in zip(utt_ids, lengths, strict=True) if length == 0]
        raise ValueError(f"{mfcc_paths}: utterance(s) with no MFCC frames: {empty[:5]}; check their wavs")
    position = {image: row for row, image in enumerate(unique_images)}
    return CaptionSet(
        utt_ids=utt_ids,
        image_ids=rows["image_id"].tolist(),
        image_rows=np.array([position[image] for image in rows["image_id"]], dtype=np.int64),
        lengths=lengths,
        frames=frames,
        image_features=images.rows(unique_images),
    )


def load_training_data(
    manifest_path: PathLike, mfcc_paths: Sequence[PathLike], image_path: PathLike
) -> tuple[CaptionSet, CaptionSet]:
    """Train and dev caption sets of a training manifest (see DESIGN.md for its columns)."""
    manifest = read_tsv(manifest_path, required=MANIFEST_COLUMNS)
    frames = ArrayStore(list(mfcc_paths))
    images = ArrayStore(image_path)
    return tuple(  # type: ignore[return-value]
        caption_set(split_rows(manifest, split, manifest_path), frames, images, list(mfcc_paths), image_path)
        for split in ("train", "dev")
    )
