"""The rehearsal's miniature corpora: the paper's corpus settings load them, every WAV variant is read.

Why: tests/test_rehearsal.py relies on these writers producing the real release layouts at the
paths paper.yaml (with rehearsal.yaml) names; this checks that in seconds, with soundfile's own
reading of each file as the reference for what was written.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import soundfile
import yaml
from snakemake.utils import update_config

from checkout import REPO
from corpus_layouts import write_flickr8k, write_places, write_spokencoco
from test_corpora import MIN_SAMPLES
from vgs.config import validate_config
from vgs.corpora.flickr8k import OUTSIDE_SPLITS
from vgs.corpora.load import LoadSummary, load_corpus, read_corpus
from vgs.corpora.manifest import EXCLUDED_COLUMNS, caption_name
from vgs.corpora.spokencoco import BEYOND_CAP, NOT_CHOSEN
from vgs.features.audio import SAMPLE_RATE, read_audio
from vgs.io import read_tsv


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


# --- Every recording the metadata lists is kept, rejected or left out and listed ----------------------------


def load_miniature(name: str, results: Path) -> tuple[LoadSummary, pd.DataFrame]:
    """Load a miniature with its paper.yaml (+ rehearsal.yaml) settings, as the load_corpus rule does."""
    summary = load_corpus(
        rehearsal_corpora()[name],
        name,
        results / "manifest.tsv",
        results / "rejected.tsv",
        results / "stop.tsv",
        MIN_SAMPLES,
    )
    return summary, read_tsv(results / "excluded.tsv", required=EXCLUDED_COLUMNS)


def test_spokencoco_recordings_beyond_five_per_image_and_unused_val_images_are_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hand count: 2 train images x 5 recordings, one of them given a sixth that sorts first by name
    (the authors keep the first five by name, so the original fifth is dropped); 5 val images x 5, of
    which dev and test take 2 + 2 (rehearsal.yaml), leaving one image's 5 recordings unused. Listed
    11 + 25 = 36, kept 10 + 20 = 30, left out 1 + 5 = 6."""
    monkeypatch.chdir(tmp_path)
    write_spokencoco(Path("resources/spokencoco"), {"train": 2, "dev": 2, "test": 3})
    train_json = Path("resources/spokencoco/SpokenCOCO_train.json")
    content = json.loads(train_json.read_text())
    captions = content["data"][0]["captions"]
    fifth = max(captions, key=lambda caption: caption_name(caption["wav"]))
    sixth = {**captions[0], "uttid": "aaa-sixth", "wav": "wavs/train/aaa-sixth.wav"}
    shutil.copy(Path("resources/spokencoco") / captions[0]["wav"], Path("resources/spokencoco") / sixth["wav"])
    captions.append(sixth)
    train_json.write_text(json.dumps(content))

    summary, excluded = load_miniature("spokencoco", tmp_path / "results")
    assert (summary.listed, summary.kept, summary.rejected) == (36, 30, 0)
    assert summary.excluded == {BEYOND_CAP: 1, NOT_CHOSEN: 5}
    assert excluded.loc[excluded["reason"] == BEYOND_CAP, "utt_id"].tolist() == [fifth["uttid"]]
    unused = excluded[excluded["reason"] == NOT_CHOSEN]
    assert len(unused) == 5 and unused["entry"].str.startswith("resources/spokencoco/SpokenCOCO_val.json: data[").all()
    assert summary.line(tmp_path / "results" / "rejected.tsv").startswith(
        "corpus spokencoco: 30 of 36 utterances kept (6 images), 0 rejected for unusable audio"
    )
    assert (
        f"6 left out by the format (1 {BEYOND_CAP}; 5 {NOT_CHOSEN}; listed in {tmp_path / 'results' / 'excluded.tsv'})"
        in summary.line(tmp_path / "results" / "rejected.tsv")
    )
    assert summary.labels()["left out by the format"] == 6


def test_flickr8k_recordings_of_images_outside_the_karpathy_splits_are_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hand count: 4 images x 5 recordings in Karpathy's splits, and two more lines of wav2capt.txt
    (lines 21 and 22) speaking captions of an image Karpathy's file does not have: listed 22, kept 20."""
    monkeypatch.chdir(tmp_path)
    write_flickr8k(Path("resources/flickr8k"), {"train": 2, "dev": 1, "test": 1})
    wav2capt = Path("resources/flickr8k/flickr_audio/wav2capt.txt")
    wav2capt.write_text(wav2capt.read_text() + "outside_0.wav 99_outside.jpg #0\noutside_1.wav 99_outside.jpg #1\n")

    summary, excluded = load_miniature("flickr8k", tmp_path / "results")
    assert (summary.listed, summary.kept, summary.excluded) == (22, 20, {OUTSIDE_SPLITS: 2})
    assert excluded["utt_id"].tolist() == ["outside_0", "outside_1"]
    assert [entry.split(" ")[0] for entry in excluded["entry"]] == [f"{wav2capt}:21", f"{wav2capt}:22"]
    assert summary.line(tmp_path / "results" / "rejected.tsv").startswith("corpus flickr8k: 20 of 22 utterances kept")


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
