"""SpokenCOCO's 5k test set (``corpora.<c>.test5k``): which images and recordings it holds, read from
miniatures in the real layout (``corpus_layouts``: SpokenCOCO_{train,val}.json, wavs/, images/) and
a Karpathy ``dataset_coco.json`` written here in its published format, and how many of its images a
model has seen. Expectations are read from the JSON files directly, not through the loader."""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath

import pandas as pd
import pytest

from corpus_layouts import write_spokencoco
from vgs.config import ConfigError, corpus_spec, load_config
from vgs.corpora.load import read_corpus
from vgs.corpora.manifest import CorpusError
from vgs.evaluate.retrieval import seen_images_of_test5k
from vgs.io import write_tsv

REPO = Path(__file__).resolve().parents[1]
IMAGES = {"train": 4, "dev": 3, "test": 3}  # the world writes dev and test images to SpokenCOCO_val.json


@pytest.fixture(scope="module")
def coco(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A miniature SpokenCOCO, one val image with a sixth recording (every recording belongs to the 5k set)."""
    root = tmp_path_factory.mktemp("coco")
    write_spokencoco(root, IMAGES)
    val_json = root / "SpokenCOCO_val.json"
    val = json.loads(val_json.read_text())
    extra = dict(val["data"][0]["captions"][0], uttid="extra-recording", wav="wavs/val/extra-recording.wav")
    (root / extra["wav"]).write_bytes((root / val["data"][0]["captions"][0]["wav"]).read_bytes())
    val["data"][0]["captions"].append(extra)
    val_json.write_text(json.dumps(val))
    return root


def recordings(root: Path, names: list[str], images: set[str] | None = None) -> set[tuple[str, str]]:
    """(image stem, uttid) of every recording in the SpokenCOCO JSONs ``names``, of ``images`` if given."""
    pairs = set()
    for name in names:
        for entry in json.loads((root / name).read_text())["data"]:
            if images is None or entry["image"] in images:
                pairs |= {(PurePosixPath(entry["image"]).stem, caption["uttid"]) for caption in entry["captions"]}
    return pairs


def karpathy_file(path: Path, test_images: list[str], others: list[str]) -> Path:
    """``dataset_coco.json`` as Karpathy publishes it: images with filepath, filename, split, sentences."""
    entries = [
        {"filepath": image.split("/")[0], "filename": image.split("/")[1], "split": split, "cocoid": number,
         "imgid": number, "sentids": [number], "sentences": [{"raw": "a picture", "tokens": ["a", "picture"]}]}
        for number, (image, split) in enumerate([(i, "test") for i in test_images] + [(i, "restval") for i in others])
    ]  # fmt: skip
    path.write_text(json.dumps({"images": entries, "dataset": "coco"}))
    return path


def json_images(root: Path, name: str) -> list[str]:
    return [entry["image"] for entry in json.loads((root / name).read_text())["data"]]


def test_val_takes_every_image_and_recording_of_the_val_json(coco: Path) -> None:
    frame = read_corpus({"format": "spokencoco", "root": str(coco), "retrieval_set": "test5k",
                         "test5k": {"images": "val"}})  # fmt: skip
    assert set(zip(frame["image_id"], frame["utt_id"], strict=True)) == recordings(coco, ["SpokenCOCO_val.json"])
    assert len(frame) == 6 * 5 + 1 and (frame["split"] == "test").all()
    assert frame["image_path"].map(lambda path: Path(path).is_file()).all()


def test_karpathy_takes_its_test_images_from_both_jsons(coco: Path, tmp_path: Path) -> None:
    """Two val images and one train image are Karpathy test images here: all three are found, every
    recording of each, and nothing else."""
    val, train = json_images(coco, "SpokenCOCO_val.json"), json_images(coco, "SpokenCOCO_train.json")
    chosen = [val[0], val[4], train[1]]
    karpathy = karpathy_file(tmp_path / "dataset_coco.json", chosen, [val[1], train[0]])
    frame = read_corpus({"format": "spokencoco", "root": str(coco), "retrieval_set": "test5k",
                         "test5k": {"images": "karpathy", "karpathy_json": str(karpathy)}})  # fmt: skip
    expected = recordings(coco, ["SpokenCOCO_train.json", "SpokenCOCO_val.json"], set(chosen))
    assert set(zip(frame["image_id"], frame["utt_id"], strict=True)) == expected
    assert len(expected) == 3 * 5 + 1 and (frame["split"] == "test").all()


def test_a_karpathy_test_image_missing_from_spokencoco_is_named(coco: Path, tmp_path: Path) -> None:
    val = json_images(coco, "SpokenCOCO_val.json")
    karpathy = karpathy_file(tmp_path / "dataset_coco.json", [val[0], "val2014/COCO_val2014_000000999999.jpg"], [])
    with pytest.raises(CorpusError, match=r"1 of the 2 test images of .*dataset_coco.json are in neither .*999999"):
        read_corpus({"format": "spokencoco", "root": str(coco), "retrieval_set": "test5k",
                     "test5k": {"images": "karpathy", "karpathy_json": str(karpathy)}})  # fmt: skip


def test_a_file_that_is_not_karpathys_is_refused(coco: Path, tmp_path: Path) -> None:
    karpathy = tmp_path / "dataset_coco.json"
    karpathy.write_text(json.dumps({"images": [{"filename": "x.jpg", "filepath": "val2014"}]}))
    with pytest.raises(
        CorpusError, match=r"dataset_coco.json: images\[0\] \(filename 'x.jpg'\): required field 'split'"
    ):
        read_corpus({"format": "spokencoco", "root": str(coco), "retrieval_set": "test5k",
                     "test5k": {"images": "karpathy", "karpathy_json": str(karpathy)}})  # fmt: skip


def test_the_paper_configuration_names_the_5k_set_as_a_corpus_of_its_own() -> None:
    """paper.yaml's test5k is every val image; its size before loading is test5k.size, its hours at
    SpokenCOCO's mean caption duration (737 h over 601,435 captions, by hand)."""
    config = load_config(REPO / "workflow" / "config" / "paper.yaml")
    spec = corpus_spec(config, "spokencoco.test5k")
    assert (spec["format"], spec["root"], spec["retrieval_set"]) == ("spokencoco", "resources/spokencoco", "test5k")
    assert spec["test5k"]["images"] == "val"
    assert spec["size"] == {"captions": 25_031, "images": 5_000, "hours": pytest.approx(737 * 25_031 / 601_435),
                            "train_captions": 0, "test_captions": 25_031}  # fmt: skip
    with pytest.raises(ConfigError, match="corpora.flickr8k.test5k: flickr8k.test5k names its 5k test set, not conf"):
        corpus_spec(config, "flickr8k.test5k")


def test_overlap_counts_the_images_a_model_has_seen(tmp_path: Path) -> None:
    """A 5k set of six images: two in the model's (a subset's) training split, three in its corpus's (a
    training image the subset left out is not one the model has seen), one in dev, one in the paper's test."""

    def manifest(name: str, splits: dict[str, list[str]]) -> Path:
        rows = [{"utt_id": f"{image}-{n}", "image_id": image, "split": split}
                for split, images in splits.items() for image in images for n in range(2)]  # fmt: skip
        write_tsv(tmp_path / name, pd.DataFrame(rows))
        return tmp_path / name

    test5k = manifest("test5k.tsv", {"test": ["a", "b", "c", "d", "e", "f"]})
    subset = manifest("subset.tsv", {"train": ["a", "b", "x"], "dev": ["c"], "test": ["d"]})
    corpus = manifest("corpus.tsv", {"train": ["a", "b", "e", "x"], "dev": ["c", "z"], "test": ["d"]})
    assert seen_images_of_test5k(test5k, subset, corpus) == {
        "images": 6,
        "in_training": 2,
        "in_dev": 1,
        "in_paper_test": 1,
    }
