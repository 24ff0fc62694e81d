"""World corpora: real on-disk formats, speech jobs, determinism, stale-audio handling, speaking."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import yaml
from PIL import Image

from conftest import REPO
from vgs.config import ConfigError, validate_config
from vgs.io import read_tsv
from vgs.world import speak
from vgs.world.formats import metadata_files
from vgs.world.generate import generate_corpora
from vgs.world.sts import SUBTASKS, write_sts

WORLD = {
    "seed": 3,
    "image_size": 40,
    "corpora": {
        "flickr": {"format": "flickr8k", "images": {"train": 4, "dev": 2, "test": 3}, "captions_per_image": 5},
        "places": {"format": "places", "images": {"train": 6, "dev": 2, "test": 2}, "captions_per_image": 1},
        "coco": {"format": "spokencoco", "images": {"train": 3, "dev": 2, "test": 2}, "captions_per_image": 10},
    },
    "speakers": ["en-us+m2", "en-us+f1", "en-us+m4", "en-us+f3", "en-us+m5", "en-us+m6"],
}
OUT = "resources/world"


def _generate(directory: Path, monkeypatch: pytest.MonkeyPatch, world: dict = WORLD) -> Path:
    """Generate in ``directory`` with the relative out dir the rule uses."""
    monkeypatch.chdir(directory)
    generate_corpora(world, OUT)
    return directory / OUT


@pytest.fixture()
def world(tmp_path, monkeypatch) -> Path:
    return _generate(tmp_path, monkeypatch)


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _touch_wavs(jobs: pd.DataFrame) -> None:
    for path in jobs["wav_path"]:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, np.zeros(160, dtype=np.int16), 16000, subtype="PCM_16")


def _whole_world(directory: Path, monkeypatch: pytest.MonkeyPatch, seed: int) -> Path:
    """Everything the world's rules derive from ``seed``: the three corpora (images, captions,
    voices, metadata), ``scenes.tsv`` and the world STS set (as the world_sts rule writes it)."""
    directory.mkdir()
    root = _generate(directory, monkeypatch, {**WORLD, "seed": seed})
    write_sts(root / "sts", pairs_per_subtask=6, seed=seed)
    return root


def test_same_seed_gives_byte_identical_worlds(tmp_path, monkeypatch):
    first = _files(_whole_world(tmp_path / "a", monkeypatch, seed=3))
    second = _files(_whole_world(tmp_path / "b", monkeypatch, seed=3))
    assert first.keys() == second.keys() and len(first) > 40
    assert any(name.startswith("sts/") for name in first) and any(name.endswith(".jpg") for name in first)
    assert [name for name in first if first[name] != second[name]] == []


def _sts_pairs(root: Path) -> dict[str, list[str]]:
    """Subtask -> its lines ``sentence a <tab> sentence b <tab> grade``."""
    pairs = {}
    for inputs in sorted((root / "sts").rglob("STS.input.*.txt")):
        grades = inputs.with_name(inputs.name.replace(".input.", ".gs.")).read_text().splitlines()
        pairs[inputs.name] = [
            f"{line}\t{gold}" for line, gold in zip(inputs.read_text().splitlines(), grades, strict=True)
        ]
    return pairs


def test_another_seed_gives_another_world(tmp_path, monkeypatch):
    """Every part of the world follows the seed, not only the first corpus's captions: each image's
    scene and pixels, each corpus's captions and voices, and every STS subtask's pairs and grades."""
    first = _whole_world(tmp_path / "a", monkeypatch, seed=3)
    second = _whole_world(tmp_path / "b", monkeypatch, seed=4)
    scenes = [read_tsv(root / "scenes.tsv") for root in (first, second)]
    assert scenes[0]["image_id"].tolist() == scenes[1]["image_id"].tolist() and len(scenes[0]) == 9 + 10 + 7
    pixels = [
        [(directory / path).read_bytes() for path in frame["image_path"]]
        for directory, frame in zip((tmp_path / "a", tmp_path / "b"), scenes, strict=True)
    ]
    assert [n for n, (a, b) in enumerate(zip(*pixels, strict=True)) if a == b] == []
    # A scene description names place, objects (size, colour, kind) and relations: one image in
    # 26 agreeing by chance is possible, most agreeing is a seed that does not reach the scenes.
    assert (scenes[0]["scene"] == scenes[1]["scene"]).sum() <= 1
    for name in WORLD["corpora"]:
        jobs = [read_tsv(root / "corpora" / name / "speech_jobs.tsv") for root in (first, second)]
        same_text = (jobs[0]["text"] == jobs[1]["text"]).mean()
        assert same_text < 0.2, f"{name}: {same_text:.0%} of the captions are the same under another seed"
        assert jobs[0]["voice"].tolist() != jobs[1]["voice"].tolist(), name
    sts = [_sts_pairs(root) for root in (first, second)]
    assert sts[0].keys() == sts[1].keys() and len(sts[0]) == len(SUBTASKS)
    for subtask, lines in sts[0].items():
        assert not set(lines) & set(sts[1][subtask]), f"{subtask}: pairs shared across seeds"


def test_every_declared_metadata_file_is_written(world):
    for name, spec in WORLD["corpora"].items():
        for path in ("speech_jobs.tsv", *metadata_files(spec["format"])):
            assert (world / "corpora" / name / path).is_file(), path
    scenes = read_tsv(world / "scenes.tsv")
    assert len(scenes) == 9 + 10 + 7 and all(Path(path).is_file() for path in scenes["image_path"])


def test_flickr8k_layout(world):
    root = world / "corpora" / "flickr"
    karpathy = json.loads((root / "dataset_flickr8k.json").read_text())
    assert karpathy["dataset"] == "flickr8k"
    splits = pd.Series([image["split"] for image in karpathy["images"]]).value_counts().to_dict()
    assert splits == {"train": 4, "val": 2, "test": 3}
    sentids = [s["sentid"] for image in karpathy["images"] for s in image["sentences"]]
    assert sentids == list(range(9 * 5))
    for imgid, image in enumerate(karpathy["images"]):
        assert image["imgid"] == imgid and len(image["sentences"]) == 5
        assert image["sentids"] == [s["sentid"] for s in image["sentences"]]
        assert all(s["imgid"] == imgid and s["tokens"] == s["raw"].replace(",", "").split() for s in image["sentences"])
        with Image.open(root / "Flicker8k_Dataset" / image["filename"]) as picture:
            assert picture.format == "JPEG" and picture.size == (40, 40)
    lines = (root / "flickr_audio" / "wav2capt.txt").read_text().splitlines()
    assert len(lines) == 45
    by_name = {image["filename"]: image for image in karpathy["images"]}
    for line in lines:
        wav, filename, index = line.split()
        assert filename in by_name and wav == f"{Path(filename).stem}_{index[1:]}.wav"


def test_places_layout(world):
    root = world / "corpora" / "places"
    counts = {}
    for name in ("train_2020.json", "dev_seen_2020.json", "test_seen_2020.json"):
        content = json.loads((root / "metadata" / name).read_text())
        assert content["image_base_path"] == "../images" and content["audio_base_path"] == "../audio"
        counts[name] = len(content["data"])
        for item in content["data"]:
            assert set(item) == {"uttid", "speaker", "asr_text", "wav", "image"}
            assert item["speaker"] in WORLD["speakers"] and item["asr_text"]
            assert item["wav"].startswith("wavs/") and item["wav"].endswith(f"/{item['uttid']}.wav")
            assert (root / "metadata" / "../images" / item["image"]).is_file()
    assert counts == {"train_2020.json": 6, "dev_seen_2020.json": 2, "test_seen_2020.json": 2}


def test_spokencoco_layout(world):
    root = world / "corpora" / "coco"
    train = json.loads((root / "SpokenCOCO_train.json").read_text())["data"]
    val = json.loads((root / "SpokenCOCO_val.json").read_text())["data"]
    assert len(train) == 3 and len(val) == 2 + 2
    assert all(entry["image"].startswith("train2014/") for entry in train)
    assert all(entry["image"].startswith("val2014/") for entry in val)
    for entries, part in ((train, "train"), (val, "val")):
        for entry in entries:
            assert (root / "images" / entry["image"]).is_file()
            assert len(entry["captions"]) == 10 and len({c["text"] for c in entry["captions"]}) == 10
            assert all(c["wav"] == f"wavs/{part}/{c['uttid']}.wav" for c in entry["captions"])
    assert "image_root: images/" in (root / "README.txt").read_text()


def test_speech_jobs_list_every_caption_with_repository_relative_paths(world):
    for name, spec in WORLD["corpora"].items():
        jobs = read_tsv(world / "corpora" / name / "speech_jobs.tsv", ["text", "voice", "wav_path"])
        assert len(jobs) == sum(spec["images"].values()) * spec["captions_per_image"]
        assert jobs["wav_path"].is_unique
        assert all(path.startswith(f"{OUT}/corpora/{name}/") for path in jobs["wav_path"])
        assert set(jobs["voice"]) <= set(WORLD["speakers"]) and (jobs["text"] != "").all()
    flickr = read_tsv(world / "corpora" / "flickr" / "speech_jobs.tsv")
    per_image = flickr.groupby(flickr["wav_path"].str.rsplit("_", n=1).str[0])["voice"].nunique()
    assert (per_image == 5).all(), "five captions of an image should have five different voices"


def test_real_loaders_read_the_world_corpora(world):
    from vgs.corpora.flickr8k import load_flickr8k
    from vgs.corpora.places import load_places
    from vgs.corpora.spokencoco import load_spokencoco

    for name in WORLD["corpora"]:
        _touch_wavs(read_tsv(world / "corpora" / name / "speech_jobs.tsv"))
    flickr = load_flickr8k(f"{OUT}/corpora/flickr").manifest
    places = load_places(f"{OUT}/corpora/places").manifest
    coco = load_spokencoco(f"{OUT}/corpora/coco", dev_images=2, test_images=2, seed=0, selection="seeded").manifest
    assert flickr["split"].value_counts().to_dict() == {"train": 20, "test": 15, "dev": 10}
    assert places["split"].value_counts().to_dict() == {"train": 6, "dev": 2, "test": 2}
    assert coco["split"].value_counts().to_dict() == {"train": 30, "dev": 20, "test": 20}
    assert set(flickr["speaker"]) <= set(WORLD["speakers"])


def test_regeneration_deletes_exactly_the_wavs_whose_caption_changed(world, monkeypatch):
    """Flickr wav names do not depend on text or voice, so a new seed reuses them for other captions."""
    jobs_path = world / "corpora" / "flickr" / "speech_jobs.tsv"
    before = read_tsv(jobs_path)
    _touch_wavs(before)
    grown = copy.deepcopy(WORLD)
    grown["corpora"]["flickr"]["images"]["test"] += 1  # old images keep their ids and captions
    generate_corpora(grown, OUT)
    assert all(Path(path).is_file() for path in before["wav_path"])
    generate_corpora({**grown, "seed": 99}, OUT)
    after = read_tsv(jobs_path).set_index("wav_path")
    same = [
        after.loc[path, "text"] == text and after.loc[path, "voice"] == voice
        for text, voice, path in before[["text", "voice", "wav_path"]].itertuples(index=False)
    ]
    assert [Path(path).is_file() for path in before["wav_path"]] == same
    assert not all(same)


def test_wavs_of_unknown_origin_are_deleted(world):
    jobs = read_tsv(world / "corpora" / "places" / "speech_jobs.tsv")
    _touch_wavs(jobs)
    (world / "corpora" / "places" / ".speech_jobs.issued.tsv").unlink()
    generate_corpora(WORLD, OUT)
    assert not any(Path(path).exists() for path in jobs["wav_path"])


def _fake_synthesis(write: bool):
    def synthesize_jobs(jobs, tts_config, progress_desc=""):
        assert tts_config["backend"] == "espeak" and progress_desc
        if write:
            _touch_wavs(jobs)
        return jobs.assign(duration=0.01)

    return synthesize_jobs


def test_speak_writes_the_marker_only_when_every_wav_exists(world, monkeypatch):
    import vgs.tts.synthesis

    jobs, marker = world / "corpora" / "flickr" / "speech_jobs.tsv", world / "corpora" / "flickr" / ".complete"
    monkeypatch.setattr(vgs.tts.synthesis, "synthesize_jobs", _fake_synthesis(write=False))
    with pytest.raises(RuntimeError, match="45 of 45 wavs are missing"):
        speak.speak_corpus(jobs, marker, {"backend": "espeak"}, "test")
    assert not marker.exists()
    monkeypatch.setattr(vgs.tts.synthesis, "synthesize_jobs", _fake_synthesis(write=True))
    speak.speak_corpus(jobs, marker, {"backend": "espeak"}, "test")
    assert marker.read_text().startswith("45 wavs")


@pytest.mark.slow
def test_speak_with_espeak_makes_16k_wavs(world):
    """Real synthesis of the 10 Places captions (the espeak-ng library ships with espeakng-loader)."""
    marker = world / "corpora" / "places" / ".complete"
    speak.speak_corpus(world / "corpora" / "places" / "speech_jobs.tsv", marker, {"backend": "espeak", "retries": 1})
    for path in read_tsv(world / "corpora" / "places" / "speech_jobs.tsv")["wav_path"]:
        info = sf.info(path)
        assert info.samplerate == 16000 and info.channels == 1 and info.frames > 1600
    assert marker.is_file()


# --- configuration --------------------------------------------------------------------------------


@pytest.fixture()
def default_config() -> dict:
    return yaml.safe_load((REPO / "config.yaml").read_text())


def test_schema_accepts_the_default_world_and_fills_defaults(default_config):
    default_config["world"]["sts"] = {}
    world = validate_config(default_config)["world"]
    assert world["sts"]["pairs_per_subtask"] == 60 and "relation" in world["sts"]["subtasks"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda w: w.update(seeds=1), r"at world\.seeds: unknown key"),
        (lambda w: w["corpora"]["flickr"].update(format="flickr30k"), r"at world\.corpora\.flickr\.format: "),
        (lambda w: w["corpora"]["coco"]["images"].update(dev=0), r"at world\.corpora\.coco\.images\.dev: "),
        (lambda w: w["sts"].update(subtasks=["synonym"]), r"at world\.sts\.subtasks\.0: "),
    ],
)
def test_schema_rejects_a_wrong_world_key(default_config, change, message):
    change(default_config["world"])
    with pytest.raises(ConfigError, match=message):
        validate_config(default_config)
