"""The generated world's corpora load through the real-format loaders (the default run's path)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile

import vgs.world.generate as generate
from vgs.corpora.load import read_corpus
from vgs.io import read_tsv

WORLD = {
    "seed": 3,
    "image_size": 32,
    "speakers": ["en-us+m2", "en-us+f1"],
    "corpora": {
        "flickr": {"format": "flickr8k", "images": {"train": 4, "dev": 2, "test": 2}, "captions_per_image": 2},
        "places": {"format": "places", "images": {"train": 5, "dev": 2, "test": 2}, "captions_per_image": 1},
        "coco": {"format": "spokencoco", "images": {"train": 4, "dev": 2, "test": 3}, "captions_per_image": 3},
    },
    "sts": {"pairs_per_subtask": 2, "subtasks": ["paraphrase", "unrelated"]},
}
LOADER = {"flickr": {}, "places": {}, "coco": {"dev_images": 2, "test_images": 3}}


@pytest.mark.parametrize("name", sorted(WORLD["corpora"]))
def test_world_corpus_loads(tmp_path: Path, name: str) -> None:
    spec = WORLD["corpora"][name]
    root = tmp_path / name
    generate.write_corpus(name, spec, WORLD, root)
    jobs = read_tsv(root / generate.JOBS_FILE, required=["wav_path"])
    for wav in jobs["wav_path"]:  # stand-in for text-to-speech
        Path(wav).parent.mkdir(parents=True, exist_ok=True)
        soundfile.write(wav, np.zeros(1600, np.int16), 16000, subtype="PCM_16")
    frame = read_corpus({"format": spec["format"], "root": str(root), **LOADER[name]})
    images = frame.groupby("split")["image_id"].nunique().to_dict()
    assert images == spec["images"]
    assert len(frame) == sum(spec["images"].values()) * spec["captions_per_image"]
    assert frame["text"].str.len().min() > 0 and set(frame["speaker"]) <= set(WORLD["speakers"])

    def resolved(paths) -> list[str]:
        return sorted(str(Path(path).resolve()) for path in paths)

    assert resolved(frame["wav_path"]) == resolved(jobs["wav_path"])
