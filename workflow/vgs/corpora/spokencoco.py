"""SpokenCOCO (Hsu et al. 2021): spoken MSCOCO captions.

On disk (``root``)::

    SpokenCOCO_train.json, SpokenCOCO_val.json
        {"data": [{"image": "val2014/COCO_val2014_....jpg",
                   "captions": [{"text", "speaker", "uttid", "wav": "wavs/val/..."}]}]}

Wav paths are relative to ``audio_root`` (default ``root``), image paths to ``image_root`` (default
``<root>/images``).

Dev and test (the paper: 1,000 images each) come from the official val set, in one of two ways:

* ``selection: authors`` (the paper's): the lists the authors' code builds. Their feature file holds
  one node per image, created in JSON order (train, then val) in subgroups of 10,000
  (``subgroup_0``, ``subgroup_1``, ...), and PyTables visits children in sorted-name order, so the
  subgroups are read 0, 1, 10, 11, 12, 2, ... and the images of each by name. Their sampler takes
  the first 1,000 val images of that order as dev and those from 4,000 on as test (here: the first
  ``dev_images`` and the last ``test_images``; the same with 5,000 val images), and the first five
  recordings of every image (train, dev and test), in sorted order of the names the authors gave
  them (wav file stem, ``-`` -> ``_``). Dev and test rows are written in their sampler's order:
  every image's first caption, then every image's second, and so on.
* ``selection: seeded``: the val images sorted by image path are shuffled with ``numpy``
  ``default_rng(seed)``; the first ``dev_images`` become dev, the next ``test_images`` test; every
  recording is kept.

Remaining val images are unused either way. Every recording left out (val images in neither dev
nor test, recordings beyond an image's first five) is listed with its reason (:data:`NOT_CHOSEN`,
:data:`BEYOND_CAP`) for excluded.tsv. Cost at full size: one sort of 123,287 names; the list of
left-out recordings holds ~15,000 rows (3,000 val images x 5, plus the few train images with more
than five recordings).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pandas as pd

from vgs.corpora.manifest import (
    CorpusError,
    CorpusFormat,
    Listing,
    caption_major,
    caption_name,
    excluded_frame,
    finish_manifest,
    join_path,
)
from vgs.corpora.metadata import entry_label, optional_text, read_json, required, required_name
from vgs.io import require_files

SOURCE = (
    "SpokenCOCO comes from https://groups.csail.mit.edu/sls/downloads/placesaudio/ (SpokenCOCO.tar.gz: "
    "SpokenCOCO_{train,val}.json and wavs/) and the images from MSCOCO 2014 (https://cocodataset.org/); "
    "unpack the audio to the corpus root (or corpora.<name>.audio_root, the folder holding wavs/) and the "
    "images (train2014/, val2014/) to corpora.<name>.image_root (default <root>/images) in config.yaml."
)


log = logging.getLogger(__name__)

Labelled = list[tuple[str, dict]]  # image entries with their labels for error messages
SELECTIONS = ("authors", "seeded")
AUTHORS_BLOCK = 10_000  # images per subgroup of the authors' feature file
AUTHORS_CAPTIONS = 5  # recordings per image their sampler reads
#: Why a listed recording is left out (excluded.tsv).
NOT_CHOSEN = "of val images in neither dev nor test"
BEYOND_CAP = f"beyond the authors' {AUTHORS_CAPTIONS} recordings per image"
#: The ``corpora:`` entry keys only this format reads, with their defaults (corpora.schema.yaml documents them).
OPTIONS = {"dev_images": 1000, "test_images": 1000, "seed": 0, "selection": "authors"}


def _entries(path: Path) -> Labelled:
    """The image entries of a SpokenCOCO JSON, each with its label for error messages."""
    entries = []
    for number, entry in enumerate(required(read_json(path), "data", str(path), list)):
        where = f"{path}: {entry_label('data', number, entry, 'image')}"
        required_name(entry, "image", where)
        for caption_number, caption in enumerate(required(entry, "captions", where, list)):
            # Checked here, before the authors' selection reorders captions, so errors keep JSON positions.
            caption_where = f"{where} {entry_label('captions', caption_number, caption, 'uttid')}"
            required_name(caption, "uttid", caption_where)
            required_name(caption, "wav", caption_where)
        entries.append((where, entry))
    return entries


def _rows(entries: Labelled, split: str, audio_root: str, image_root: str) -> list[dict[str, str]]:
    rows = []
    for where, entry in entries:
        for number, caption in enumerate(entry["captions"]):
            caption_where = f"{where} {entry_label('captions', number, caption, 'uttid')}"
            rows.append(
                {
                    "utt_id": required_name(caption, "uttid", caption_where),
                    "image_id": PurePosixPath(entry["image"]).stem,
                    "image_path": join_path(image_root, entry["image"]),
                    "wav_path": join_path(audio_root, required_name(caption, "wav", caption_where)),
                    "text": optional_text(caption, "text", caption_where),
                    "speaker": optional_text(caption, "speaker", caption_where),
                    "split": split,
                    "entry": caption_where,
                }
            )
    return rows


def split_val(entries: Labelled, dev_images: int, test_images: int, seed: int) -> tuple[Labelled, Labelled]:
    """Deterministic dev and test image sets from the official val set (see module docstring)."""
    if dev_images + test_images > len(entries):
        raise CorpusError(
            f"SpokenCOCO val has {len(entries)} images; cannot take {dev_images} dev + {test_images} test "
            "(lower corpora.<name>.dev_images / test_images)"
        )
    ordered = sorted(entries, key=lambda labelled: labelled[1]["image"])
    order = np.random.default_rng(seed).permutation(len(ordered))
    chosen = [ordered[i] for i in order[: dev_images + test_images]]
    return chosen[:dev_images], chosen[dev_images:]


def authors_order(entries: Labelled) -> Labelled:
    """Image entries (train then val, JSON order) in the order the authors' reader visits their nodes."""
    position = {id(entry): i for i, (_, entry) in enumerate(entries)}

    def key(labelled: tuple[str, dict]) -> tuple[str, str]:
        return f"subgroup_{position[id(labelled[1])] // AUTHORS_BLOCK}", PurePosixPath(labelled[1]["image"]).stem

    return sorted(entries, key=key)


def first_captions(entries: Labelled) -> Labelled:
    """Each image entry with only its first five recordings in the authors' (sorted-name) order."""
    short = sum(len(entry["captions"]) < AUTHORS_CAPTIONS for _, entry in entries)
    if short:
        log.warning(
            "%d SpokenCOCO images have fewer than %d recordings (all kept); the authors' sampler reads five per image",
            short,
            AUTHORS_CAPTIONS,
        )

    def first(captions: list[dict]) -> list[dict]:
        return sorted(captions, key=lambda caption: caption_name(caption["wav"]))[:AUTHORS_CAPTIONS]

    return [(where, {**entry, "captions": first(entry["captions"])}) for where, entry in entries]


def split_authors(train: Labelled, val: Labelled, dev_images: int, test_images: int) -> tuple[Labelled, ...]:
    """Train, dev and test as the authors' code builds them (see module docstring)."""
    if dev_images + test_images > len(val):
        raise CorpusError(
            f"SpokenCOCO val has {len(val)} images; cannot take {dev_images} dev + {test_images} test "
            "(lower corpora.<name>.dev_images / test_images)"
        )
    val_ids = {id(entry) for _, entry in val}
    ordered_val = [labelled for labelled in authors_order(train + val) if id(labelled[1]) in val_ids]
    return (
        first_captions(train),
        first_captions(ordered_val[:dev_images]),
        first_captions(ordered_val[len(ordered_val) - test_images :]),
    )


def load_spokencoco(
    root: str,
    image_root: str | None = None,
    dev_images: int = OPTIONS["dev_images"],
    test_images: int = OPTIONS["test_images"],
    seed: int = OPTIONS["seed"],
    audio_root: str | None = None,
    selection: str = OPTIONS["selection"],
) -> Listing:
    """SpokenCOCO under ``root``: dev and test chosen by ``selection``, and every recording left out."""
    if selection not in SELECTIONS:
        raise ValueError(f"SpokenCOCO selection must be one of {SELECTIONS}, got {selection!r}")
    base = Path(root)
    train_json, val_json = base / "SpokenCOCO_train.json", base / "SpokenCOCO_val.json"
    require_files([train_json, val_json], "SpokenCOCO metadata files", SOURCE)
    images, audio = image_root or str(base / "images"), audio_root or root
    train, val = _entries(train_json), _entries(val_json)
    listed = _rows(train, "train", audio, images) + _rows(val, "val", audio, images)  # JSON positions
    if selection == "authors":
        train, dev, test = split_authors(train, val, dev_images, test_images)
    else:
        dev, test = split_val(val, dev_images, test_images, seed)
    rows: list[dict[str, str]] = []
    for entries, split in ((train, "train"), (dev, "dev"), (test, "test")):
        split_rows = _rows(entries, split, audio, images)
        rows += caption_major(split_rows) if selection == "authors" and split != "train" else split_rows
    manifest = finish_manifest(rows, f"SpokenCOCO ({root})", SOURCE)
    excluded = left_out(listed, manifest)
    if len(excluded):
        log.info(
            "SpokenCOCO (%s): left out %s (listed in excluded.tsv)",
            root,
            ", ".join(f"{count} recordings: {reason}" for reason, count in excluded["reason"].value_counts().items()),
        )
    return Listing(manifest, excluded)


def left_out(listed: list[dict[str, str]], manifest: pd.DataFrame) -> pd.DataFrame:
    """Every recording of ``listed`` (all image entries, JSON positions) that is not in ``manifest``,
    with its reason: its image is not in the manifest (a val image in neither dev nor test), or it
    is beyond the first five of an image that is."""
    kept = set(zip(manifest["utt_id"], manifest["wav_path"], strict=True))
    images = set(manifest["image_id"])
    return excluded_frame(
        [
            {
                "utt_id": row["utt_id"],
                "wav_path": row["wav_path"],
                "reason": BEYOND_CAP if row["image_id"] in images else NOT_CHOSEN,
                "entry": row["entry"],
            }
            for row in listed
            if (row["utt_id"], row["wav_path"]) not in kept
        ]
    )


def read(spec: Mapping[str, Any]) -> Listing:
    """The corpus a ``corpora:`` entry of format spokencoco names (its options or their defaults)."""
    options = {key: spec.get(key, default) for key, default in OPTIONS.items()}
    return load_spokencoco(spec["root"], spec.get("image_root"), audio_root=spec.get("audio_root"), **options)


FORMAT = CorpusFormat("spokencoco", read, SOURCE, OPTIONS)
