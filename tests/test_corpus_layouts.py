"""The rehearsal's miniature corpora: the paper's corpus settings load them, every WAV variant is read.

Why: tests/test_rehearsal.py relies on these writers producing the real release layouts at the
paths paper.yaml (with rehearsal.yaml) names; this checks that in seconds, with soundfile's own
reading of each file as the reference for what was written.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import soundfile
import yaml
from snakemake.utils import update_config

from checkout import REPO
from corpus_layouts import write_flickr8k, write_places, write_spokencoco
from vgs.config import validate_config
from vgs.corpora.load import read_corpus
from vgs.features.audio import SAMPLE_RATE, read_audio


def rehearsal_corpora() -> dict:
    """corpora: of paper.yaml with rehearsal.yaml layered on, validated like the workflow does."""
    config = yaml.safe_load((REPO / "workflow/config/paper.yaml").read_text())
    update_config(config, yaml.safe_load((REPO / "workflow/config/rehearsal.yaml").read_text()))
    return validate_config(config)["corpora"]


def test_miniatures_load_through_the_paper_corpus_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # paper.yaml's roots are relative to the working directory
    resources = Path("resources")
    write_flickr8k(resources / "flickr8k", {"train": 2, "dev": 1, "test": 1})
    write_places(resources / "places", resources / "places205", {"train": 3, "dev": 1, "test": 1})
    write_spokencoco(resources / "spokencoco", {"train": 2, "dev": 2, "test": 2})
    # The Places205 tree: <letter>/<category>/<file>.jpg, nothing left beside the Places audio.
    tree = [path.relative_to(resources / "places205").parts for path in (resources / "places205").rglob("*.jpg")]
    assert len(tree) == 5 and all(len(parts) == 3 and parts[1][0] == parts[0] for parts in tree)
    assert not (resources / "places" / "images").exists()

    sizes = {}
    for name, spec in rehearsal_corpora().items():
        frame = read_corpus(spec)
        sizes[name] = frame.groupby("split")["image_id"].nunique().to_dict()
        assert all(Path(path).is_file() for path in [*frame["wav_path"], *frame["image_path"]])
    assert sizes == {
        "flickr8k": {"train": 2, "dev": 1, "test": 1},
        "places": {"train": 3, "dev": 1, "test": 1},
        "spokencoco": {"train": 2, "dev": 2, "test": 2},
    }


def test_wavs_at_other_rates_and_in_stereo_are_read_as_16_khz_mono(tmp_path: Path) -> None:
    variants = write_flickr8k(tmp_path, {"train": 2, "dev": 1, "test": 1})
    assert {(16_000, 1), (8_000, 1), (44_100, 1), (16_000, 2)} <= set(variants)
    seen = set()
    for wav in sorted((tmp_path / "flickr_audio" / "wavs").glob("*.wav")):
        info = soundfile.info(wav)
        seen.add((info.samplerate, info.channels))
        audio = read_audio(wav)
        assert audio.ndim == 1
        assert audio.shape[0] == pytest.approx(info.frames * SAMPLE_RATE / info.samplerate, abs=2)
    assert seen == set(variants)


def test_flickr8k_put_together_from_the_copies_that_circulate(tmp_path: Path) -> None:
    """MIT's Flickr8k Audio download is reported dead (MTEB issue 2298); docs/full-scale.md points at copies.
    Kaggle's audio copy (warcoder/flickr-8k-audio-caption-corpus) is the release's ``flickr_audio/``, read as
    it is beside Karpathy's ``dataset_flickr8k.json``; Kaggle's image copy (adityajn105/flickr8k) is
    ``Images/`` beside a ``captions.txt`` (``image,caption``), read through ``image_root``."""
    root = tmp_path / "flickr8k"
    write_flickr8k(root, {"train": 2, "dev": 1, "test": 1})
    images = tmp_path / "kaggle-flickr8k" / "Images"
    shutil.move(root / "Flicker8k_Dataset", images)
    captions = "".join(f"{image.name},a caption\n" for image in images.iterdir())
    (images.parent / "captions.txt").write_text(f"image,caption\n{captions}")
    assert sorted(path.name for path in root.iterdir()) == ["dataset_flickr8k.json", "flickr_audio"]

    frame = read_corpus({"format": "flickr8k", "root": str(root), "image_root": str(images)})
    assert frame.groupby("split")["image_id"].nunique().to_dict() == {"train": 2, "dev": 1, "test": 1}
    assert len(frame) == 20 and all(Path(path).parent == images for path in frame["image_path"])
    assert all(Path(path).is_file() for path in [*frame["wav_path"], *frame["image_path"]])
