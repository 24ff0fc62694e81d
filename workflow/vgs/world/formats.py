"""Write world corpora in the real on-disk formats of Flickr8k Audio, Places Audio and SpokenCOCO.

Why the real formats: the corpus loaders (``vgs.corpora``) must be the ones that read the real
datasets at full scale, so the world feeds them the same files rather than a private shortcut;
running the default workflow then exercises exactly the code a full-scale run uses.

Each format knows how to name an image (:attr:`Format.image_id`), where the image lives
(:attr:`Format.image_path`) and how to write its metadata, returning the utterances (caption text,
voice, wav path relative to the corpus root) that text-to-speech must produce.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from vgs.io import write_text_atomic
from vgs.world.scene import Scene

SPLIT_NAMES = ("train", "dev", "test")


@dataclass(frozen=True)
class CorpusImage:
    """One image of a world corpus with its captions and the voice speaking each caption."""

    image_id: str
    split: str  # train / dev / test
    scene: Scene
    captions: tuple[str, ...]
    voices: tuple[str, ...]


@dataclass(frozen=True)
class Utterance:
    """A caption to synthesise; ``wav`` is relative to the corpus root."""

    text: str
    voice: str
    wav: str


@dataclass(frozen=True)
class Format:
    """How one dataset lays out its files."""

    image_id: Callable[[int, str], str]  # (running number, split) -> image id
    image_path: Callable[[CorpusImage], str]  # relative to the corpus root
    write_metadata: Callable[[Path, Sequence[CorpusImage]], list[Utterance]]
    metadata_files: tuple[str, ...]  # relative to the corpus root, written by write_metadata


def speaker_dir(voice: str) -> str:
    """A voice name made safe as a directory / id part ("en-us+m2" -> "en-us_m2")."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", voice)


def _write_json(path: Path, content: object) -> None:
    write_text_atomic(path, json.dumps(content, indent=1, ensure_ascii=False) + "\n")


def _tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


# --- Flickr8k Audio + Karpathy splits ------------------------------------------------------------

FLICKR_SPLITS = {"train": "train", "dev": "val", "test": "test"}


def _flickr_write(root: Path, images: Sequence[CorpusImage]) -> list[Utterance]:
    entries, wav2capt, wav2spk, utterances = [], [], [], []
    sentid = 0
    for imgid, image in enumerate(images):
        filename = f"{image.image_id}.jpg"
        sentences = []
        for k, (text, voice) in enumerate(zip(image.captions, image.voices, strict=True)):
            sentences.append({"raw": text, "tokens": _tokens(text), "sentid": sentid + k, "imgid": imgid})
            wav = f"{image.image_id}_{k}.wav"
            wav2capt.append(f"{wav} {filename} #{k}\n")
            wav2spk.append(f"{wav} {voice}\n")
            utterances.append(Utterance(text, voice, f"flickr_audio/wavs/{wav}"))
        entries.append(
            {
                "filename": filename,
                "imgid": imgid,
                "split": FLICKR_SPLITS[image.split],
                "sentences": sentences,
                "sentids": [s["sentid"] for s in sentences],
            }
        )
        sentid += len(sentences)
    _write_json(root / "dataset_flickr8k.json", {"dataset": "flickr8k", "images": entries})
    write_text_atomic(root / "flickr_audio" / "wav2capt.txt", "".join(wav2capt))
    write_text_atomic(root / "flickr_audio" / "wav2spk.txt", "".join(wav2spk))
    return utterances


FLICKR8K = Format(
    image_id=lambda number, split: f"world_{number:06d}",
    image_path=lambda image: f"Flicker8k_Dataset/{image.image_id}.jpg",
    write_metadata=_flickr_write,
    metadata_files=("dataset_flickr8k.json", "flickr_audio/wav2capt.txt", "flickr_audio/wav2spk.txt"),
)


# --- Places Audio Captions (2020 split files) -------------------------------------------------------

PLACES_FILES = {"train": "train_2020.json", "dev": "dev_seen_2020.json", "test": "test_seen_2020.json"}


def _places_image(image: CorpusImage) -> str:
    """Image path below ``image_base_path``: one folder per place, like Places' category folders."""
    return f"{image.scene.place}/{image.image_id}.jpg"


def _uttid(voice: str, image: CorpusImage, k: int) -> str:
    return f"{speaker_dir(voice)}-{image.image_id}_{k}"


def _places_write(root: Path, images: Sequence[CorpusImage]) -> list[Utterance]:
    data: dict[str, list[dict[str, str]]] = {split: [] for split in SPLIT_NAMES}
    utterances = []
    for image in images:
        for k, (text, voice) in enumerate(zip(image.captions, image.voices, strict=True)):
            uttid = _uttid(voice, image, k)
            wav = f"wavs/{speaker_dir(voice)}/{uttid}.wav"
            data[image.split].append(
                {
                    "uttid": uttid,
                    "speaker": voice,
                    "asr_text": text,
                    "wav": wav,
                    "image": _places_image(image),
                }
            )
            utterances.append(Utterance(text, voice, f"audio/{wav}"))
    for split, name in PLACES_FILES.items():
        _write_json(
            root / "metadata" / name,
            {"image_base_path": "../images", "audio_base_path": "../audio", "data": data[split]},
        )
    return utterances


PLACES = Format(
    image_id=lambda number, split: f"world_{number:06d}",
    image_path=lambda image: f"images/{_places_image(image)}",
    write_metadata=_places_write,
    metadata_files=tuple(f"metadata/{name}" for name in PLACES_FILES.values()),
)


# --- SpokenCOCO ---------------------------------------------------------------------------------------

COCO_IMAGE_ROOT = "images"


def _coco_folder(split: str) -> str:
    """COCO 2014 folder: the world's dev and test images are both in val (the loader splits them)."""
    return "train2014" if split == "train" else "val2014"


def _coco_write(root: Path, images: Sequence[CorpusImage]) -> list[Utterance]:
    data: dict[str, list[dict[str, object]]] = {"train": [], "val": []}
    utterances = []
    for image in images:
        part = "train" if image.split == "train" else "val"
        captions = []
        for k, (text, voice) in enumerate(zip(image.captions, image.voices, strict=True)):
            uttid = _uttid(voice, image, k)
            wav = f"wavs/{part}/{uttid}.wav"
            captions.append({"text": text, "speaker": voice, "uttid": uttid, "wav": wav})
            utterances.append(Utterance(text, voice, wav))
        data[part].append({"image": f"{_coco_folder(image.split)}/{image.image_id}.jpg", "captions": captions})
    for part, entries in data.items():
        _write_json(root / f"SpokenCOCO_{part}.json", {"data": entries})
    write_text_atomic(
        root / "README.txt",
        "World SpokenCOCO corpus, generated by the world_generate rule (vgs.world).\n"
        f"image_root: {COCO_IMAGE_ROOT}/ (relative to this directory; holds train2014/ and val2014/)\n"
        "The world's dev and test images are both in SpokenCOCO_val.json; the loader picks dev/test.\n",
    )
    return utterances


SPOKENCOCO = Format(
    image_id=lambda number, split: f"COCO_{_coco_folder(split)}_{number:012d}",
    image_path=lambda image: f"{COCO_IMAGE_ROOT}/{_coco_folder(image.split)}/{image.image_id}.jpg",
    write_metadata=_coco_write,
    metadata_files=("SpokenCOCO_train.json", "SpokenCOCO_val.json", "README.txt"),
)


FORMATS: dict[str, Format] = {"flickr8k": FLICKR8K, "places": PLACES, "spokencoco": SPOKENCOCO}


def metadata_files(format_name: str) -> tuple[str, ...]:
    """Metadata files (relative to the corpus root) a format writes; rules declare them as outputs."""
    if format_name not in FORMATS:
        raise ValueError(f"unknown world corpus format {format_name!r}; choose from {', '.join(FORMATS)}")
    return FORMATS[format_name].metadata_files
