"""Places Audio Captions (Harwath et al. 2016-2020), 2020 split files.

On disk (``root``)::

    metadata/train_2020.json, metadata/dev_seen_2020.json, metadata/test_seen_2020.json
        {"image_base_path": ..., "audio_base_path": ...,
         "data": [{"uttid", "speaker", "asr_text" (optional), "wav", "image"}, ...]}

Base paths are absolute or relative to the JSON's directory; ``image_root`` / ``audio_root`` in the
corpus config override them (the Places images usually live apart from the audio). The paper's dev and
test sets are the 1,000-image ``dev_seen`` and ``test_seen`` splits.

Image identity: one image per utterance, as in the authors' feature file, which holds one node per
utterance (named by its uttid) with that utterance's image. An image file listed by one utterance
is the image ``<stem>`` (``gsun_<hash>``); one listed by several utterances of a split gives each its
own image, ``<stem>``, ``<stem>#2``, ``<stem>#3``, ... in file order, so that neither the epoch
(one pass over every utterance) nor the LR cycle (``int(images / 32) * 4`` steps, which counts
captions per image from the data) nor a test set's candidates change with shared files; the load
summary counts them (``shared image files``). A file shared by two splits stops the load, naming
its entries, since the model would see a test image in training. Two different image paths with
one stem would make two images one id, so the loader checks that every stem has one path across
all split files, stops naming both entries when not, and logs the check (about 400k stems at the
paper's size: two dicts, seconds).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd

from vgs.corpora.manifest import (
    CorpusError,
    CorpusFormat,
    Listing,
    check_disjoint_splits,
    excluded_frame,
    finish_manifest,
    join_path,
)
from vgs.corpora.metadata import entry_label, optional_text, read_json, required, required_name
from vgs.io import require_files

SOURCE = (
    "Places Audio Captions come from https://groups.csail.mit.edu/sls/downloads/placesaudio/ "
    "(metadata/*.json and wavs) and the images from Places205 (http://places.csail.mit.edu/); put the "
    "metadata under <root>/metadata and set corpora.<name>.image_root / audio_root in config.yaml when "
    "the base paths in the JSON files do not point at them."
)
SPLIT_FILES = {"train": "train_2020.json", "dev": "dev_seen_2020.json", "test": "test_seen_2020.json"}

log = logging.getLogger(__name__)


def _base(override: str | None, from_json: str, json_dir: Path) -> str:
    """The directory paths of a split file are relative to: config override, else the JSON's own."""
    if override:
        return override
    return join_path(json_dir, from_json)  # an absolute base path stays absolute


def load_places(root: str, image_root: str | None = None, audio_root: str | None = None) -> Listing:
    """The Places Audio corpus under ``root``; every recording of the three split files is kept."""
    metadata = Path(root) / "metadata"
    files = {split: metadata / name for split, name in SPLIT_FILES.items()}
    require_files(files.values(), "Places metadata files", SOURCE)
    rows = []
    first_seen: dict[str, tuple[str, str]] = {}  # stem -> (image path, where it was listed)
    listings: dict[str, int] = {}  # stem -> utterances that listed it so far
    for split, path in files.items():
        content = read_json(path)
        items = required(content, "data", str(path), list)
        images = _base(image_root, optional_text(content, "image_base_path", str(path)), metadata)
        audio = _base(audio_root, optional_text(content, "audio_base_path", str(path)), metadata)
        for number, item in enumerate(items):
            where = f"{path}: {entry_label('data', number, item, 'uttid')}"
            image = required_name(item, "image", where)
            stem, image_path = PurePosixPath(image).stem, join_path(images, image)
            seen_path, seen_where = first_seen.setdefault(stem, (image_path, where))
            if seen_path != image_path:
                raise CorpusError(
                    f"{where}: image {image_path} has the file stem {stem!r} of another image, "
                    f"{seen_path} ({seen_where}); an image is identified by its stem, so these two would "
                    "be merged. Check the metadata (the released Places 2020 names are unique)."
                )
            listings[stem] = listings.get(stem, 0) + 1
            image_id = stem if listings[stem] == 1 else f"{stem}#{listings[stem]}"
            rows.append(
                {
                    "utt_id": required_name(item, "uttid", where),
                    "image_id": image_id,
                    "image_path": image_path,
                    "wav_path": join_path(audio, required_name(item, "wav", where)),
                    "text": optional_text(item, "asr_text", where),
                    "speaker": optional_text(item, "speaker", where),
                    "split": split,
                    "entry": where,
                    "stem": stem,
                }
            )
    shared = sum(count > 1 for count in listings.values())
    log.info(
        "Places (%s): %d image files, each file stem names one image path (checked); %d listed by several "
        "utterances, each utterance its own image as in the authors' feature file",
        root,
        len(first_seen),
        shared,
    )
    # An image file in two splits is one image there, whatever ids its utterances get.
    stems = pd.DataFrame(rows, columns=["stem", "split", "entry"])
    check_disjoint_splits(stems.rename(columns={"stem": "image_id"}), f"Places ({root})")
    return Listing(finish_manifest(rows, f"Places ({root})", SOURCE), excluded_frame([]))


def read(spec: Mapping[str, Any]) -> Listing:
    """The corpus a ``corpora:`` entry of format places names."""
    return load_places(spec["root"], spec.get("image_root"), spec.get("audio_root"))


FORMAT = CorpusFormat("places", read, SOURCE)
