"""Miniature Flickr8k Audio, Places Audio 2020 and SpokenCOCO corpora in their real on-disk layouts.

Why: the full-scale rehearsal must feed the paper's loaders the very files the real downloads
contain, at the paths ``workflow/config/paper.yaml`` expects, so that nothing between the
download and Table 2 differs from the paper run except size. Scenes, captions and metadata come
from the generated world (``vgs.world``): its format writers already write the real layouts
(Karpathy's ``dataset_flickr8k.json`` with ``flickr_audio/wav2capt.txt``, ``wav2spk.txt``,
``wavs/``, ``Flicker8k_Dataset/``; ``SpokenCOCO_{train,val}.json`` with ``wavs/{train,val}/`` and
``images/{train2014,val2014}/``). Only Places is laid out differently by the world, which keeps
its images and audio next to the metadata: the real release's JSON base paths point at MIT's
servers, its images are a separate Places205 tree (``<letter>/<category>/<file>.jpg``) and its
``wavs/`` sit under the audio root, so :func:`write_places` moves them there.

Captions are spoken by espeak-ng. Most WAVs are 16 kHz mono 16-bit like the releases; every few
files one is at 8 kHz, one at 44.1 kHz and one in stereo, the variants real downloads contain and
the MFCC front end must resample and downmix.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath

import numpy as np
import soundfile
from scipy.signal import resample_poly

from vgs.tts.backend import TARGET_RATE
from vgs.tts.espeak import EspeakBackend
from vgs.world.formats import FORMATS, PLACES_FILES, CorpusImage, Utterance
from vgs.world.generate import corpus_images, save_jpeg
from vgs.world.render import render_scene

# Caption speakers of the miniatures (espeak-ng voices used neither by SpokenSTS nor its natural sample).
SPEAKERS = ("en-us+m2", "en-us+m4", "en-us+f1", "en-us+f3")
IMAGE_SIZE = 64
# Where the real Places 2020 JSON files say their files are (MIT's servers); paper.yaml overrides both.
PLACES_SERVER_BASE = "/data/sls/temp/PlacesAudio_400k_distro"
# Every ODD_RATE_EVERY-th WAV is at another rate (alternately 8 kHz and 44.1 kHz); every
# STEREO_EVERY-th is stereo. Both are coprime, so every combination occurs.
ODD_RATE_EVERY, ODD_RATES = 5, (8_000, 44_100)
STEREO_EVERY = 7


def audio_variant(index: int) -> tuple[int, int]:
    """(sample rate, channels) of the ``index``-th WAV of a corpus."""
    rate = ODD_RATES[(index // ODD_RATE_EVERY) % 2] if index % ODD_RATE_EVERY == ODD_RATE_EVERY - 1 else TARGET_RATE
    channels = 2 if index % STEREO_EVERY == STEREO_EVERY - 1 else 1
    return rate, channels


def write_speech(path: Path, samples: np.ndarray, rate: int, channels: int) -> None:
    """16-bit PCM WAV of 16 kHz ``samples`` at ``rate`` Hz with ``channels`` channels."""
    audio = samples.astype(np.float32)
    if rate != TARGET_RATE:
        divisor = int(np.gcd(rate, TARGET_RATE))
        audio = resample_poly(audio, rate // divisor, TARGET_RATE // divisor)
    if channels == 2:  # the right channel a little quieter, so the two are not identical
        audio = np.stack([audio, 0.8 * audio], axis=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, np.clip(np.rint(audio), -32768, 32767).astype(np.int16), rate, subtype="PCM_16")


def speak(utterances: Sequence[Utterance], audio_root: Path) -> list[tuple[int, int]]:
    """Synthesise every utterance to ``audio_root / wav``; return the (rate, channels) written."""
    engine = EspeakBackend()
    variants = []
    for index, utterance in enumerate(utterances):
        variant = audio_variant(index)
        write_speech(audio_root / utterance.wav, engine.synthesize(utterance.text, utterance.voice), *variant)
        variants.append(variant)
    return variants


def draw_corpus(
    name: str, fmt: str, images: Mapping[str, int], captions_per_image: int, root: Path, seed: int = 1
) -> tuple[list[CorpusImage], list[Utterance]]:
    """Images (rendered world scenes) and metadata of one corpus in the world's layout of ``fmt``."""
    spec = {"format": fmt, "images": dict(images), "captions_per_image": captions_per_image}
    world = {"seed": seed, "image_size": IMAGE_SIZE, "speakers": list(SPEAKERS)}
    corpus = corpus_images(name, spec, world)
    layout = FORMATS[fmt]
    for image in corpus:
        save_jpeg(root / layout.image_path(image), render_scene(image.scene, IMAGE_SIZE))
    return corpus, layout.write_metadata(root, corpus)


def write_flickr8k(root: Path, images: Mapping[str, int]) -> list[tuple[int, int]]:
    """Flickr8k Audio + Karpathy split under ``root``: five spoken captions per image."""
    _, utterances = draw_corpus("flickr8k", "flickr8k", images, 5, root)
    return speak(utterances, root)


def write_spokencoco(root: Path, images: Mapping[str, int]) -> list[tuple[int, int]]:
    """SpokenCOCO under ``root`` (images in ``root/images``): five spoken captions per image."""
    _, utterances = draw_corpus("spokencoco", "spokencoco", images, 5, root)
    (root / "README.txt").unlink()  # the world's note on its layout; not part of the release
    return speak(utterances, root)


def write_places(root: Path, image_root: Path, images: Mapping[str, int]) -> list[tuple[int, int]]:
    """Places Audio 2020 under ``root`` (metadata/, wavs/) with a Places205 image tree at ``image_root``."""
    _, utterances = draw_corpus("places", "places", images, 1, root)
    for name in PLACES_FILES.values():
        path = root / "metadata" / name
        content = json.loads(path.read_text(encoding="utf-8"))
        for item in content["data"]:
            category, filename = PurePosixPath(item["image"]).parts
            item["image"] = f"{category[0]}/{category}/{filename}"
            (image_root / item["image"]).parent.mkdir(parents=True, exist_ok=True)
            shutil.move(root / "images" / category / filename, image_root / item["image"])
        content.update(image_base_path=f"{PLACES_SERVER_BASE}/images/", audio_base_path=f"{PLACES_SERVER_BASE}/")
        path.write_text(json.dumps(content, indent=1), encoding="utf-8")
    shutil.rmtree(root / "images")
    # The world writes audio under <root>/audio/; the release has wavs/ directly under the audio root.
    return speak([Utterance(u.text, u.voice, str(PurePosixPath(u.wav).relative_to("audio"))) for u in utterances], root)
