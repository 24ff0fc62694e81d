"""Captions-per-image subsets: exact counts and maximal nesting, for the paper's subsets and k up to 10."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vgs.corpora.manifest import MANIFEST_COLUMNS, write_manifest
from vgs.corpora.subsets import SubsetError, make_subset, make_subsets
from vgs.io import read_tsv


def synthetic_manifest(train_images: int, captions: int | list[int], held_out: int = 10) -> pd.DataFrame:
    """Manifest with ``train_images`` training images (``captions`` each, or per image) + dev/test rows."""
    counts = [captions] * train_images if isinstance(captions, int) else captions
    rows = [
        {"utt_id": f"i{image}_c{c}", "image_id": f"i{image}", "split": "train"}
        for image, count in enumerate(counts)
        for c in range(count)
    ]
    rows += [
        {"utt_id": f"{split}{n}", "image_id": f"{split}{n}", "split": split}
        for split in ("dev", "test")
        for n in range(held_out)
    ]
    frame = pd.DataFrame(rows)
    frame["image_path"] = frame["image_id"] + ".jpg"
    frame["wav_path"] = frame["utt_id"] + ".wav"
    frame["text"] = ""
    frame["speaker"] = ""
    return frame[MANIFEST_COLUMNS]


def train_part(subset: pd.DataFrame) -> pd.DataFrame:
    return subset[subset["split"] == "train"]


def check_counts_and_nesting(subsets: dict[int, pd.DataFrame], total: int, source: pd.DataFrame) -> None:
    held_out = source[source["split"] != "train"]
    for k, subset in subsets.items():
        train = train_part(subset)
        assert len(train) == total and train["utt_id"].is_unique
        per_image = train.groupby("image_id").size()
        assert len(per_image) == total // k and (per_image == k).all()
        assert subset[subset["split"] != "train"].reset_index(drop=True).equals(held_out.reset_index(drop=True))
    for small, large in itertools.combinations(sorted(subsets), 2):
        a, b = train_part(subsets[small]), train_part(subsets[large])
        assert set(b["image_id"]) <= set(a["image_id"])  # larger k: a subset of the smaller-k images
        shared = len(set(a["utt_id"]) & set(b["utt_id"]))
        assert shared == (total // large) * small  # the most two such subsets can share


@pytest.mark.slow
def test_paper_subsets_counts_and_nesting() -> None:
    source = synthetic_manifest(40_000, 5)
    subsets = make_subsets(source, [1, 2, 3, 4, 5], total=30_000, seed=3)
    assert {k: train_part(s)["image_id"].nunique() for k, s in subsets.items()} == {
        1: 30_000,
        2: 15_000,
        3: 10_000,
        4: 7_500,
        5: 6_000,
    }
    check_counts_and_nesting(subsets, 30_000, source)


def test_world_subsets_up_to_ten_captions() -> None:
    source = synthetic_manifest(600, 10)
    subsets = make_subsets(source, [1, 2, 3, 4, 5, 10], total=600, seed=0)
    check_counts_and_nesting(subsets, 600, source)
    assert train_part(subsets[10])["image_id"].nunique() == 60


def test_nesting_holds_with_uneven_caption_counts() -> None:
    counts = list(np.random.default_rng(1).integers(1, 8, size=400))
    source = synthetic_manifest(400, counts)
    subsets = make_subsets(source, [1, 2, 3, 4], total=120, seed=2)
    check_counts_and_nesting(subsets, 120, source)


def test_seeded_and_order_independent() -> None:
    source = synthetic_manifest(200, 5)
    first = make_subsets(source, [1, 5], total=100, seed=7)
    shuffled = source.sample(frac=1, random_state=0)
    again = make_subsets(shuffled, [1, 5], total=100, seed=7)
    other = make_subsets(source, [1, 5], total=100, seed=8)
    for k in (1, 5):
        assert set(train_part(first[k])["utt_id"]) == set(train_part(again[k])["utt_id"])
    assert set(train_part(first[5])["utt_id"]) != set(train_part(other[5])["utt_id"])
    # a subset is a sample, not the first images or first captions of the corpus
    assert set(train_part(first[5])["image_id"]) != {f"i{n}" for n in range(20)}
    assert not set(train_part(first[1])["utt_id"]) <= {f"i{n}_c0" for n in range(200)}


def test_errors_name_a_change_of_the_config_that_works() -> None:
    """200 training images with 3 captions each (hand count): k = 3 at 900 captions needs 300 images,
    so a total of at most 200 x 3 = 600 works; k = 4 needs images with 4 captions, of which there are
    none, so no lower total can help and only dropping that k does."""
    source = synthetic_manifest(200, 3)
    with pytest.raises(SubsetError, match="subsets.total: 100 is not divisible by k = 3"):
        make_subsets(source, [1, 3], total=100, seed=0)
    with pytest.raises(SubsetError) as none_has_four:
        make_subsets(source, [1, 4], total=100, seed=0)
    assert str(none_has_four.value).startswith(
        "k = 4 needs 25 training images with at least 4 captions; the corpus has none (its training images have "
        "at most 3 captions each), so no total can be drawn at this k: drop k = 4 from subsets.k"
    )
    assert "lower" not in str(none_has_four.value)
    with pytest.raises(SubsetError, match=r"has 200: lower study.totals to at most 600, or drop k = 3 from study.k$"):
        make_subsets(source, [3], total=900, seed=0, total_key="study.totals", k_key="study.k")
    assert len(train_part(make_subsets(source, [3], total=600, seed=0)[3])) == 600  # the named total works


def test_study_sizes_nest_at_every_k() -> None:
    """The study's cells share one ranking: at each k a smaller total is the first rows of a larger
    one, so growing the data only adds images (and at a fixed total, only k changes)."""
    source = synthetic_manifest(120, 10)
    ks = [1, 2, 5, 10]
    by_total = {total: make_subsets(source, ks, total=total, seed=3) for total in (20, 40, 80)}
    for k in ks:
        small, middle, large = (by_total[t][k].query("split == 'train'")["utt_id"].tolist() for t in (20, 40, 80))
        assert (len(small), len(middle), len(large)) == (20, 40, 80)
        assert large[:40] == middle and middle[:20] == small


def test_make_subset_writes_the_same_rows_as_make_subsets(tmp_path: Path) -> None:
    source = synthetic_manifest(60, 10)
    write_manifest(tmp_path / "corpus.tsv", source)
    out = tmp_path / "k2" / "manifest.tsv"
    make_subset(tmp_path / "corpus.tsv", out, k=2, ks=[1, 2, 10], total=60, seed=4)
    written = read_tsv(out, required=MANIFEST_COLUMNS)
    expected = make_subsets(source, [1, 2, 10], total=60, seed=4)[2]
    assert written["utt_id"].tolist() == expected["utt_id"].tolist()
    with pytest.raises(SubsetError, match=r"k = 3 is not among the configured k \[1, 2, 10\]"):
        make_subset(tmp_path / "corpus.tsv", out, k=3, ks=[1, 2, 10], total=60, seed=4)
