"""SpokenCOCO (Hsu et al. 2021): spoken MSCOCO captions.

On disk (``root``)::

    SpokenCOCO_train.json, SpokenCOCO_val.json
        {"data": [{"image": "val2014/COCO_val2014_....jpg",
                   "captions": [{"text", "speaker", "uttid", "wav": "wavs/val/..."}]}]}

Wav paths are relative to ``root``, image paths to ``image_root`` (default ``<root>/images``).

Dev and test (the paper: 1,000 images each) come from the official val set, chosen
deterministically: the val images sorted by image path are shuffled with ``numpy`` ``default_rng(seed)``;
the first ``dev_images`` become dev, the next ``test_images`` test; remaining val images are unused.
"""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd

from vgs.corpora.manifest import CorpusError, finish_manifest, join_path, require_files

SOURCE = (
    "SpokenCOCO comes from https://groups.csail.mit.edu/sls/downloads/placesaudio/ (SpokenCOCO.tar.gz: "
    "SpokenCOCO_{train,val}.json and wavs/) and the images from MSCOCO 2014 (https://cocodataset.org/); "
    "unpack the audio to the corpus root and the images (train2014/, val2014/) to "
    "corpora.<name>.image_root (default <root>/images) in config.yaml."
)


def _rows(entries: list[dict], split: str, root: str, image_root: str) -> list[dict[str, str]]:
    return [
        {
            "utt_id": caption["uttid"],
            "image_id": PurePosixPath(entry["image"]).stem,
            "image_path": join_path(image_root, entry["image"]),
            "wav_path": join_path(root, caption["wav"]),
            "text": caption.get("text", "").strip(),
            "speaker": caption.get("speaker", ""),
            "split": split,
        }
        for entry in entries
        for caption in entry["captions"]
    ]


def split_val(entries: list[dict], dev_images: int, test_images: int, seed: int) -> tuple[list[dict], list[dict]]:
    """Deterministic dev and test image sets from the official val set (see module docstring)."""
    if dev_images + test_images > len(entries):
        raise CorpusError(
            f"SpokenCOCO val has {len(entries)} images; cannot take {dev_images} dev + {test_images} test "
            "(lower corpora.<name>.dev_images / test_images)"
        )
    ordered = sorted(entries, key=lambda entry: entry["image"])
    order = np.random.default_rng(seed).permutation(len(ordered))
    chosen = [ordered[i] for i in order[: dev_images + test_images]]
    return chosen[:dev_images], chosen[dev_images:]


def load_spokencoco(
    root: str, image_root: str | None = None, dev_images: int = 1000, test_images: int = 1000, seed: int = 0
) -> pd.DataFrame:
    """Return the common manifest of SpokenCOCO under ``root``."""
    base = Path(root)
    train_json, val_json = base / "SpokenCOCO_train.json", base / "SpokenCOCO_val.json"
    require_files([train_json, val_json], "SpokenCOCO metadata files", SOURCE)
    images = image_root or str(base / "images")
    train = json.loads(train_json.read_text(encoding="utf-8"))["data"]
    dev, test = split_val(json.loads(val_json.read_text(encoding="utf-8"))["data"], dev_images, test_images, seed)
    rows = [row for entries, split in ((train, "train"), (dev, "dev"), (test, "test"))
            for row in _rows(entries, split, root, images)]
    return finish_manifest(rows, f"SpokenCOCO ({root})", SOURCE)
