"""Combined tables pinned to independent references: Holm-adjusted p values against statsmodels and a
hand-written step-down, the seed average of correlations in Fisher z space, and Table 2's test-set
labels and two-direction means against values computed by hand."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from vgs.evaluate.sts_eval import CORRELATION_COLUMNS
from vgs.evaluate.tables import comparisons_table, retrieval_table, sts_tables
from vgs.io import write_tsv


def _holm(p_values: np.ndarray) -> np.ndarray:
    """Holm's step-down adjustment written out: the i-th smallest p times (m - i), running maximum, at most 1."""
    order = np.argsort(p_values)
    m = len(p_values)
    adjusted = np.empty(m)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, (m - rank) * p_values[index])
        adjusted[index] = min(1.0, running)
    return adjusted


def test_comparisons_are_holm_adjusted_over_all_pairs(tmp_path: Path) -> None:
    """Five systems whose similarities are the gold scores plus noise of close sizes: ten Williams
    tests with p values spread between 0 and 1, so Holm differs from Bonferroni, from
    Benjamini-Hochberg and from the raw p values."""
    rng = np.random.default_rng(4)
    gold = rng.uniform(0, 5, size=80)
    runs, paths = [], []
    for index, noise in enumerate((1.0, 1.3, 1.6, 2.0, 3.0)):
        path = tmp_path / f"system{index}.tsv"
        write_tsv(path, pd.DataFrame({"pair_id": [f"p{i}" for i in range(80)], "gold": gold,
                                      "similarity": gold + rng.normal(scale=noise, size=80),
                                      "system": f"system{index}", "seed": 1}))  # fmt: skip
        runs.append({"system": f"system{index}", "kind": "speech", "corpus": "c", "subset_k": None, "seed": 1})
        paths.append(path)
    table = comparisons_table(runs, paths, {"csv": tmp_path / "comparisons.csv"})
    assert len(table) == 10
    p = table["p"].to_numpy()
    assert (p < 0.05).any() and ((p > 0.05) & (p < 0.5)).sum() >= 2  # the adjustment matters here
    holm = multipletests(p, method="holm")[1]
    assert table["p_holm"].to_numpy() == pytest.approx(holm, rel=1e-12)
    assert table["p_holm"].to_numpy() == pytest.approx(_holm(p), rel=1e-12)
    assert not np.allclose(holm, np.minimum(1, 10 * p)) and not np.allclose(holm, p)
    assert table["significant"].tolist() == (holm < 0.05).tolist()
    written = pd.read_csv(tmp_path / "comparisons.csv")
    assert written["p_holm"].to_numpy() == pytest.approx(holm, rel=1e-5)  # CSV keeps 6 significant digits


def test_seed_average_is_taken_in_fisher_z_space(tmp_path: Path) -> None:
    """Three seeds with clearly different correlations: the table shows tanh(mean(atanh(r))) with the
    Fisher CI at the group's n, not the plain mean of r (Pearson 0.630 here, against 0.533)."""
    per_seed = {1: (0.2, 0.1), 2: (0.5, 0.45), 3: (0.9, 0.85)}  # seed: (pearson, spearman) on All
    runs, paths = [], []
    for seed, (pearson, spearman) in per_seed.items():
        row = dict.fromkeys(CORRELATION_COLUMNS, 0.0)
        row.update(level="all", group="All", year="", n=200, pearson=pearson, spearman=spearman)
        path = tmp_path / f"seed{seed}.tsv"
        write_tsv(path, pd.DataFrame([row], columns=list(CORRELATION_COLUMNS)).assign(system="m", seed=seed))
        runs.append({"system": "m", "kind": "speech", "corpus": "c", "subset_k": None, "seed": seed})
        paths.append(path)
    table = sts_tables(runs, paths, {"by_seed": tmp_path / "by_seed.csv", "csv": tmp_path / "sts.csv"})
    [row] = table.to_dict("records")
    assert row["seeds"] == 3 and row["n"] == 200
    half_width = stats.norm.ppf(0.975) / math.sqrt(200 - 3)
    for measure, column in (("pearson", 0), ("spearman", 1)):
        values = [pair[column] for pair in per_seed.values()]
        z = np.mean(np.arctanh(values))
        assert row[measure] == pytest.approx(math.tanh(z), abs=1e-12)
        assert abs(row[measure] - np.mean(values)) > 0.05
        assert (row[f"{measure}_low"], row[f"{measure}_high"]) == pytest.approx(
            (math.tanh(z - half_width), math.tanh(z + half_width)), abs=1e-12
        )
    written = pd.read_csv(tmp_path / "sts.csv")
    assert written["pearson"].item() == pytest.approx(math.tanh(np.mean(np.arctanh([0.2, 0.5, 0.9]))), rel=1e-5)


# --- Table 2: the paper's and the 5k test set, and the mean of the two directions -----------------


def _retrieval_json(path: Path, seed: int, test_set: str, c2i: tuple[float, ...], i2c: tuple[float, ...]) -> Path:
    """A retrieval result as evaluate_retrieval writes it: R@1, R@5, R@10, median rank per direction."""
    images, captions = (1000, 5000) if test_set == "paper" else (5000, 25031)
    result = {"system": "coco", "seed": seed, "test_set": test_set, "median_convention": "lower",
              "test_images": images, "test_captions": captions,
              "caption_to_image": dict(zip(("r1", "r5", "r10", "medr"), c2i, strict=True)),
              "image_to_caption": dict(zip(("r1", "r5", "r10", "medr"), i2c, strict=True))}  # fmt: skip
    if test_set == "test5k":
        result["overlap"] = {"images": 5000, "in_training": 3, "in_dev": 1000, "in_paper_test": 1000}
    path.write_text(json.dumps(result))
    return path


def test_table2_labels_each_test_set_and_averages_the_two_directions(tmp_path: Path) -> None:
    """Two seeds on the paper's test set and one on the 5k set. The means by hand: seed 1 (10 + 20) / 2 = 15,
    (30 + 40) / 2 = 35, (50 + 60) / 2 = 55; seed 2: 17, 37, 57; over the seeds 16.0 ± sd(15, 17) = 1.4."""
    run = {"system": "coco", "kind": "speech", "corpus": "coco", "subset_k": None}
    runs = [{**run, "seed": 1, "test_set": "paper"}, {**run, "seed": 2, "test_set": "paper"},
            {**run, "seed": 1, "test_set": "test5k"}]  # fmt: skip
    paths = [
        _retrieval_json(tmp_path / "p1.json", 1, "paper", (10, 30, 50, 9), (20, 40, 60, 5)),
        _retrieval_json(tmp_path / "p2.json", 2, "paper", (12, 32, 52, 8), (22, 42, 62, 4)),
        _retrieval_json(tmp_path / "k1.json", 1, "test5k", (3, 11, 19, 40), (5, 15, 25, 30)),
    ]
    outputs = {"csv": tmp_path / "t2.csv", "md": tmp_path / "t2.md"}
    wide = retrieval_table(runs, paths, outputs).set_index("test set")
    paper, test5k = (
        "paper's protocol: 1,000 test images",
        ("5k protocol: 5,000 test images, 1,000 of them dev images (epoch selection), 3 trained on"),
    )
    assert list(wide.index) == [paper, test5k]
    assert [wide.loc[paper, f"mean of both R@{k}"] for k in (1, 5, 10)] == ["16.0 ± 1.4", "36.0 ± 1.4", "56.0 ± 1.4"]
    assert [wide.loc[test5k, f"mean of both R@{k}"] for k in (1, 5, 10)] == ["4.0", "13.0", "22.0"]
    assert wide.loc[paper, "caption→image med r"] == "8.5 ± 0.7" and wide.loc[test5k, "seeds"] == 1
    long = pd.read_csv(outputs["csv"])
    means = long[long["direction"] == "mean"].set_index(["test_set", "seed"])
    assert means.loc[("paper", 2), ["r1", "r5", "r10"]].tolist() == [17, 37, 57]
    assert means["medr"].isna().all() and (long.loc[long["test_set"] == "test5k", "images_in_dev"] == 1000).all()
    markdown = outputs["md"].read_text()
    assert "compare numbers only within one test set" in markdown and test5k in markdown


def test_table2_refuses_a_result_filed_under_the_other_test_set(tmp_path: Path) -> None:
    run = {"system": "coco", "kind": "speech", "corpus": "coco", "subset_k": None, "seed": 1, "test_set": "paper"}
    path = _retrieval_json(tmp_path / "k1.json", 1, "test5k", (3, 11, 19, 40), (5, 15, 25, 30))
    with pytest.raises(ValueError, match="k1.json: a result on test set 'test5k' filed as one on 'paper'"):
        retrieval_table([run], [path], {"csv": tmp_path / "t2.csv"})
