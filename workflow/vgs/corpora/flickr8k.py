"""Flickr8k Audio Caption Corpus (Harwath & Glass 2015) with the Karpathy splits.

On disk (``root``)::

    dataset_flickr8k.json            Karpathy: images[] {filename, imgid, split, sentences[] {raw, sentid}}
    Flicker8k_Dataset/<filename>     the images (the original archive's spelling "Flicker")
    flickr_audio/wav2capt.txt        "<wav name> <image filename> #<k>": the wav speaks sentences[k]
    flickr_audio/wavs/<wav name>
    flickr_audio/wav2spk.txt         optional "<wav name> <speaker>"

Karpathy's ``restval`` images count as training images and ``val`` becomes ``dev`` (6,000 / 1,000 /
1,000 images).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd

from vgs.corpora.manifest import CorpusError, finish_manifest, join_path, require_files

log = logging.getLogger(__name__)

SOURCE = (
    "Flickr8k Audio comes from https://groups.csail.mit.edu/sls/downloads/flickraudio/ (flickr_audio/), "
    "the images from the Flickr8k release (Flicker8k_Dataset/) and dataset_flickr8k.json from "
    "Karpathy's splits (https://cs.stanford.edu/people/karpathy/deepimagesent/); put all three under "
    "the corpus root given in config.yaml (corpora.<name>.root)."
)
SPLIT_NAMES = {"train": "train", "restval": "train", "val": "dev", "test": "test"}


def _read_pairs(path: Path) -> list[list[str]]:
    """Whitespace-separated lines of a Flickr audio index file, with line numbers in errors."""
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split()
        if len(fields) < 2:
            raise CorpusError(f"{path}:{number}: expected at least two fields, got {line!r}")
        rows.append(fields)
    return rows


def load_flickr8k(root: str) -> pd.DataFrame:
    """Return the common manifest of the Flickr8k Audio corpus under ``root``."""
    base = Path(root)
    karpathy = base / "dataset_flickr8k.json"
    wav2capt = base / "flickr_audio" / "wav2capt.txt"
    wav2spk = base / "flickr_audio" / "wav2spk.txt"
    require_files([karpathy, wav2capt], "Flickr8k metadata files", SOURCE)
    images = {}
    for entry in json.loads(karpathy.read_text(encoding="utf-8"))["images"]:
        if entry["split"] not in SPLIT_NAMES:
            raise CorpusError(f"{karpathy}: image {entry['filename']} has unknown split {entry['split']!r}")
        images[entry["filename"]] = entry
    speakers = dict(_read_pairs(wav2spk)) if wav2spk.is_file() else {}
    rows, outside = [], 0
    for number, fields in enumerate(_read_pairs(wav2capt), start=1):
        if len(fields) != 3 or not fields[2].startswith("#"):
            raise CorpusError(f"{wav2capt}:{number}: expected '<wav> <image> #<k>', got {' '.join(fields)!r}")
        wav, filename, index = fields[0], fields[1], int(fields[2][1:])
        image = images.get(filename)
        if image is None:
            outside += 1  # the release has 91 images outside Karpathy's 8,000
            continue
        sentences = image["sentences"]
        if index >= len(sentences):
            raise CorpusError(
                f"{wav2capt}:{number}: caption #{index} but {filename} has {len(sentences)} in {karpathy}"
            )
        rows.append({
            "utt_id": Path(wav).stem,
            "image_id": Path(filename).stem,
            "image_path": join_path(base / "Flicker8k_Dataset", filename),
            "wav_path": join_path(base / "flickr_audio" / "wavs", wav),
            "text": sentences[index]["raw"].strip(),
            "speaker": speakers.get(wav, ""),
            "split": SPLIT_NAMES[image["split"]],
        })
    if outside:
        log.warning("%s: skipped %d captions of images outside the Karpathy splits", wav2capt, outside)
    return finish_manifest(rows, f"Flickr8k ({root})", SOURCE)
