"""Caption↔image retrieval on a corpus's test set (the paper's Table 2).

Ranks, ties and medians are defined here once, because published numbers differ on them:

* **Ranks are 1-based and ties count against the model** ("pessimistic"): a correct item's rank
  is 1 + the number of *wrong* candidates scoring at least as high. A model that maps everything
  to one point therefore gets the worst rank, not R@1 = 100 %. With real-valued embeddings ties
  are rare and the convention changes nothing.
* **Caption→image**: each test caption queries all test images; one image is correct.
* **Image→caption**: each test image queries all test captions; an image has several correct
  captions and the rank is that of the *best-ranked* one (as in the authors' code).
* **Median rank**: ``lower`` (default) takes the lower middle value of an even-length list, as
  the authors' ``torch.median`` does; ``midpoint`` averages the two middle values (numpy).
* **Mean of the two directions**: R@k of caption→image and image→caption averaged, as SpeechCLIP's
  ``recall_results_mean`` and FaST-VGS's "Average R@k" compute it (their code selects checkpoints by
  it); the paper reports the directions apart. No median rank is averaged.

**Test sets.** The paper tests on 1,000 images per corpus (``test_set: paper``). Later SpokenCOCO
papers test on 5,000 (FaST-VGS and SpeechCLIP: Karpathy's test split; MTEB the same, 25,031
recordings), so a corpus may add a 5k test set (``corpora.<c>.test5k``, ``test_set: test5k``). R@k
falls as candidates are added, so a 1k and a 5k number are never comparable; every result records
its test set and size, and a 5k result how many of its images the model trained on or chose its
epoch by (:func:`seen_images_of_test5k`). Cost at 5k: 25k x 5k similarities in blocks of 1,024 rows
(~40 MB at a time), seconds.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from vgs.identity import PAPER_TEST_SET, SEED, SYSTEM, TEST5K_TEST_SET, RunId, check_result, open_run_store
from vgs.io import PathLike, read_tsv, write_text_atomic, write_tsv
from vgs.store import ArrayStore

log = logging.getLogger(__name__)

RECALL_AT = (1, 5, 10)
MEDIAN_CONVENTIONS = ("lower", "midpoint")
DIRECTIONS = ("caption_to_image", "image_to_caption")
#: Rows of the similarity matrix computed at once: bounds memory at SpokenCOCO scale
#: (25k captions × 5k images would be 500 MB in one go).
BLOCK = 1024


def caption_to_image_ranks(captions: np.ndarray, images: np.ndarray, caption_image: np.ndarray) -> np.ndarray:
    """Rank of the correct image for every caption (``caption_image[i]`` indexes ``images``)."""
    ranks = np.empty(len(captions), dtype=np.int64)
    for start in tqdm(range(0, len(captions), BLOCK), desc="caption→image", unit="block", leave=False):
        scores = captions[start : start + BLOCK] @ images.T
        rows = np.arange(scores.shape[0])
        correct = scores[rows, caption_image[start : start + BLOCK]]
        # >= counts the correct image itself, which provides the "1 +".
        ranks[start : start + BLOCK] = (scores >= correct[:, None]).sum(axis=1)
    return ranks


def image_to_caption_ranks(captions: np.ndarray, images: np.ndarray, caption_image: np.ndarray) -> np.ndarray:
    """Rank of the best-ranked correct caption for every image."""
    if np.setdiff1d(np.arange(len(images)), caption_image).size:
        raise ValueError("every test image needs at least one caption for image→caption retrieval")
    ranks = np.empty(len(images), dtype=np.int64)
    for start in tqdm(range(0, len(images), BLOCK), desc="image→caption", unit="block", leave=False):
        scores = images[start : start + BLOCK] @ captions.T
        is_correct = caption_image[None, :] == np.arange(start, start + scores.shape[0])[:, None]
        best = np.where(is_correct, scores, -np.inf).max(axis=1)
        wrong_at_least = ((scores >= best[:, None]) & ~is_correct).sum(axis=1)
        ranks[start : start + BLOCK] = 1 + wrong_at_least
    return ranks


def median_rank(ranks: np.ndarray, convention: str = "lower") -> float:
    """Median of ``ranks`` by ``convention`` (see module docstring)."""
    if convention not in MEDIAN_CONVENTIONS:
        raise ValueError(f"median convention must be one of {MEDIAN_CONVENTIONS}, got {convention!r}")
    ordered = np.sort(np.asarray(ranks))
    if ordered.size == 0:
        raise ValueError("median of no ranks")
    if convention == "lower":
        return float(ordered[(ordered.size - 1) // 2])
    return float(np.median(ordered))


def summarise_ranks(ranks: np.ndarray, median: str = "lower") -> dict[str, float]:
    """R@1/5/10 in percent and the median rank."""
    ranks = np.asarray(ranks)
    summary = {f"r{k}": float(100.0 * np.mean(ranks <= k)) for k in RECALL_AT}
    summary["medr"] = median_rank(ranks, median)
    return summary


def direction_mean(result: Mapping[str, Any]) -> dict[str, float]:
    """R@1/5/10 averaged over the two directions of one retrieval result (see module docstring)."""
    return {f"r{k}": (result[DIRECTIONS[0]][f"r{k}"] + result[DIRECTIONS[1]][f"r{k}"]) / 2 for k in RECALL_AT}


def _normalise(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1.0, norms)


def load_test_set(
    manifest_path: PathLike, caption_store: ArrayStore, image_store: ArrayStore
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Embeddings of the test captions and images, and the caption→image index.

    Captions are the unique test-split ``utt_id`` of the corpus manifest; images are the test
    images those captions describe. Missing embeddings are an error naming the store to rebuild.
    """
    manifest = read_tsv(manifest_path, required=("utt_id", "image_id", "split"))
    test = manifest[manifest["split"] == "test"].drop_duplicates("utt_id")
    if test.empty:
        raise ValueError(f"{manifest_path}: no rows with split == 'test'")
    image_ids = sorted(test["image_id"].unique())
    for label, store, keys in (("caption", caption_store, test["utt_id"]), ("image", image_store, image_ids)):
        missing = [key for key in keys if key not in store]
        if missing:
            raise ValueError(
                f"{len(missing)} test {label}(s) of {manifest_path} have no embedding (e.g. {missing[0]!r}); "
                "rerun the encode rule of this model"
            )
    image_index = {image_id: i for i, image_id in enumerate(image_ids)}
    captions = _normalise(caption_store.matrix(list(test["utt_id"])).astype(np.float64))
    images = _normalise(image_store.matrix(image_ids).astype(np.float64))
    caption_image = test["image_id"].map(image_index).to_numpy(dtype=np.int64)
    return captions, images, caption_image, image_ids


def evaluate_retrieval(
    manifest_path: PathLike,
    caption_store_path: PathLike,
    image_store_path: PathLike,
    out_json: PathLike,
    out_tsv: PathLike,
    median: str = "lower",
    *,
    run: RunId,
    test_set: str = PAPER_TEST_SET,
    overlap: Mapping[str, int] | None = None,
) -> dict[str, object]:
    """Evaluate retrieval of ``run`` on a test set; write a JSON summary and a one-row-per-direction TSV.

    Both stores must record ``run`` (the job's model and seed); both outputs record it too
    (``system``, ``seed``), for the tables to check (vgs.identity). ``test_set`` names the test set
    (``paper`` or ``test5k``) and ``overlap`` says which of its images the model has seen.
    """
    captions, images, caption_image, image_ids = load_test_set(
        manifest_path, open_run_store(caption_store_path, run), open_run_store(image_store_path, run)
    )
    result: dict[str, object] = {
        SYSTEM: run.system,
        SEED: run.seed,
        "test_set": test_set,
        "test_images": len(image_ids),
        "test_captions": len(captions),
        **({"overlap": dict(overlap)} if overlap is not None else {}),
        "median_convention": median,
        "ties": "pessimistic",
        "caption_to_image": summarise_ranks(caption_to_image_ranks(captions, images, caption_image), median),
        "image_to_caption": summarise_ranks(image_to_caption_ranks(captions, images, caption_image), median),
    }
    log.info("retrieval on %d images / %d captions: %s", len(image_ids), len(captions), result)
    write_text_atomic(out_json, json.dumps(result, indent=2) + "\n")
    rows = [
        {"direction": direction, **result[direction], "queries": n, **run.columns()}  # type: ignore[dict-item]
        for direction, n in zip(DIRECTIONS, (len(captions), len(image_ids)), strict=True)
    ]
    write_tsv(out_tsv, pd.DataFrame(rows))
    return result


def seen_images_of_test5k(
    test_manifest: PathLike, train_manifest: PathLike, corpus_manifest: PathLike
) -> dict[str, int]:
    """How many images of a 5k test set the model has seen: in its training manifest's train split,
    in its corpus's dev split (the epoch was chosen on them) and in the corpus's own (paper's) test split.

    Why: with ``images: val`` the 5k set holds every dev image; with Karpathy's test split it may
    hold images of SpokenCOCO_train.json the model trained on. Numbers on it must say so.
    """
    test = set(read_tsv(test_manifest, required=("image_id", "split")).query("split == 'test'")["image_id"])
    train = read_tsv(train_manifest, required=("image_id", "split"))
    corpus = read_tsv(corpus_manifest, required=("image_id", "split"))

    def shared(frame: pd.DataFrame, split: str) -> int:
        return len(test & set(frame.loc[frame["split"] == split, "image_id"]))

    return {
        "images": len(test),
        "in_training": shared(train, "train"),
        "in_dev": shared(corpus, "dev"),
        "in_paper_test": shared(corpus, "test"),
    }


def evaluate_test5k(
    manifest_path: PathLike,
    caption_store_path: PathLike,
    image_store_path: PathLike,
    train_manifest: PathLike,
    corpus_manifest: PathLike,
    out_json: PathLike,
    out_tsv: PathLike,
    median: str = "lower",
    *,
    run: RunId,
) -> dict[str, object]:
    """Retrieval of ``run`` on its corpus's 5k test set, recording the images it has seen (logged too)."""
    overlap = seen_images_of_test5k(manifest_path, train_manifest, corpus_manifest)
    log.log(
        logging.WARNING if overlap["in_training"] else logging.INFO,
        "5k test set: %(images)d images, %(in_training)d of them in this model's training data, %(in_dev)d in "
        "its dev set (epoch selection), %(in_paper_test)d in the paper's test set",
        overlap,
    )
    return evaluate_retrieval(
        manifest_path, caption_store_path, image_store_path, out_json, out_tsv, median,
        run=run, test_set=TEST5K_TEST_SET, overlap=overlap,
    )  # fmt: skip


def read_retrieval(runs: Sequence[Mapping[str, object]], paths: Sequence[PathLike]) -> list[dict[str, object]]:
    """Load the retrieval JSON file of each run (for the combined tables), each checked to be its run's."""
    results = []
    for run, path in zip(runs, paths, strict=True):
        result = json.loads(Path(path).read_text(encoding="utf-8"))
        check_result(result, path, run)
        results.append(result)
    return results
