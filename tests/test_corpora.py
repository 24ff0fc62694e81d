"""Corpus loaders on fixture trees in the real Flickr8k / Places / SpokenCOCO formats, and their errors."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
import soundfile
from PIL import Image

from vgs.corpora.load import load_corpus, read_corpus
from vgs.corpora.manifest import MANIFEST_COLUMNS, CorpusError
from vgs.features.frames import ms_to_samples
from vgs.io import read_tsv

MIN_SAMPLES = ms_to_samples(25.0)  # one default MFCC analysis window (features.mfcc.window_ms)


def touch_wav(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, np.zeros(800, dtype=np.int16), 16000, subtype="PCM_16")


def touch_image(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), (10, 20, 30)).save(path)


def write_flickr8k(root: Path, splits: dict[str, int], captions: int = 5) -> None:
    """Karpathy JSON + Flicker8k_Dataset + flickr_audio, one wav per caption."""
    images, wav2capt, wav2spk = [], [], []
    number = 0
    for split, count in splits.items():
        for _ in range(count):
            filename = f"{1000 + number}_abc.jpg"
            touch_image(root / "Flicker8k_Dataset" / filename)
            sentences = [
                {"raw": f"caption {k} of image {number} .", "sentid": number * captions + k} for k in range(captions)
            ]
            images.append({"filename": filename, "imgid": number, "split": split, "sentences": sentences})
            for k in range(captions):
                wav = f"{1000 + number}_abc_{k}.wav"
                touch_wav(root / "flickr_audio" / "wavs" / wav)
                wav2capt.append(f"{wav} {filename} #{k}")
                wav2spk.append(f"{wav} spk{k % 2}")
            number += 1
    (root / "dataset_flickr8k.json").write_text(json.dumps({"images": images, "dataset": "flickr8k"}))
    (root / "flickr_audio" / "wav2capt.txt").write_text("\n".join(wav2capt) + "\n")
    (root / "flickr_audio" / "wav2spk.txt").write_text("\n".join(wav2spk) + "\n")


def write_places(root: Path, sizes: dict[str, int], absolute_audio: Path | None = None) -> None:
    """metadata/<split>_2020.json with relative image base path and (optionally) absolute audio base."""
    names = {"train": "train_2020.json", "dev": "dev_seen_2020.json", "test": "test_seen_2020.json"}
    audio_base = absolute_audio or root / "audio"
    number = 0
    for split, count in sizes.items():
        data = []
        for _ in range(count):
            image = f"a/abbey/gsun_{number:04d}.jpg"
            wav = f"wavs/{number % 3}/utt{number}.wav"
            touch_image(root / "images" / image)
            touch_wav(audio_base / wav)
            item = {"uttid": f"UTT{number}", "speaker": f"S{number % 4}", "wav": wav, "image": image}
            if number % 2:
                item["asr_text"] = f"an abbey number {number}"
            data.append(item)
            number += 1
        content = {
            "image_base_path": "../images",
            "audio_base_path": str(audio_base) if absolute_audio else "../audio",
            "data": data,
        }
        (root / "metadata").mkdir(parents=True, exist_ok=True)
        (root / "metadata" / names[split]).write_text(json.dumps(content))


def write_spokencoco(root: Path, train_images: int, val_images: int, captions: int = 5) -> None:
    """SpokenCOCO_{train,val}.json with wavs under root and images under root/images."""
    for part, count, offset in (("train", train_images, 0), ("val", val_images, 10_000)):
        data = []
        for number in range(offset, offset + count):
            image = f"{part}2014/COCO_{part}2014_{number:012d}.jpg"
            touch_image(root / "images" / image)
            entries = []
            for k in range(captions):
                uttid = f"W{number}_{k}"
                wav = f"wavs/{part}/{number % 5}/{uttid}.wav"
                touch_wav(root / wav)
                entries.append({"text": f"A PICTURE {number} {k}", "speaker": f"W{k}", "uttid": uttid, "wav": wav})
            data.append({"image": image, "captions": entries})
        (root / f"SpokenCOCO_{part}.json").write_text(json.dumps({"data": data}))


def split_images(frame) -> dict[str, int]:
    return frame.groupby("split")["image_id"].nunique().to_dict()


def test_flickr8k_manifest(tmp_path: Path) -> None:
    write_flickr8k(tmp_path, {"train": 3, "restval": 1, "val": 2, "test": 2})
    frame = read_corpus({"format": "flickr8k", "root": str(tmp_path)})
    assert list(frame.columns) == MANIFEST_COLUMNS
    assert split_images(frame) == {"train": 4, "dev": 2, "test": 2}
    assert len(frame) == 8 * 5
    row = frame.set_index("utt_id").loc["1004_abc_3"]
    assert row["text"] == "caption 3 of image 4 ."
    assert row["image_id"] == "1004_abc" and row["speaker"] == "spk1" and row["split"] == "dev"
    assert Path(row["wav_path"]).is_file() and Path(row["image_path"]).is_file()


def test_flickr8k_dev_rows_in_the_authors_sampler_order(tmp_path: Path) -> None:
    """Images by name, each image's k-th recording (by wav name) for k = 0..4 in turn."""
    write_flickr8k(tmp_path, {"train": 2, "val": 3, "test": 1})
    wav2capt = tmp_path / "flickr_audio" / "wav2capt.txt"
    wav2capt.write_text("\n".join(reversed(wav2capt.read_text().splitlines())) + "\n")  # not name order
    frame = read_corpus({"format": "flickr8k", "root": str(tmp_path)})
    assert frame[frame["split"] == "dev"]["utt_id"].tolist() == [
        f"{image}_abc_{k}" for k in range(5) for image in (1002, 1003, 1004)
    ]


def test_flickr8k_skips_images_outside_karpathy_and_reads_optional_speakers(tmp_path: Path) -> None:
    write_flickr8k(tmp_path, {"train": 1, "val": 1, "test": 1})
    (tmp_path / "flickr_audio" / "wav2spk.txt").unlink()
    with open(tmp_path / "flickr_audio" / "wav2capt.txt", "a") as handle:
        handle.write("9999_x_0.wav 9999_x.jpg #0\n")
    frame = read_corpus({"format": "flickr8k", "root": str(tmp_path)})
    assert len(frame) == 15 and set(frame["speaker"]) == {""}


def test_flickr8k_bad_caption_index_names_line(tmp_path: Path) -> None:
    write_flickr8k(tmp_path, {"train": 1, "val": 1, "test": 1}, captions=2)
    with open(tmp_path / "flickr_audio" / "wav2capt.txt", "a") as handle:
        handle.write("extra.wav 1000_abc.jpg #7\n")
    with pytest.raises(CorpusError, match=r"wav2capt.txt:7: caption #7"):
        read_corpus({"format": "flickr8k", "root": str(tmp_path)})


def test_places_manifest_with_relative_and_absolute_bases(tmp_path: Path) -> None:
    audio = tmp_path / "elsewhere" / "audio"
    write_places(tmp_path / "places", {"train": 6, "dev": 2, "test": 3}, absolute_audio=audio)
    frame = read_corpus({"format": "places", "root": str(tmp_path / "places")})
    assert split_images(frame) == {"train": 6, "dev": 2, "test": 3}
    row = frame.set_index("utt_id").loc["UTT7"]
    assert row["image_id"] == "gsun_0007" and row["text"] == "an abbey number 7" and row["speaker"] == "S3"
    assert row["wav_path"].startswith(str(audio)) and Path(row["image_path"]).is_file()
    assert frame.set_index("utt_id").loc["UTT6", "text"] == ""


def test_places_config_overrides_base_paths(tmp_path: Path) -> None:
    write_places(tmp_path / "p", {"train": 2, "dev": 1, "test": 1})
    moved = tmp_path / "moved_images"
    (tmp_path / "p" / "images").rename(moved)
    spec = {"format": "places", "root": str(tmp_path / "p")}
    with pytest.raises(FileNotFoundError, match="4 Places .* images missing"):
        read_corpus(spec)
    frame = read_corpus({**spec, "image_root": str(moved)})
    assert all(path.startswith(str(moved)) for path in frame["image_path"])


def test_places_stops_when_two_image_paths_share_a_file_stem(tmp_path: Path) -> None:
    """An image is its file stem; two paths with one stem would merge two images, so loading stops
    naming the split file and both entries. The shared check of finish_manifest names neither."""
    write_places(tmp_path, {"train": 3, "dev": 1, "test": 1})
    dev = tmp_path / "metadata" / "dev_seen_2020.json"
    content = json.loads(dev.read_text())
    content["data"][0]["image"] = "b/bakery/gsun_0001.jpg"  # train entry UTT1 lists a/abbey/gsun_0001.jpg
    dev.write_text(json.dumps(content))
    touch_image(tmp_path / "images" / "b" / "bakery" / "gsun_0001.jpg")
    with pytest.raises(
        CorpusError,
        match=r"(?s)dev_seen_2020.json: .*UTT3.*b/bakery/gsun_0001.jpg.*'gsun_0001'"
        r".*a/abbey/gsun_0001.jpg .*train_2020.json: .*UTT1",
    ):
        read_corpus({"format": "places", "root": str(tmp_path)})


def test_places_reports_its_image_identity_check(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The same image listed twice (same path) is one image, not an error; the check is logged."""
    write_places(tmp_path, {"train": 3, "dev": 1, "test": 1})
    train = tmp_path / "metadata" / "train_2020.json"
    content = json.loads(train.read_text())
    content["data"][1]["image"] = content["data"][0]["image"]
    train.write_text(json.dumps(content))
    with caplog.at_level("INFO", logger="vgs.corpora.places"):
        frame = read_corpus({"format": "places", "root": str(tmp_path)})
    assert frame["image_id"].nunique() == 4
    assert "4 images, each file stem names one image path (checked)" in caplog.text


def test_spokencoco_dev_test_from_val_deterministic(tmp_path: Path) -> None:
    write_spokencoco(tmp_path, train_images=4, val_images=9, captions=3)
    spec = {
        "format": "spokencoco",
        "root": str(tmp_path),
        "dev_images": 3,
        "test_images": 4,
        "seed": 5,
        "selection": "seeded",
    }
    frame = read_corpus(spec)
    assert split_images(frame) == {"train": 4, "dev": 3, "test": 4}
    assert len(frame) == 11 * 3
    assert not frame[frame["split"] != "train"]["image_path"].str.contains("train2014").any()
    again = read_corpus(spec)
    assert again.equals(frame)
    other_seed = read_corpus({**spec, "seed": 6})
    assert set(other_seed[other_seed["split"] == "dev"]["image_id"]) != set(frame[frame["split"] == "dev"]["image_id"])
    row = frame.set_index("utt_id").loc["W2_1"]
    assert row["image_id"] == "COCO_train2014_000000000002"
    assert row["text"] == "A PICTURE 2 1" and row["speaker"] == "W1"


def authors_reading(train_json: Path, val_json: Path, block: int, path: Path) -> dict[str, list[str]]:
    """The authors' SpokenCOCO lists, by their procedure on a real HDF5 file (h5py, not our loader).

    Their preparation creates one group per image in JSON order (train, then val) in subgroups of
    ``block`` images and one child per recording named by its wav stem with ``-`` -> ``_``; HDF5
    lists children by name, their sampler takes val[:1000] as dev, val[4000:] as test (here: the
    last ``test`` of them) and children [0, 5) of each image, caption index outermost.
    """
    entries = [
        (entry, split)
        for source, split in ((train_json, "train"), (val_json, "val"))
        for entry in json.loads(source.read_text())["data"]
    ]
    with h5py.File(path, "w") as handle:
        for i, (entry, split) in enumerate(entries):
            node = handle.require_group(f"subgroup_{i // block}").create_group("coco_" + Path(entry["image"]).stem)
            node.attrs["split"] = split
            for caption in entry["captions"]:
                node.create_dataset(Path(caption["wav"]).name.split(".")[0].replace("-", "_"), data=0)
    with h5py.File(path, "r") as handle:
        nodes = [
            (name, [child for child in node])
            for subgroup in handle.values()
            for name, node in subgroup.items()
            if node.attrs["split"] == "val"
        ]
    return {
        "nodes": [name.removeprefix("coco_") for name, _ in nodes],
        "captions": [f"{name.removeprefix('coco_')} {children[k]}" for name, children in nodes for k in range(5)],
    }


@pytest.mark.parametrize("block", [10_000, 1])  # 1: twelve subgroups, read 0, 1, 10, 11, 2, ...
def test_spokencoco_authors_lists_on_the_miniature(tmp_path: Path, monkeypatch, block: int) -> None:
    from corpus_layouts import write_spokencoco
    from vgs.corpora import spokencoco

    write_spokencoco(tmp_path, {"train": 3, "dev": 4, "test": 5})
    val_json = tmp_path / "SpokenCOCO_val.json"
    val = json.loads(val_json.read_text())
    val["data"].reverse()  # JSON order is not name order
    for i, entry in enumerate(val["data"]):  # six recordings each: the first five by name are read
        entry["captions"].append(dict(entry["captions"][0], uttid=f"extra{i}", wav=f"wavs/val/a-first{i}.wav"))
    val_json.write_text(json.dumps(val))
    monkeypatch.setattr(spokencoco, "AUTHORS_BLOCK", block)
    frame = read_corpus({"format": "spokencoco", "root": str(tmp_path), "dev_images": 2, "test_images": 3})
    reference = authors_reading(tmp_path / "SpokenCOCO_train.json", val_json, block, tmp_path / "authors.h5")
    assert len(reference["nodes"]) == 9
    for split, images in (("dev", reference["nodes"][:2]), ("test", reference["nodes"][-3:])):
        rows = frame[frame["split"] == split]
        ours = [
            f"{image} {Path(wav).stem.replace('-', '_')}"
            for image, wav in zip(rows["image_id"], rows["wav_path"], strict=True)
        ]
        expected = [
            line
            for k in range(5)
            for image in images
            for line in [reference["captions"][reference["nodes"].index(image) * 5 + k]]
        ]
        assert ours == expected, split
    assert frame.groupby("image_id").size().eq(5).all()
    assert frame["utt_id"].str.startswith("extra").sum() == 5  # one per dev and test image


def test_spokencoco_val_too_small(tmp_path: Path) -> None:
    write_spokencoco(tmp_path, train_images=1, val_images=3, captions=1)
    with pytest.raises(CorpusError, match="val has 3 images; cannot take 2 dev \\+ 2 test"):
        read_corpus({"format": "spokencoco", "root": str(tmp_path), "dev_images": 2, "test_images": 2})


def test_missing_metadata_names_file_and_source(tmp_path: Path) -> None:
    with pytest.raises(
        FileNotFoundError, match=r"(?s)2 SpokenCOCO metadata files missing.*SpokenCOCO_train.json.*csail"
    ):
        read_corpus({"format": "spokencoco", "root": str(tmp_path)})
    with pytest.raises(FileNotFoundError, match=r"(?s)3 Places metadata files missing.*train_2020.json.*Places205"):
        read_corpus({"format": "places", "root": str(tmp_path)})


def test_missing_wavs_list_first_paths_and_total(tmp_path: Path) -> None:
    write_flickr8k(tmp_path / "f", {"train": 4, "val": 1, "test": 1})
    wavs = sorted((tmp_path / "f" / "flickr_audio" / "wavs").glob("*.wav"))
    for wav in wavs[:13]:
        wav.unlink()
    stop_list = tmp_path / "logs" / "f.rejected.tsv"
    with pytest.raises(CorpusError) as error:
        load_corpus(
            {"format": "flickr8k", "root": str(tmp_path / "f")},
            "f",
            tmp_path / "manifest.tsv",
            tmp_path / "rejected.tsv",
            stop_list,
            MIN_SAMPLES,
        )
    message = str(error.value)
    assert message.startswith("13 of 30 wavs (43.33%) of corpus f are unusable")
    assert f"{wavs[0]} (utterance {wavs[0].stem}): file missing" in message and "... and 3 more" in message
    assert f"All 13 are listed in {stop_list}" in message and "flickraudio" in message
    assert len(read_tsv(stop_list)) == 13 and not (tmp_path / "manifest.tsv").exists()


def test_load_corpus_writes_manifest(tmp_path: Path) -> None:
    write_spokencoco(tmp_path / "coco", train_images=2, val_images=2, captions=2)
    out = tmp_path / "results"
    load_corpus(
        {"format": "spokencoco", "root": str(tmp_path / "coco"), "dev_images": 1, "test_images": 1},
        "coco",
        out / "manifest.tsv",
        out / "rejected.tsv",
        tmp_path / "logs" / "rejected.tsv",
        MIN_SAMPLES,
    )
    written = read_tsv(out / "manifest.tsv", required=MANIFEST_COLUMNS)
    assert len(written) == 8 and list(written.columns) == MANIFEST_COLUMNS
    assert (out / "rejected.tsv").read_text() == "utt_id\twav_path\treason\n"
    assert sorted(path.name for path in out.iterdir()) == [
        "excluded.tsv",
        "manifest.tsv",
        "rejected.tsv",
        "repaired.tsv",
    ]
    assert (out / "excluded.tsv").read_text() == "utt_id\twav_path\treason\tentry\n"  # 2 + 2 images, all used
