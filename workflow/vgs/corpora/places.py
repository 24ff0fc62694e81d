"""Places Audio Captions (Harwath et al. 2016-2020), 2020 split files.

On disk (``root``)::

    metadata/train_2020.json, metadata/dev_seen_2020.json, metadata/test_seen_2020.json
        {"image_base_path": ..., "audio_base_path": ...,
         "data": [{"uttid", "speaker", "asr_text" (optional), "wav", "image"}, ...]}

Base paths are absolute or relative to the JSON's directory; ``image_root`` / ``audio_root`` in the
corpus config override them (the Places images usually live apart from the audio). The paper's dev and
test sets are the 1,000-image ``dev_seen`` and ``test_seen`` splits.

Image identity: an image is its file stem (``gsun_<hash>``), as in the authors' feature file, whose
image nodes are named by stem. Two different image paths with one stem would merge two images into
one, so the loader checks that every stem has one path across all split files, stops naming both
entries when not, and logs the check (about 400k stems at the paper's size: one dict, seconds).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from vgs.corpora.manifest import CorpusError, CorpusFormat, Listing, excluded_frame, finish_manifest, join_path
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
    first_seen: dict[str, tuple[str, str]] = {}  # image id (stem) -> (image path, where it was listed)
    for split, path in files.items():
        content = read_json(path)
        items = required(content, "data", str(path), list)
        images = _base(image_root, optional_text(content, "image_base_path", str(path)), metadata)
        audio = _base(audio_root, optional_text(content, "audio_base_path", str(path)), metadata)
        for number, item in enumerate(items):
            where = f"{path}: {entry_label('data', number, item, 'uttid')}"
            image = required_name(item, "image", where)
            image_id, image_path = PurePosixPath(image).stem, join_path(images, image)
            seen_path, seen_where = first_seen.setdefault(image_id, (image_path, where))
            if seen_path != image_path:
                raise CorpusError(
                    f"{where}: image {image_path} has the file stem {image_id!r} of another image, "
                    f"{seen_path} ({seen_where}); an image is identified by its stem, so these two would "
                    "be merged. Check the metadata (the released Places 2020 names are unique)."
                )
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
                }
            )
    log.info("Places (%s): %d images, each file stem names one image path (checked)", root, len(first_seen))
    return Listing(finish_manifest(rows, f"Places ({root})", SOURCE), excluded_frame([]))


def read(spec: Mapping[str, Any]) -> Listing:
    """The corpus a ``corpora:`` entry of format places names."""
    return load_places(spec["root"], spec.get("image_root"), spec.get("audio_root"))


FORMAT = CorpusFormat("places", read, SOURCE)
