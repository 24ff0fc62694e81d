"""Retrieval metrics (Table 2) against a straightforward sort-based reference implementation."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from vgs.evaluate import retrieval
from vgs.evaluate.retrieval import (
    caption_to_image_ranks,
    evaluate_retrieval,
    image_to_caption_ranks,
    median_rank,
    summarise_ranks,
)
from vgs.identity import RunId, RunMismatch
from vgs.io import write_tsv
from vgs.store import write_store


def reference_ranks(captions: np.ndarray, images: np.ndarray, caption_image: np.ndarray) -> tuple[list[int], list[int]]:
    """Sort every candidate list, ties broken with the correct items last; take 1-based positions."""
    c2i = []
    for i, caption in enumerate(captions):
        scores = [float(caption @ image) for image in images]
        order = sorted(range(len(images)), key=lambda j: (-scores[j], j == caption_image[i]))
        c2i.append(order.index(caption_image[i]) + 1)
    i2c = []
    for j, image in enumerate(images):
        scores = [float(image @ caption) for caption in captions]
        order = sorted(range(len(captions)), key=lambda i: (-scores[i], caption_image[i] == j))
        i2c.append(next(pos for pos, i in enumerate(order) if caption_image[i] == j) + 1)
    return c2i, i2c


def random_test_set(seed: int, quantise: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n_images, per_image, dim = 23, 3, 4
    images = rng.normal(size=(n_images, dim))
    caption_image = np.repeat(np.arange(n_images), per_image)
    captions = images[caption_image] + rng.normal(scale=1.5, size=(len(caption_image), dim))
    if quantise:
        # Few distinct values: many exactly tied scores, including duplicated images and captions.
        images, captions = np.sign(images), np.sign(captions)
        images[1] = images[0]
        captions[5] = captions[4]
    return captions, images, caption_image


@pytest.mark.parametrize("quantise", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ranks_match_reference(seed: int, quantise: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retrieval, "BLOCK", 7)  # exercise the block loop
    captions, images, caption_image = random_test_set(seed, quantise)
    expected_c2i, expected_i2c = reference_ranks(captions, images, caption_image)
    assert caption_to_image_ranks(captions, images, caption_image).tolist() == expected_c2i
    assert image_to_caption_ranks(captions, images, caption_image).tolist() == expected_i2c


def test_collapsed_model_gets_worst_rank() -> None:
    captions = np.ones((6, 3))
    images = np.ones((3, 3))
    caption_image = np.repeat(np.arange(3), 2)
    assert caption_to_image_ranks(captions, images, caption_image).tolist() == [3] * 6
    assert image_to_caption_ranks(captions, images, caption_image).tolist() == [5] * 3


def test_median_conventions() -> None:
    ranks = np.array([4, 1, 3, 2])
    assert median_rank(ranks, "lower") == 2.0  # torch.median: lower middle value
    assert median_rank(ranks, "midpoint") == 2.5
    assert median_rank(np.array([5, 1, 3]), "lower") == 3.0
    with pytest.raises(ValueError, match="median convention"):
        median_rank(ranks, "upper")


def test_summary_recalls() -> None:
    summary = summarise_ranks(np.array([1, 2, 5, 6, 10, 11, 50, 1, 1, 3]))
    assert summary == {"r1": 30.0, "r5": 60.0, "r10": 80.0, "medr": 3.0}


RUN = RunId("m", 1)
RUN_METADATA = {"model": "m", "seed": 1}  # what the encode rules record for model m, seed 1


def _write_corpus(tmp_path, captions, images, caption_image, metadata=RUN_METADATA):
    image_ids = [f"img{j:03d}" for j in range(len(images))]
    utt_ids = [f"utt{i:03d}" for i in range(len(captions))]
    rows = [
        {"utt_id": u, "image_id": image_ids[j], "split": "test"} for u, j in zip(utt_ids, caption_image, strict=True)
    ]
    rows.append({"utt_id": "train1", "image_id": "imgtrain", "split": "train"})  # must be ignored
    write_tsv(tmp_path / "manifest.tsv", pd.DataFrame(rows))
    write_store(tmp_path / "captions.h5", zip(utt_ids, captions, strict=True), captions.shape[1], "embedding", metadata)
    write_store(tmp_path / "images.h5", zip(image_ids, images, strict=True), images.shape[1], "embedding", RUN_METADATA)


def test_evaluate_retrieval_end_to_end(tmp_path) -> None:
    rng = np.random.default_rng(3)
    images = rng.normal(size=(20, 8))
    caption_image = np.repeat(np.arange(20), 5)
    captions = images[caption_image] * rng.uniform(0.5, 2.0, size=(100, 1))  # same direction: perfect
    _write_corpus(tmp_path, captions, images, caption_image)
    result = evaluate_retrieval(tmp_path / "manifest.tsv", tmp_path / "captions.h5", tmp_path / "images.h5",
                                tmp_path / "r.json", tmp_path / "r.tsv", run=RUN)  # fmt: skip
    assert result["test_images"] == 20 and result["test_captions"] == 100
    assert result["caption_to_image"] == {"r1": 100.0, "r5": 100.0, "r10": 100.0, "medr": 1.0}
    written = json.loads((tmp_path / "r.json").read_text())
    assert written["image_to_caption"]["r1"] == 100.0
    assert (written["system"], written["seed"]) == ("m", 1)
    tsv = pd.read_csv(tmp_path / "r.tsv", sep="\t")
    assert tsv["direction"].tolist() == ["caption_to_image", "image_to_caption"]
    assert tsv["system"].tolist() == ["m", "m"] and tsv["seed"].tolist() == [1, 1]


def test_missing_embedding_names_store(tmp_path) -> None:
    rng = np.random.default_rng(4)
    images = rng.normal(size=(4, 3))
    caption_image = np.arange(4)
    _write_corpus(tmp_path, images[caption_image], images, caption_image)
    write_store(tmp_path / "images.h5", [("img000", images[0])], 3, "embedding", RUN_METADATA)
    with pytest.raises(ValueError, match="test image.*no embedding.*encode rule"):
        evaluate_retrieval(tmp_path / "manifest.tsv", tmp_path / "captions.h5", tmp_path / "images.h5",
                           tmp_path / "r.json", tmp_path / "r.tsv", run=RUN)  # fmt: skip


@pytest.mark.parametrize(("metadata", "held"), [
    ({"model": "other", "seed": 1}, "holds run other seed 1 but is read as run m seed 1"),
    ({"model": "m", "seed": 2}, "holds run m seed 2 but is read as run m seed 1"),
    ({"checkpoint": "best.pt"}, "records no run .* expected m seed 1; delete results/embeddings"),
])  # fmt: skip
def test_captions_of_another_run_are_refused(tmp_path, metadata, held) -> None:
    """A caption store of another model or seed, or one that names no run (written before runs were
    recorded), stops the evaluation with the store's path: no retrieval.json is written."""
    rng = np.random.default_rng(5)
    images = rng.normal(size=(4, 3))
    _write_corpus(tmp_path, images, images, np.arange(4), metadata)
    with pytest.raises(RunMismatch, match=f"captions.h5: {held}"):
        evaluate_retrieval(tmp_path / "manifest.tsv", tmp_path / "captions.h5", tmp_path / "images.h5",
                           tmp_path / "r.json", tmp_path / "r.tsv", run=RUN)  # fmt: skip
    assert not (tmp_path / "r.json").exists()
