"""SpokenCOCO (Hsu et al. 2021): spoken MSCOCO captions.

On disk (``root``)::

    SpokenCOCO_train.json, SpokenCOCO_val.json
        {"data": [{"image": "val2014/COCO_val2014_....jpg",
                   "captions": [{"text", "speaker", "uttid", "wav": "wavs/val/..."}]}]}

Wav paths are relative to ``audio_root`` (default ``root``), image paths to ``image_root`` (default
``<root>/images``).

Dev and test (the paper: 1,000 images each) come from the official val set, chosen
deterministically: the val images sorted by image path are shuffled with ``numpy`` ``default_rng(seed)``;
the first ``dev_images`` become dev, the next ``test_images`` test; remaining val images are unused.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd

from vgs.corpora.manifest import CorpusError, finish_manifest, join_path, require_files
from vgs.corpora.metadata import entry_label, optional_text, read_json, required, required_name

SOURCE = (
    "SpokenCOCO comes from https://groups.csail.mit.edu/sls/downloads/placesaudio/ (SpokenCOCO.tar.gz: "
    "SpokenCOCO_{train,val}.json and wavs/) and the images from MSCOCO 2014 (https://cocodataset.org/); "
    "unpack the audio to the corpus root (or corpora.<name>.audio_root, the folder holding wavs/) and the "
    "images (train2014/, val2014/) to corpora.<name>.image_root (default <root>/images) in config.yaml."
)


Labelled = list[tuple[str, dict]]  # image entries with their labels for error messages


def _entries(path: Path) -> Labelled:
    """The image entries of a SpokenCOCO JSON, each with its label for error messages."""
    entries = []
    for number, entry in enumerate(required(read_json(path), "data", str(path), list)):
        where = f"{path}: {entry_label('data', number, entry, 'image')}"
        required_name(entry, "image", where)
        required(entry, "captions", where, list)
        entries.append((where, entry))
    return entries


def _rows(entries: Labelled, split: str, audio_root: str, image_root: str) -> list[dict[str, str]]:
    rows = []
    for where, entry in entries:
        for number, caption in enumerate(entry["captions"]):
            caption_where = f"{where} {entry_label('captions', number, caption, 'uttid')}"
            rows.append({
                "utt_id": required_name(caption, "uttid", caption_where),
                "image_id": PurePosixPath(entry["image"]).stem,
                "image_path": join_path(image_root, entry["image"]),
                "wav_path": join_path(audio_root, required_name(caption, "wav", caption_where)),
                "text": optional_text(caption, "text", caption_where),
                "speaker": optional_text(caption, "speaker", caption_where),
                "split": split,
                "entry": caption_where,
            })
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


def load_spokencoco(
    root: str, image_root: str | None = None, dev_images: int = 1000, test_images: int = 1000, seed: int = 0,
    audio_root: str | None = None,
) -> pd.DataFrame:
    """Return the common manifest of SpokenCOCO under ``root``."""
    base = Path(root)
    train_json, val_json = base / "SpokenCOCO_train.json", base / "SpokenCOCO_val.json"
    require_files([train_json, val_json], "SpokenCOCO metadata files", SOURCE)
    images, audio = image_root or str(base / "images"), audio_root or root
    train = _entries(train_json)
    dev, test = split_val(_entries(val_json), dev_images, test_images, seed)
    rows = [row for entries, split in ((train, "train"), (dev, "dev"), (test, "test"))
            for row in _rows(entries, split, audio, images)]
    return finish_manifest(rows, f"SpokenCOCO ({root})", SOURCE)
