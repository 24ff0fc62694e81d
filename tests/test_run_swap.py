"""Runs reach the tables as a list and their files as another, paired by position (issue #22): a
reordered input list must stop with the file, the run it holds and the run expected, never put one
model's numbers under another's name.

The files are written here in the evaluation's layout with the run columns and keys that
eval_retrieval / eval_sts record (vgs.identity). This module imports only functions that existed
before runs were recorded, so it runs against that code too, where every swap test fails (the
tables are built, mislabelled).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vgs.evaluate.figures import read_train_logs
from vgs.evaluate.sts_eval import CORRELATION_COLUMNS, correlation_rows, similarity_frame
from vgs.evaluate.tables import (
    RUN_COLUMNS,
    aic_table_all,
    comparisons_table,
    headline_metrics,
    retrieval_table,
    sts_tables,
    table3_aic,
)
from vgs.io import write_tsv

# Two subset models of one seed (a swap of systems) and the first on a second seed (a swap of seeds).
RUNS = [
    {"system": "coco-k1", "kind": "speech", "corpus": "coco", "subset_k": 1, "seed": 1},
    {"system": "coco-k5", "kind": "speech", "corpus": "coco", "subset_k": 5, "seed": 1},
    {"system": "coco-k1", "kind": "speech", "corpus": "coco", "subset_k": 1, "seed": 2},
]
SWAPS = {"systems": (0, 1), "seeds": (0, 2)}
N_PAIRS = 60


def _write_runs(root: Path) -> dict[str, list[Path]]:
    """Each run's retrieval.json, similarities.tsv, correlations.tsv and train_log.tsv, each naming its run."""
    rng = np.random.default_rng(0)
    pairs = pd.DataFrame({"pair_id": [f"p{i}" for i in range(N_PAIRS)], "year": "2012", "subtask": "MSRvid",
                          "gold": rng.uniform(0, 5, N_PAIRS)})  # fmt: skip
    files: dict[str, list[Path]] = {"retrieval": [], "similarities": [], "correlations": [], "train_log": []}
    for index, run in enumerate(RUNS):
        identity = {"system": run["system"], "seed": run["seed"]}
        directory = root / run["system"] / f"seed{run['seed']}"
        directory.mkdir(parents=True)
        ranks = {"r1": 10.0 * index, "r5": 20.0 * index, "r10": 30.0 + index, "medr": 5.0}
        (directory / "retrieval.json").write_text(json.dumps({
            "test_images": 20, "test_captions": 100, "median_convention": "lower", "ties": "pessimistic",
            "caption_to_image": ranks, "image_to_caption": ranks, **identity}))  # fmt: skip
        frame = similarity_frame(pairs, pairs["gold"].to_numpy() + rng.normal(0, 1 + index, N_PAIRS), set())
        write_tsv(directory / "similarities.tsv", frame.assign(**identity))
        write_tsv(directory / "correlations.tsv", correlation_rows(frame).assign(**identity))
        write_tsv(
            directory / "train_log.tsv",
            pd.DataFrame(
                {"epoch": [1, 2], "train_loss": [2.0, 1.0], "dev_loss": [2.5, 1.5], "dev_r10": [0.1, 0.2], **identity}
            ),
        )
        for kind, paths in files.items():
            paths.append(directory / f"{kind}.{'json' if kind == 'retrieval' else 'tsv'}")
    return files


def _swapped(paths: list[Path], swap: tuple[int, int]) -> list[Path]:
    i, j = swap
    out = list(paths)
    out[i], out[j] = out[j], out[i]
    return out


def _message(paths: list[Path], swap: tuple[int, int]) -> str:
    """What the reader must say about the first swapped file: its path, the run it holds, the run expected."""
    i, j = swap
    held, expected = (f"{RUNS[k]['system']} seed {RUNS[k]['seed']}" for k in (j, i))
    return f"{paths[j]}: holds run {held} but is read as run {expected}"


@pytest.fixture
def files(tmp_path: Path) -> dict[str, list[Path]]:
    return _write_runs(tmp_path / "eval")


TABLES: dict[str, tuple[str, Callable[..., object]]] = {
    "retrieval_table": ("retrieval", lambda paths, out: retrieval_table(RUNS, paths, {"csv": out / "t2.csv"})),
    "sts_tables": ("correlations", lambda paths, out: sts_tables(RUNS, paths, {"by_seed": out / "s.csv",
                                                                               "csv": out / "a.csv"})),
    "comparisons_table": ("similarities", lambda paths, out: comparisons_table(RUNS, paths, {"csv": out / "c.csv"})),
    "table3_aic": ("similarities", lambda paths, out: table3_aic(RUNS, paths, {"csv": out / "t3.csv"})),
    "aic_table_all": ("similarities", lambda paths, out: aic_table_all(RUNS, paths, {"csv": out / "all.csv"})),
    "read_train_logs": ("train_log", lambda paths, out: read_train_logs(RUNS, paths)),
}  # fmt: skip


@pytest.mark.parametrize("swap", SWAPS.values(), ids=SWAPS.keys())
@pytest.mark.parametrize("table", TABLES)
def test_swapped_inputs_are_refused_by_every_table(files, tmp_path, table, swap):
    """Two runs' files exchanged in the input list: each table stops, naming the file, what it holds
    and what was expected, and writes nothing."""
    kind, build = TABLES[table]
    out = tmp_path / "tables"
    with pytest.raises(ValueError, match=_message(files[kind], swap)):
        build(_swapped(files[kind], swap), out)
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize("swap", SWAPS.values(), ids=SWAPS.keys())
@pytest.mark.parametrize("kind", ["retrieval", "similarities"])
def test_headline_metrics_check_both_files_of_a_run(files, kind, swap):
    """The study and the ablation read a run's retrieval and similarities as two lists: a swap in
    either is refused."""
    paths = {name: files[name] for name in ("retrieval", "similarities")}
    paths[kind] = _swapped(paths[kind], swap)
    with pytest.raises(ValueError, match=_message(files[kind], swap)):
        headline_metrics(RUNS, paths["retrieval"], paths["similarities"])


def test_files_in_order_give_the_tables_in_their_old_layout(files, tmp_path):
    """In order, every table is built; the files' own run columns are not carried into the tables
    (the per-seed STS table keeps its columns, in the order the tables always wrote them), and each
    number stays with its run."""
    out = tmp_path / "tables"
    for kind, build in TABLES.values():
        build(files[kind], out)
    by_seed = pd.read_csv(out / "s.csv")
    assert list(by_seed.columns) == [*CORRELATION_COLUMNS, *RUN_COLUMNS]
    table2 = pd.read_csv(out / "t2.csv")
    caption_to_image = table2[table2["direction"] == "caption_to_image"]
    assert list(zip(caption_to_image["system"], caption_to_image["seed"], caption_to_image["r10"])) == [
        ("coco-k1", 1, 30.0), ("coco-k5", 1, 31.0), ("coco-k1", 2, 32.0)]  # fmt: skip


def test_files_that_record_no_run_are_refused(files, tmp_path):
    """Files written before runs were recorded cannot be checked: refused, with how to rebuild them."""
    old = tmp_path / "old.tsv"
    write_tsv(old, pd.read_csv(files["similarities"][0], sep="\t").drop(columns=["system", "seed"]))
    with pytest.raises(ValueError, match=f"{old}: records no run .* expected coco-k1 seed 1; delete results/eval"):
        comparisons_table(RUNS, [old, *files["similarities"][1:]], {"csv": tmp_path / "c.csv"})
