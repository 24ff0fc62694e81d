"""Bad input in the real Flickr8k / Places / SpokenCOCO formats: one message naming file and entry,
wavs checked when the corpus is loaded, and ``on_bad_audio: skip`` listing every dropped utterance.

The bad wavs are the faults met in real downloads: empty files (the Places release has some),
header-only files, garbage, data shorter than the header declares (an interrupted download),
utterances shorter than one MFCC frame and missing files.
"""

from __future__ import annotations

import json
import logging
import re
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile
import yaml
from PIL import Image

from checkout import run_snakemake
from conftest import REPO
from test_corpora import MIN_SAMPLES, write_flickr8k, write_places, write_spokencoco
from vgs.config import ConfigError, validate_config
from vgs.corpora.audio_check import MFCC_SAMPLE_RATE, audio_problem
from vgs.corpora.audio_content import content_problem
from vgs.corpora.image_check import image_problem
from vgs.corpora.load import load_corpus, read_corpus
from vgs.corpora.manifest import CorpusError
from vgs.io import read_tsv

PLACES_SIZES = {"train": 20, "dev": 10, "test": 10}


def load(tmp_path: Path, spec: dict, corpus: str = "c") -> tuple[Path, Path, Path]:
    """Run load_corpus as the rule does; return (manifest, rejected.tsv, stop list) paths."""
    paths = tmp_path / "results" / "manifest.tsv", tmp_path / "results" / "rejected.tsv", tmp_path / "logs" / "stop.tsv"
    load_corpus(spec, corpus, *paths, MIN_SAMPLES)
    return paths


def edit_json(path: Path, edit: Callable[[dict], object]) -> None:
    content = json.loads(path.read_text())
    edit(content)
    path.write_text(json.dumps(content))


def write_seconds(path: Path, seconds: float, rate: int = 16000) -> None:
    soundfile.write(path, np.full(round(seconds * rate), 100, np.int16), rate, subtype="PCM_16")


def truncate(path: Path, keep_bytes: int) -> None:
    path.write_bytes(path.read_bytes()[:keep_bytes])


# --- Malformed metadata: one message naming file, entry and field -----------------------------


CORPORA = {
    "flickr8k": lambda root: write_flickr8k(root, {"train": 3, "val": 1, "test": 1}, captions=3),
    "places": lambda root: write_places(root, PLACES_SIZES),
    "spokencoco": lambda root: write_spokencoco(root, train_images=3, val_images=4, captions=3),
}
SPECS = {"flickr8k": {}, "places": {}, "spokencoco": {"dev_images": 2, "test_images": 2}}


def spec_of(fmt: str, root: Path, **extra) -> dict:
    return {"format": fmt, "root": str(root), **SPECS[fmt], **extra}


# (format, metadata file, how it is damaged, how the message must begin after "<file>: ")
DAMAGES = {
    "flickr8k-raw": (
        "flickr8k",
        "dataset_flickr8k.json",
        lambda c: c["images"][1]["sentences"][2].pop("raw"),
        "images[1] (filename '1001_abc.jpg') sentences[2] (spoken in 1001_abc_2.wav): required field 'raw'",
    ),
    "flickr8k-split": (
        "flickr8k",
        "dataset_flickr8k.json",
        lambda c: c["images"][2].pop("split"),
        "images[2] (filename '1002_abc.jpg'): required field 'split'",
    ),
    "places-wav": (
        "places",
        "metadata/dev_seen_2020.json",
        lambda c: c["data"][1].pop("wav"),
        "data[1] (uttid 'UTT21'): required field 'wav'",
    ),
    "places-uttid": (
        "places",
        "metadata/train_2020.json",
        lambda c: c["data"][3].pop("uttid"),
        "data[3]: required field 'uttid'",
    ),
    "places-wav-type": (
        "places",
        "metadata/test_seen_2020.json",
        lambda c: c["data"][0].update(wav=["a.wav"]),
        "data[0] (uttid 'UTT30'): field 'wav' should be text, got \"['a.wav']\"",
    ),
    "spokencoco-uttid": (
        "spokencoco",
        "SpokenCOCO_train.json",
        lambda c: c["data"][1]["captions"][2].pop("uttid"),
        "data[1] (image 'train2014/COCO_train2014_000000000001.jpg') captions[2]: required field 'uttid'",
    ),
    "spokencoco-wav": (
        "spokencoco",
        "SpokenCOCO_val.json",
        lambda c: c["data"][0]["captions"][1].pop("wav"),
        "data[0] (image 'val2014/COCO_val2014_000000010000.jpg') captions[1] (uttid 'W10000_1'): required field 'wav'",
    ),
}


@pytest.mark.parametrize(("fmt", "name", "damage", "entry"), DAMAGES.values(), ids=DAMAGES.keys())
def test_malformed_entry_names_file_entry_and_field(
    tmp_path: Path, fmt: str, name: str, damage: Callable[[dict], object], entry: str
) -> None:
    CORPORA[fmt](tmp_path)
    edit_json(tmp_path / name, damage)
    with pytest.raises(CorpusError) as error:
        read_corpus(spec_of(fmt, tmp_path))
    assert str(error.value).startswith(f"{tmp_path / name}: {entry}")


@pytest.mark.parametrize(
    ("fmt", "name"),
    [
        ("flickr8k", "dataset_flickr8k.json"),
        ("places", "metadata/test_seen_2020.json"),
        ("spokencoco", "SpokenCOCO_train.json"),
    ],
)
def test_truncated_json_names_file_line_and_column(tmp_path: Path, fmt: str, name: str) -> None:
    CORPORA[fmt](tmp_path)
    path = tmp_path / name
    text = json.dumps(json.loads(path.read_text()), indent=1)  # several lines, so the line number matters
    path.write_text(text[: len(text) // 2])
    lines = text[: len(text) // 2].splitlines()
    with pytest.raises(CorpusError, match=rf"^{path}:{len(lines)}:\d+: not valid JSON \(.*\); the file is damaged"):
        read_corpus(spec_of(fmt, tmp_path))


# --- Splits must not share images ------------------------------------------------------------------


def test_val_image_also_in_the_train_json_stops_naming_both_entries(tmp_path: Path) -> None:
    CORPORA["spokencoco"](tmp_path)
    val = json.loads((tmp_path / "SpokenCOCO_val.json").read_text())["data"][0]
    leaked = {"image": val["image"], "captions": [{**val["captions"][0], "uttid": "LEAK", "wav": "wavs/leak.wav"}]}
    edit_json(tmp_path / "SpokenCOCO_train.json", lambda c: c["data"].append(leaked))
    with pytest.raises(CorpusError) as error:
        read_corpus(spec_of("spokencoco", tmp_path))  # all four val images are dev or test
    image = "'val2014/COCO_val2014_000000010000.jpg'"
    assert str(error.value).startswith(
        f"SpokenCOCO ({tmp_path}): 1 image(s) are in more than one split; train, dev and test must not share "
        "images (remove each from all but one split file):\n"
        f"  'COCO_val2014_000000010000' in train, "
    )
    message = str(error.value)
    assert f"{tmp_path / 'SpokenCOCO_train.json'}: data[3] (image {image}) captions[0] (uttid 'LEAK')" in message
    assert f"{tmp_path / 'SpokenCOCO_val.json'}: data[0] (image {image}) captions[0] (uttid 'W10000_0')" in message


def test_places_image_in_train_and_test_stops(tmp_path: Path) -> None:
    CORPORA["places"](tmp_path)
    train_image = json.loads((tmp_path / "metadata" / "train_2020.json").read_text())["data"][2]["image"]
    edit_json(tmp_path / "metadata" / "test_seen_2020.json", lambda c: c["data"][1].update(image=train_image))
    with pytest.raises(
        CorpusError,
        match=(
            r"(?s)1 image\(s\) are in more than one split.*\n  'gsun_0002' in train, test: "
            rf"{tmp_path}/metadata/train_2020.json: data\[2\] \(uttid 'UTT2'\); "
            rf"{tmp_path}/metadata/test_seen_2020.json: data\[1\] \(uttid 'UTT31'\)$"
        ),
    ):
        read_corpus(spec_of("places", tmp_path))


def test_karpathy_image_listed_twice_stops_naming_both_entries(tmp_path: Path) -> None:
    """A second entry would silently replace the first, moving a test image and its captions to train."""
    CORPORA["flickr8k"](tmp_path)
    karpathy = tmp_path / "dataset_flickr8k.json"
    edit_json(karpathy, lambda c: c["images"].append({**c["images"][4], "split": "train"}))
    with pytest.raises(CorpusError) as error:
        read_corpus(spec_of("flickr8k", tmp_path))
    assert str(error.value) == (
        f"{karpathy}: images[5] (filename '1004_abc.jpg'): '1004_abc.jpg' is listed twice, also as "
        f"{karpathy}: images[4] (filename '1004_abc.jpg')"
    )


# --- Unclear messages made clear: file and entry ------------------------------------------------------


def test_non_utf8_speaker_list_names_file_and_line(tmp_path: Path) -> None:
    CORPORA["flickr8k"](tmp_path)
    wav2spk = tmp_path / "flickr_audio" / "wav2spk.txt"
    lines = wav2spk.read_bytes().split(b"\n")
    lines[2] = lines[2].replace(b"spk0", b"sp\xe9k0")  # Latin-1 e-acute
    wav2spk.write_bytes(b"\n".join(lines))
    offset = sum(len(line) + 1 for line in lines[:2]) + len(b"1000_abc_2.wav sp")
    with pytest.raises(CorpusError) as error:
        read_corpus(spec_of("flickr8k", tmp_path))
    assert str(error.value).startswith(f"{wav2spk}:3: byte {offset} (b'\\xe9') is not UTF-8 text")


def test_empty_image_name_names_the_entry(tmp_path: Path) -> None:
    CORPORA["places"](tmp_path)
    path = tmp_path / "metadata" / "dev_seen_2020.json"
    edit_json(path, lambda c: c["data"][1].update(image=""))
    with pytest.raises(CorpusError) as error:
        read_corpus(spec_of("places", tmp_path))
    assert str(error.value) == f"{path}: data[1] (uttid 'UTT21'): field 'image' is empty; it must name a file or an id"


def test_duplicate_utterance_ids_name_files_and_entries(tmp_path: Path) -> None:
    CORPORA["places"](tmp_path)
    edit_json(tmp_path / "metadata" / "dev_seen_2020.json", lambda c: c["data"][3].update(uttid="UTT5"))
    with pytest.raises(CorpusError) as error:
        read_corpus(spec_of("places", tmp_path))
    assert str(error.value) == (
        f"Places ({tmp_path}): 1 utterance id(s) appear more than once; each utterance needs its own id:\n"
        f"  'UTT5' in {tmp_path}/metadata/train_2020.json: data[5] (uttid 'UTT5'); "
        f"{tmp_path}/metadata/dev_seen_2020.json: data[3] (uttid 'UTT5')"
    )


# --- Wavs checked when the corpus is loaded ---------------------------------------------------


def test_audio_problem_reasons(tmp_path: Path) -> None:
    """Each fault gives its own reason; lengths are pinned to hand computations."""
    write_seconds(tmp_path / "long.wav", 1.7)  # 27,200 frames of 2 bytes after a 44-byte header
    truncate(tmp_path / "long.wav", 44 + 4000)  # 2,000 frames = 0.125 s
    (tmp_path / "empty.wav").write_bytes(b"")
    write_seconds(tmp_path / "header.wav", 0)
    (tmp_path / "garbage.wav").write_bytes(b"not audio at all " * 20)
    write_seconds(tmp_path / "short.wav", 0.01)
    write_seconds(tmp_path / "good.wav", 0.05)
    reasons = {path.name: audio_problem(str(path), MIN_SAMPLES) for path in tmp_path.iterdir()}
    assert reasons == {
        "long.wav": "truncated: the header declares 1.700 s of audio, the file holds 0.125 s",
        "empty.wav": "empty file (0 bytes)",
        "header.wav": "no audio frames (header only)",
        "garbage.wav": "unreadable audio header (Format not recognised.)",
        "short.wav": "10.0 ms of audio, shorter than one MFCC frame (25 ms)",
        "good.wav": None,
    }
    assert audio_problem(str(tmp_path / "absent.wav"), MIN_SAMPLES) == "file missing"


# Fewest frames at each rate that resample to >= 400 samples (one 25 ms window) at 16 kHz:
# ceil(frames * 16000 / rate) >= 400.
SHORTEST = {8000: 200, 16000: 400, 22050: 550, 44100: 1100}


def test_corpus_check_refuses_exactly_what_the_mfcc_stage_refuses() -> None:
    """The loader's shortest usable utterance is the MFCC extractor's (one window), not the FFT size."""
    from vgs.features.mfcc import MfccExtractor, MfccSettings

    assert MfccExtractor(MfccSettings()).min_samples == MIN_SAMPLES == 400


@pytest.mark.parametrize(("rate", "shortest"), SHORTEST.items())
def test_shortest_accepted_wav_is_what_the_mfcc_reader_accepts(tmp_path: Path, rate: int, shortest: int) -> None:
    """At other rates the length that counts is after resampling to 16 kHz, as in vgs.features.audio."""
    from vgs.features import audio

    assert audio.SAMPLE_RATE == MFCC_SAMPLE_RATE
    for frames in (shortest - 1, shortest):
        path = tmp_path / f"{frames}.wav"
        soundfile.write(path, np.full(frames, 100, np.int16), rate, subtype="PCM_16")
        try:
            audio.read_audio(path, MIN_SAMPLES)
            mfcc_reads = True
        except audio.AudioError:
            mfcc_reads = False
        assert (audio_problem(str(path), MIN_SAMPLES) is None) == mfcc_reads == (frames == shortest)


def break_wavs(wavs: list[Path]) -> dict[Path, str]:
    """Break the first six wavs, one fault each; return the reason each must get."""
    write_seconds(wavs[0], 1.7)
    truncate(wavs[0], 44 + 4000)
    wavs[1].write_bytes(b"")
    write_seconds(wavs[2], 0)
    wavs[3].write_bytes(b"RIFF garbage")
    write_seconds(wavs[4], 0.005)
    wavs[5].unlink()
    return {
        wavs[0]: "truncated: the header declares 1.700 s of audio, the file holds 0.125 s",
        wavs[1]: "empty file (0 bytes)",
        wavs[2]: "no audio frames (header only)",
        wavs[3]: "unreadable audio header",
        wavs[4]: "5.0 ms of audio, shorter than one MFCC frame (25 ms)",
        wavs[5]: "file missing",
    }


def places_with_bad_wavs(root: Path) -> dict[Path, str]:
    write_places(root, PLACES_SIZES)
    wavs = sorted((root / "audio" / "wavs").rglob("*.wav"), key=lambda path: int(path.stem[3:]))
    return break_wavs(wavs[::7])  # spread over the splits


def test_bad_wav_stops_naming_file_and_utterance(tmp_path: Path) -> None:
    write_spokencoco(tmp_path / "coco", train_images=2, val_images=2, captions=2)
    wav = tmp_path / "coco" / "wavs" / "train" / "1" / "W1_1.wav"
    write_seconds(wav, 1.7)
    truncate(wav, 44 + 4000)
    with pytest.raises(CorpusError) as error:
        load(tmp_path, spec_of("spokencoco", tmp_path / "coco", dev_images=1, test_images=1), "coco")
    assert str(error.value).startswith(
        f"1 of 8 wavs (12.50%) of corpus coco are unusable:\n  {wav} (utterance W1_1): truncated: the header "
        "declares 1.700 s of audio, the file holds 0.125 s\n"
    )
    assert "corpora.coco.on_bad_audio: skip" in str(error.value)


def test_every_bad_wav_is_named_and_listed_when_stopping(tmp_path: Path) -> None:
    broken = places_with_bad_wavs(tmp_path / "places")
    with pytest.raises(CorpusError) as error:
        load(tmp_path, spec_of("places", tmp_path / "places"), "places")
    message = str(error.value)
    assert message.startswith("6 of 40 wavs (15.00%) of corpus places are unusable:")
    for wav, reason in broken.items():
        assert f"{wav} (utterance UTT{wav.stem[3:]}): {reason}" in message
    listed = read_tsv(tmp_path / "logs" / "stop.tsv")
    assert sorted(listed["wav_path"]) == sorted(map(str, broken))
    assert not (tmp_path / "results" / "manifest.tsv").exists()


def test_skip_lists_every_bad_wav_and_logs_the_count(tmp_path: Path, caplog) -> None:
    broken = places_with_bad_wavs(tmp_path / "places")
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "stop.tsv").write_text("left by an earlier stopped attempt\n")
    caplog.set_level(logging.INFO)
    manifest, rejected, stop_list = load(
        tmp_path, spec_of("places", tmp_path / "places", on_bad_audio="skip", max_rejected_fraction=0.15), "places"
    )
    listed = read_tsv(rejected)
    assert list(listed.columns) == ["utt_id", "wav_path", "reason"]
    assert len(listed) == len(broken) and set(listed["wav_path"]) == set(map(str, broken))
    for wav, reason in broken.items():
        row = listed.set_index("wav_path").loc[str(wav)]
        assert row["utt_id"] == f"UTT{wav.stem[3:]}" and row["reason"].startswith(reason)
    kept = read_tsv(manifest)
    assert len(kept) == 34 and not set(kept["wav_path"]) & set(map(str, broken))
    assert "40 wavs checked: 6 rejected for unusable audio" in caplog.text
    assert not stop_list.exists()


def test_skip_still_stops_above_the_rejected_fraction(tmp_path: Path) -> None:
    broken = places_with_bad_wavs(tmp_path / "places")
    spec = spec_of("places", tmp_path / "places", on_bad_audio="skip", max_rejected_fraction=0.1)
    with pytest.raises(CorpusError) as error:
        load(tmp_path, spec, "places")
    message = str(error.value)
    assert message.startswith("6 of 40 wavs (15.00%) of corpus places are unusable")
    stop_list = tmp_path / "logs" / "stop.tsv"
    assert f"All 6 are listed in {stop_list}" in message
    assert "more than corpora.places.max_rejected_fraction = 0.1" in message
    assert set(read_tsv(stop_list)["wav_path"]) == set(map(str, broken))
    assert not (tmp_path / "results" / "manifest.tsv").exists()


# --- Content faults behind a sound header, found at load time --------------------------------------


def write_nan_float(path: Path) -> None:
    """A float WAV (a valid header) holding NaN samples, which the MFCC stage refuses."""
    samples = np.full(8000, 0.01, np.float32)
    samples[100:110] = np.nan
    soundfile.write(path, samples, 16000, subtype="FLOAT")


def write_8bit_under_16bit_header(path: Path) -> None:
    """8-bit unsigned PCM whose fmt chunk was rewritten to say 16-bit: consistent, half as long, noise."""
    samples = np.concatenate([np.zeros(4000), 0.2 * np.sin(np.arange(12000) / 5)])  # silence, then a tone
    soundfile.write(path, samples, 16000, subtype="PCM_U8")
    data = bytearray(path.read_bytes())
    fmt = data.index(b"fmt ") + 8  # format tag, channels, rate, byte rate, block align, bits per sample
    tag, channels, rate, byte_rate, _, _ = struct.unpack_from("<HHIIHH", data, fmt)
    struct.pack_into("<HHIIHH", data, fmt, tag, channels, rate, 2 * byte_rate, 2, 16)
    path.write_bytes(bytes(data))


def write_random_pcm(path: Path) -> None:
    """Random bytes behind a valid 16-bit header (e.g. a file overwritten by another download)."""
    soundfile.write(
        path, np.random.default_rng(0).integers(-32768, 32768, 8000, dtype=np.int16), 16000, subtype="PCM_16"
    )


CONTENT_FAULTS = {
    write_nan_float: "10 NaN or infinite samples (FLOAT data); the file is damaged: re-create it",
    write_8bit_under_16bit_header: "not speech: 100% of the samples of the first 0.25 s are above 0.4 of full scale",
    write_random_pcm: "not speech: 60% of the samples of the first 0.25 s are above 0.4 of full scale",  # uniform: 60%
}


def places_with_content_faults(root: Path) -> dict[Path, str]:
    write_places(root, PLACES_SIZES)
    wavs = sorted((root / "audio" / "wavs").rglob("*.wav"), key=lambda path: int(path.stem[3:]))[5::11]
    for wav, write in zip(wavs, CONTENT_FAULTS, strict=False):
        write(wav)
    return dict(zip(wavs, CONTENT_FAULTS.values(), strict=False))


def test_8bit_data_under_a_16bit_header_is_half_length_noise() -> None:
    """Hand computation behind the level check: two 8-bit midpoint samples (0x80 0x80) read as one
    little-endian int16 are -32640, 0.996 of full scale; the decoded length halves."""
    assert struct.unpack("<h", bytes([0x80, 0x80]))[0] == -32640


def test_content_faults_behind_a_valid_header_are_rejected_at_load_and_mfcc_finishes(tmp_path: Path) -> None:
    """Before: kept in the manifest; the MFCC shard then failed on the NaN file even under skip."""
    from vgs.features.mfcc import extract_mfcc_store
    from vgs.store import ArrayStore

    broken = places_with_content_faults(tmp_path / "places")
    assert soundfile.info(str(next(iter(broken)))).subtype == "FLOAT"
    manifest, rejected, _ = load(
        tmp_path, spec_of("places", tmp_path / "places", on_bad_audio="skip", max_rejected_fraction=0.1), "places"
    )
    listed = read_tsv(rejected).set_index("wav_path")
    assert set(listed.index) == set(map(str, broken))
    for wav, reason in broken.items():
        assert listed.loc[str(wav), "reason"].startswith(reason)
    assert extract_mfcc_store(manifest, tmp_path / "mfcc.h5") == 37
    assert not set(ArrayStore(tmp_path / "mfcc.h5")) & set(listed["utt_id"])


def test_content_faults_stop_by_default_and_above_the_fraction(tmp_path: Path) -> None:
    broken = places_with_content_faults(tmp_path / "places")
    with pytest.raises(CorpusError, match=r"^3 of 40 wavs \(7.50%\) of corpus places are unusable") as error:
        load(tmp_path, spec_of("places", tmp_path / "places"), "places")
    for wav in broken:
        assert str(wav) in str(error.value)
    with pytest.raises(CorpusError, match="more than corpora.places.max_rejected_fraction = 0.05"):
        load(
            tmp_path, spec_of("places", tmp_path / "places", on_bad_audio="skip", max_rejected_fraction=0.05), "places"
        )


def test_speech_passes_the_level_check(tmp_path: Path) -> None:
    """No false alarm on speech (espeak-ng, synthetic) at the releases' and the odd rates and in stereo."""
    from corpus_layouts import speak
    from vgs.world.formats import Utterance

    utterances = [Utterance(f"a dog runs on the grass number {k}", "en-us+m2", f"{k}.wav") for k in range(8)]
    speak(utterances, tmp_path)
    assert {content_problem(str(tmp_path / u.wav)) for u in utterances} == {None}


def jpeg(path: Path, size: int = 64) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(size).integers(0, 256, (size, size, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, quality=90)


def test_damaged_images_stop_the_load_naming_image_and_utterance(tmp_path: Path) -> None:
    """Before: loading succeeded; the image-feature stage found them after the MFCC stage had run."""
    from vgs.features.images import ImageError, load_image

    CORPORA["flickr8k"](tmp_path / "f")
    images = tmp_path / "f" / "Flicker8k_Dataset"
    jpeg(images / "1000_abc.jpg")
    truncate(images / "1000_abc.jpg", (images / "1000_abc.jpg").stat().st_size * 2 // 3)
    (images / "1002_abc.jpg").write_bytes(b"<html>404 Not Found</html>")
    (images / "1003_abc.jpg").write_bytes(b"")
    jpeg(images / "1004_abc.jpg")
    for name in ("1000_abc.jpg", "1002_abc.jpg", "1003_abc.jpg"):  # the feature stage's reader refuses each
        with pytest.raises(ImageError):
            load_image(str(images / name))
    load_image(str(images / "1004_abc.jpg"))
    with pytest.raises(CorpusError) as error:
        load(tmp_path, spec_of("flickr8k", tmp_path / "f"))
    assert str(error.value).startswith(
        "3 of 5 images of corpus c are unusable:\n"
        f"  {images}/1000_abc.jpg (image 1000_abc, e.g. utterance 1000_abc_0): truncated: the JPEG has no "
        "end-of-image marker (an interrupted download?)\n"
        f"  {images}/1002_abc.jpg (image 1002_abc, e.g. utterance 1002_abc_0): not an image PIL can read (damaged "
        "header or another kind of file)\n"
    )
    assert f"  {images}/1003_abc.jpg (image 1003_abc, e.g. utterance 1003_abc_0): empty file (0 bytes)\n" in (
        str(error.value)
    )
    assert image_problem(str(images / "1004_abc.jpg")) is None


# --- Missing transcripts are counted --------------------------------------------------------------


def test_missing_transcripts_are_counted_in_the_log(tmp_path: Path, caplog) -> None:
    write_places(tmp_path / "places", PLACES_SIZES)  # the fixture gives even-numbered utterances no asr_text
    caplog.set_level(logging.INFO)
    manifest, _, _ = load(tmp_path, spec_of("places", tmp_path / "places"))
    assert (read_tsv(manifest)["text"] == "").sum() == 20
    assert "20 of 40 utterances have no transcript in the metadata (their text is left empty), e.g. UTT0, UTT2" in (
        caplog.text
    )


# --- A run that succeeded says what it left out ----------------------------------------------------


def test_load_summary_counts_rejected_repaired_and_untranscribed(tmp_path: Path) -> None:
    """Hand count: wavs 0, 7, 14, 21, 28, 35 are broken; even-numbered utterances have no transcript,
    so 20 - 3 (0, 14, 28) of the 34 kept lack one; each Places utterance has its own image."""
    from vgs.corpora.load import LoadSummary

    places_with_bad_wavs(tmp_path / "places")
    spec = spec_of("places", tmp_path / "places", on_bad_audio="skip", max_rejected_fraction=0.15)
    summary = load_corpus(
        spec, "places", *(tmp_path / name for name in ("m.tsv", "rejected.tsv", "stop.tsv")), MIN_SAMPLES
    )
    assert summary.line(tmp_path / "rejected.tsv") == (
        f"corpus places: 34 of 40 utterances kept (34 images), 6 rejected for unusable audio (listed in "
        f"{tmp_path / 'rejected.tsv'}), 0 repaired (listed in {tmp_path / 'repaired.tsv'}), 0 left out by the "
        f"format (listed in {tmp_path / 'excluded.tsv'}), 17 without transcript"
    )
    assert summary.labels() == {
        "kept utterances": 34,
        "rejected utterances": 6,
        "no transcript": 17,
        "repaired wavs": 0,
        "left out by the format": 0,
    }
    (tmp_path / "repaired.tsv").write_text("utt_id\twav_path\nUTT1\ta.wav\nUTT2\tb.wav\n")  # the repair's list
    repaired = LoadSummary.from_outputs("places", tmp_path / "m.tsv", tmp_path / "rejected.tsv")
    assert repaired.labels()["repaired wavs"] == 2
    assert f", 2 repaired (listed in {tmp_path / 'repaired.tsv'}), " in repaired.line(tmp_path / "rejected.tsv")


# --- Root keys are honoured for every format --------------------------------------------------------


def test_flickr8k_image_and_audio_roots(tmp_path: Path) -> None:
    CORPORA["flickr8k"](tmp_path / "f")
    images, wavs = tmp_path / "images", tmp_path / "audio"
    (tmp_path / "f" / "Flicker8k_Dataset").rename(images)
    (tmp_path / "f" / "flickr_audio" / "wavs").rename(wavs)
    with pytest.raises(FileNotFoundError, match="5 Flickr8k .* images missing"):
        read_corpus(spec_of("flickr8k", tmp_path / "f"))
    manifest, _, _ = load(tmp_path, spec_of("flickr8k", tmp_path / "f", image_root=str(images), audio_root=str(wavs)))
    frame = read_tsv(manifest)
    assert len(frame) == 15
    assert all(path.startswith(f"{images}/") for path in frame["image_path"])
    assert all(path.startswith(f"{wavs}/") for path in frame["wav_path"])


def test_spokencoco_audio_root(tmp_path: Path) -> None:
    CORPORA["spokencoco"](tmp_path / "coco")
    moved = tmp_path / "audio"
    moved.mkdir()
    (tmp_path / "coco" / "wavs").rename(moved / "wavs")
    with pytest.raises(CorpusError, match="(?s)^21 of 21 wavs .* file missing"):
        load(tmp_path, spec_of("spokencoco", tmp_path / "coco"))
    manifest, _, _ = load(tmp_path, spec_of("spokencoco", tmp_path / "coco", audio_root=str(moved)))
    assert all(path.startswith(f"{moved}/wavs/") for path in read_tsv(manifest)["wav_path"])


# --- The settings are schema-checked ------------------------------------------------------------------


def test_schema_defaults_and_rejects_unknown_policy() -> None:
    config = yaml_config()
    filled = validate_config(config)["corpora"]["c"]
    assert filled["on_bad_audio"] == "stop" and filled["max_rejected_fraction"] == 0.01
    config["corpora"]["c"]["on_bad_audio"] = "ignore"
    with pytest.raises(ConfigError, match="corpora.c.on_bad_audio"):
        validate_config(config)


def yaml_config() -> dict:
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["corpora"] = {"c": {"format": "places", "root": "x"}}
    config["subsets"]["source"] = "c"
    return config


# --- The rule: rejected.tsv is an output, its count is in the log and the report ------------------------


@pytest.mark.slow
def test_rule_writes_rejected_tsv_and_the_report_counts_it(tmp_path: Path) -> None:
    broken = places_with_bad_wavs(tmp_path / "places")
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    # A real-format corpus states its size until its manifest exists (job resources are planned from it).
    config["corpora"]["bad"] = spec_of(
        "places",
        tmp_path / "places",
        on_bad_audio="skip",
        max_rejected_fraction=0.2,
        size={"captions": 40, "images": 40, "hours": 0.05, "train_captions": 20},
    )
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))

    def snakemake(*args: str) -> str:
        return run_snakemake(tmp_path, *args)

    terminal = snakemake("results/corpora/bad/manifest.tsv")
    listed = read_tsv(tmp_path / "results" / "corpora" / "bad" / "rejected.tsv")
    assert sorted(listed["wav_path"]) == sorted(map(str, broken))
    assert "40 wavs checked: 6 rejected" in (tmp_path / "results" / "logs" / "load_corpus" / "bad.log").read_text()
    assert (
        "corpus bad: 34 of 40 utterances kept (34 images), 6 rejected for unusable audio (listed in "
        "results/corpora/bad/rejected.tsv), 0 repaired (listed in results/corpora/bad/repaired.tsv), "
        "0 left out by the format (listed in results/corpora/bad/excluded.tsv), 17 without transcript"
    ) in terminal
    terminal = snakemake("results/features/mfcc/corpus/bad/shard0.h5")  # the fixture's wavs are all zeros
    assert re.search(r"results/features/mfcc/corpus/bad/shard0.h5: \d+ utterance\(s\) are digital silence", terminal)
    snakemake("results/corpora/bad/rejected.tsv", "--report", "report.html")
    assert (
        '"labels": {"corpus": "bad", "kept utterances": 34, "rejected utterances": 6, "no transcript": 17, '
        '"repaired wavs": 0, "left out by the format": 0}' in (tmp_path / "report.html").read_text()
    )


@pytest.mark.slow
def test_a_load_error_reaches_the_terminal_once(tmp_path: Path) -> None:
    """The shipped profile shows a failed job's log; the error is in it once, and nowhere else on the
    terminal (rule_context no longer lets Python print it a second time on the job's stderr)."""
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["corpora"]["bad"] = spec_of(
        "flickr8k", tmp_path / "absent", size={"captions": 40, "images": 8, "hours": 0.05, "train_captions": 30}
    )
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    failed = subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(tmp_path),
         "--workflow-profile", str(REPO / "workflow/profiles/default"), "--cores", "1",
         "results/corpora/bad/manifest.tsv"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    terminal = failed.stdout + failed.stderr
    assert failed.returncode != 0 and terminal.count("2 Flickr8k metadata files missing") == 1, terminal[-3000:]
    assert "Logfile results/logs/load_corpus/bad.log" in terminal
