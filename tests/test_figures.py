"""Figures are written as valid, non-empty PNG and PDF files from synthetic evaluation tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vgs.evaluate.figures import figure1, figure2, learning_curves
from vgs.evaluate.sts_eval import correlation_rows
from vgs.evaluate.tables import sts_tables
from vgs.io import write_tsv

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PDF_MAGIC = b"%PDF-"


def _similarities(rng: np.random.Generator, strength: float) -> pd.DataFrame:
    rows = []
    for year, subtask in [("2012", "MSRpar"), ("2012", "MSRvid"), ("2013", "headlines"), ("2014", "images")]:
        for i in range(40):
            gold = rng.uniform(0, 5)
            rows.append({"pair_id": f"{year}{subtask}{i}", "year": year, "subtask": subtask, "gold": gold,
                         "similarity": strength * gold + rng.normal(), "natural_similarity": np.nan,
                         "in_sample": int(i % 5 == 0)})  # fmt: skip
    frame = pd.DataFrame(rows)
    sample = frame["in_sample"] == 1
    frame.loc[sample, "natural_similarity"] = frame.loc[sample, "similarity"] + rng.normal(size=sample.sum())
    return frame


@pytest.fixture
def correlations_csv(tmp_path: Path) -> Path:
    rng = np.random.default_rng(1)
    runs, paths = [], []
    systems = [("flickr", "speech", "world-flickr", None), ("places", "speech", "world-places", None),
               ("bow", "text topline", "text", None)]  # fmt: skip
    systems += [(f"coco-k{k}", "speech", "world-coco", k) for k in (1, 2, 5)]
    for index, (system, kind, corpus, k) in enumerate(systems):
        for seed in ([None] if kind == "text topline" else [1, 2]):
            path = tmp_path / "eval" / f"{system}-{seed}.tsv"
            write_tsv(path, correlation_rows(_similarities(rng, 0.2 + 0.1 * index)))
            runs.append({"system": system, "kind": kind, "corpus": corpus, "subset_k": k, "seed": seed})
            paths.append(path)
    tables = tmp_path / "tables"
    sts_tables(runs, paths, {"by_seed": tables / "by_seed.csv", "csv": tables / "sts.csv"})
    return tables / "sts.csv"


def _assert_valid(paths: list[Path]) -> None:
    for path in paths:
        data = path.read_bytes()
        assert len(data) > 5000, path
        assert data.startswith(PNG_MAGIC if path.suffix == ".png" else PDF_MAGIC), path
        assert not list(path.parent.glob(f".{path.name}.*")), "temporary file left behind"


def test_figure1(tmp_path: Path, correlations_csv: Path) -> None:
    out = [tmp_path / "fig" / "figure1.png", tmp_path / "fig" / "figure1.pdf"]
    figure1(correlations_csv, out)
    _assert_valid(out)


def test_figure2(tmp_path: Path, correlations_csv: Path) -> None:
    out = [tmp_path / "figure2.png", tmp_path / "figure2.pdf"]
    figure2(correlations_csv, out)
    _assert_valid(out)


def test_figure2_without_subsets_is_a_clear_error(tmp_path: Path, correlations_csv: Path) -> None:
    frame = pd.read_csv(correlations_csv)
    frame[frame["subset_k"].isna()].to_csv(tmp_path / "nosubsets.csv", index=False)
    with pytest.raises(ValueError, match="no captions-per-image subset models"):
        figure2(tmp_path / "nosubsets.csv", [tmp_path / "f.png"])


def test_learning_curves(tmp_path: Path) -> None:
    runs, logs = [], []
    rng = np.random.default_rng(2)
    for model in ("flickr", "places"):
        for seed in (1, 2):
            epochs = np.arange(1, 6)
            log = pd.DataFrame({"epoch": epochs, "train_loss": 5 / epochs + rng.uniform(size=5),
                                "dev_loss": 5.5 / epochs, "dev_r1": 2 * epochs, "dev_r5": 5 * epochs,
                                "dev_r10": 8 * epochs, "lr": 1e-4, "seconds": 3.0})  # fmt: skip
            path = tmp_path / f"{model}-{seed}.tsv"
            write_tsv(path, log)
            runs.append({"system": model, "seed": seed})
            logs.append(path)
    out = [tmp_path / "curves.png", tmp_path / "curves.pdf"]
    learning_curves(runs, logs, out)
    _assert_valid(out)
