"""Flickr8k Audio Caption Corpus (Harwath & Glass 2015) with the Karpathy splits.

On disk (``root``)::

    dataset_flickr8k.json            Karpathy: images[] {filename, imgid, split, sentences[] {raw, sentid}}
    Flicker8k_Dataset/<filename>     the images (the original archive's spelling "Flicker")
    flickr_audio/wav2capt.txt        "<wav name> <image filename> #<k>": the wav speaks sentences[k]
    flickr_audio/wavs/<wav name>
    flickr_audio/wav2spk.txt         optional "<wav name> <speaker>"

``image_root`` and ``audio_root`` in the corpus config replace ``<root>/Flicker8k_Dataset`` and
``<root>/flickr_audio/wavs`` (the image and wav folders) when those live elsewhere.

Karpathy's ``restval`` images count as training images and ``val`` becomes ``dev`` (6,000 / 1,000 /
1,000 images); recordings of images outside Karpathy's 8,000 (the release has 91 such images) are
left out and listed (:data:`OUTSIDE_SPLITS`). Dev and test rows are written in the authors' sampler
order: their feature file has one node per image, read in sorted-name order, with its recordings
read by name; the sampler yields every image's first caption, then every image's second, and so on
(reproducible, so the dev loss can use their batches: ``train.dev_batches: ordered``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

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
from vgs.corpora.metadata import entry_label, read_json, read_text, required, required_name
from vgs.io import require_files

log = logging.getLogger(__name__)

SOURCE = (
    "Flickr8k Audio is the folder flickr_audio/ (wavs/, wav2capt.txt, wav2spk.txt): MIT's download "
    "(https://groups.csail.mit.edu/sls/downloads/flickraudio/) was reported dead in 2025, the same layout "
    "circulates on Kaggle (warcoder/flickr-8k-audio-caption-corpus); the Hugging Face copy "
    "deep9539/flickr-audio-image is not read as it is. The images are the Flickr8k release "
    "(Flicker8k_Dataset/, or Kaggle's Images/ through image_root) and dataset_flickr8k.json comes from "
    "Karpathy's caption_datasets.zip (https://cs.stanford.edu/people/karpathy/deepimagesent/). Put them "
    "under the corpus root given in config.yaml (corpora.<name>.root), or set corpora.<name>.image_root / "
    "audio_root to the image and wav folders; docs/full-scale.md says where each copy is."
)
SPLIT_NAMES = {"train": "train", "restval": "train", "val": "dev", "test": "test"}
#: Why a recording of wav2capt.txt is left out (excluded.tsv).
OUTSIDE_SPLITS = "of images outside Karpathy's splits"


def _read_pairs(path: Path) -> list[list[str]]:
    """Whitespace-separated lines of a Flickr audio index file, with line numbers in errors."""
    rows = []
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split()
        if len(fields) < 2:
            raise CorpusError(f"{path}:{number}: expected at least two fields, got {line!r}")
        rows.append(fields)
    return rows


def _karpathy_images(karpathy: Path) -> dict[str, tuple[str, dict]]:
    """Karpathy's images by file name, each with its entry label for error messages."""
    images = {}
    for number, entry in enumerate(required(read_json(karpathy), "images", str(karpathy), list)):
        where = f"{karpathy}: {entry_label('images', number, entry, 'filename')}"
        filename, split = required_name(entry, "filename", where), required(entry, "split", where)
        if split not in SPLIT_NAMES:
            raise CorpusError(f"{where}: unknown split {split!r}; expected one of {sorted(SPLIT_NAMES)}")
        required(entry, "sentences", where, list)
        if filename in images:  # a second entry would silently replace the first, split and captions
            raise CorpusError(f"{where}: {filename!r} is listed twice, also as {images[filename][0]}")
        images[filename] = (where, entry)
    return images


def load_flickr8k(root: str, image_root: str | None = None, audio_root: str | None = None) -> Listing:
    """The Flickr8k Audio corpus under ``root``: its manifest and the recordings of images outside the splits.

    ``image_root`` / ``audio_root`` replace the default image and wav folders (see :data:`SOURCE`).
    """
    base = Path(root)
    karpathy = base / "dataset_flickr8k.json"
    wav2capt = base / "flickr_audio" / "wav2capt.txt"
    wav2spk = base / "flickr_audio" / "wav2spk.txt"
    image_dir = image_root or base / "Flicker8k_Dataset"
    wav_dir = audio_root or base / "flickr_audio" / "wavs"
    require_files([karpathy, wav2capt], "Flickr8k metadata files", SOURCE)
    images = _karpathy_images(karpathy)
    speakers = dict(_read_pairs(wav2spk)) if wav2spk.is_file() else {}
    rows, outside = [], []
    for number, fields in enumerate(_read_pairs(wav2capt), start=1):
        if len(fields) != 3 or not fields[2].startswith("#") or not fields[2][1:].isdigit():
            raise CorpusError(f"{wav2capt}:{number}: expected '<wav> <image> #<k>', got {' '.join(fields)!r}")
        wav, filename, index = fields[0], fields[1], int(fields[2][1:])
        if filename not in images:
            entry = f"{wav2capt}:{number} (image {filename!r} is not in {karpathy})"
            outside.append(
                {
                    "utt_id": Path(wav).stem,
                    "wav_path": join_path(wav_dir, wav),
                    "reason": OUTSIDE_SPLITS,
                    "entry": entry,
                }
            )
            continue
        where, image = images[filename]
        sentences = image["sentences"]
        if index >= len(sentences):
            raise CorpusError(
                f"{wav2capt}:{number}: caption #{index} but {filename} has {len(sentences)} in {karpathy}"
            )
        rows.append(
            {
                "utt_id": Path(wav).stem,
                "image_id": Path(filename).stem,
                "image_path": join_path(image_dir, filename),
                "wav_path": join_path(wav_dir, wav),
                "text": required(sentences[index], "raw", f"{where} sentences[{index}] (spoken in {wav})").strip(),
                "speaker": speakers.get(wav, ""),
                "split": SPLIT_NAMES[image["split"]],
                "entry": f"{wav2capt}:{number} ({where})",
            }
        )
    if outside:
        log.warning(
            "%s: left out %d recordings of images outside the Karpathy splits (listed in excluded.tsv)",
            wav2capt,
            len(outside),
        )
    by_name = sorted(rows, key=lambda row: (row["image_id"], caption_name(row["wav_path"])))
    ordered = [row for row in rows if row["split"] == "train"] + [
        row for split in ("dev", "test") for row in caption_major([r for r in by_name if r["split"] == split])
    ]
    return Listing(finish_manifest(ordered, f"Flickr8k ({root})", SOURCE), excluded_frame(outside))


def read(spec: Mapping[str, Any]) -> Listing:
    """The corpus a ``corpora:`` entry of format flickr8k names."""
    return load_flickr8k(spec["root"], spec.get("image_root"), spec.get("audio_root"))


FORMAT = CorpusFormat("flickr8k", read, SOURCE)
