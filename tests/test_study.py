"""The size × captions-per-image study: per-seed numbers, cells, regression and figure, each against
an independent computation (numpy least squares and the t distribution, scipy's Pearson r, hand
arithmetic, the figure's artists against the cell table)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from vgs.evaluate.figures import study_figure
from vgs.evaluate.study import cell_summary, regression_table, seed_spread, spread_sentence, study_tables
from vgs.io import write_tsv

TOTALS, KS, SEEDS = (60, 120, 240), (1, 2, 5), (1, 2, 3)


def write_run(
    root: Path, system: str, run_seed: int, gold: np.ndarray, noise: float, r10: float, seed: int
) -> tuple[Path, Path]:
    """Run (system, run_seed)'s similarities and retrieval, as the rules write them; ``seed`` seeds the noise."""
    rng = np.random.default_rng(seed)
    run_dir = root / system / str(run_seed)
    write_tsv(run_dir / "similarities.tsv", pd.DataFrame({
        "pair_id": [f"p{i}" for i in range(len(gold))], "gold": gold,
        "similarity": gold + noise * rng.normal(size=len(gold)), "system": system, "seed": run_seed}))  # fmt: skip
    (run_dir / "retrieval.json").write_text(
        json.dumps({"caption_to_image": {"r10": r10}, "test_images": 50, "system": system, "seed": run_seed})
    )
    return run_dir / "retrieval.json", run_dir / "similarities.tsv"


@pytest.fixture
def study(tmp_path):
    """A 3 × 3 × 3 study whose noise falls with size and k (so r rises), written as the rules write it."""
    gold = np.random.default_rng(0).uniform(0, 5, 120)
    runs, retrievals, similarities, benchmarks = [], [], [], []
    for index, (total, k, seed) in enumerate((t, k, s) for t in TOTALS for k in KS for s in SEEDS):
        name = f"c-n{total}-k{k}"
        noise = 6.0 / math.log2(total) / (1 + 0.2 * k)
        retrieval, similarity = write_run(tmp_path, name, seed, gold, noise, 20 + total / 10 + k + seed, index)
        runs.append({"system": name, "seed": seed, "total": total, "k": k})
        retrievals.append(retrieval)
        similarities.append(similarity)
        benchmark = tmp_path / name / str(seed) / "bench.tsv"
        write_tsv(benchmark, pd.DataFrame({"s": [10.0 + index]}))
        benchmarks.append(benchmark)
    paper_runs = [{"system": f"p-k{k}", "seed": 1, "k": k} for k in KS]
    paper_files = [write_run(tmp_path, f"p-k{k}", 1, gold, 1.0 + k / 10, 50.0, 100 + k) for k in KS]
    paths = {name: tmp_path / "out" / f"{name}.{ext}" for name, ext in
             (("by_seed", "csv"), ("cells_csv", "csv"), ("cells_md", "md"), ("regression_csv", "csv"),
              ("regression_md", "md"))}  # fmt: skip
    paper = (paper_runs, [f[0] for f in paper_files], [f[1] for f in paper_files])
    study_tables(runs, retrievals, similarities, benchmarks, paths, "the test pairs", "a tiny model", paper)
    return {"gold": gold, "runs": runs, "similarities": similarities, "paths": paths, "paper": paper,
            "benchmarks": benchmarks}  # fmt: skip


def test_by_seed_holds_each_runs_cell_recall_and_scipy_pearson(study):
    by_seed = pd.read_csv(study["paths"]["by_seed"])
    assert len(by_seed) == 27 and list(by_seed.columns) == [
        "model",
        "total",
        "k",
        "images",
        "seed",
        "r10",
        "pearson",
        "test_images",
    ]
    for run, path in zip(study["runs"], study["similarities"], strict=True):
        row = by_seed[(by_seed["model"] == run["system"]) & (by_seed["seed"] == run["seed"])].iloc[0]
        similarity = pd.read_csv(path, sep="\t")["similarity"]
        assert row["pearson"] == pytest.approx(stats.pearsonr(study["gold"], similarity).statistic, abs=1e-6)
        assert row["r10"] == pytest.approx(20 + run["total"] / 10 + run["k"] + run["seed"], abs=1e-6)
        assert row["images"] == run["total"] // run["k"]


def test_cells_average_r_in_fisher_z_with_spread_by_hand():
    by_seed = pd.DataFrame({"total": [60] * 3, "k": [2] * 3, "seed": [1, 2, 3], "pearson": [0.1, 0.5, 0.3],
                            "r10": [10.0, 20.0, 60.0]})  # fmt: skip
    cell = cell_summary(by_seed).iloc[0]
    z = (math.atanh(0.1) + math.atanh(0.5) + math.atanh(0.3)) / 3
    assert cell["pearson_mean"] == pytest.approx(math.tanh(z)) and cell["images"] == 30
    assert cell["pearson_sd"] == pytest.approx(0.2) and (cell["pearson_min"], cell["pearson_max"]) == (0.1, 0.5)
    assert cell["r10_mean"] == pytest.approx(30.0) and cell["r10_sd"] == pytest.approx(math.sqrt(700))
    spread = seed_spread(by_seed)
    assert spread["median_range"] == pytest.approx(0.4) and spread["max_sd"] == pytest.approx(0.2)


def test_regression_matches_numpy_least_squares_and_t_intervals(study):
    by_seed = pd.read_csv(study["paths"]["by_seed"])
    table = pd.read_csv(study["paths"]["regression_csv"])
    for outcome, y in (("STS r (All)", by_seed["pearson"]), ("caption→image R@10 (%)", by_seed["r10"])):
        log_total = np.log2(by_seed["total"]) - np.log2(TOTALS).mean()
        log_k = np.log2(by_seed["k"]) - np.log2(KS).mean()
        design = np.column_stack([np.ones(len(by_seed)), log_total, log_k, log_total * log_k,
                                  by_seed["seed"] == 2, by_seed["seed"] == 3]).astype(float)  # fmt: skip
        beta, residual, *_ = np.linalg.lstsq(design, y.to_numpy(), rcond=None)
        df = len(y) - design.shape[1]
        sigma2 = float(residual[0]) / df
        se = np.sqrt(np.diag(np.linalg.inv(design.T @ design)) * sigma2)
        half = stats.t.ppf(0.975, df) * se
        rows = table[table["outcome"] == outcome].set_index("term")
        terms = ["intercept", "log2(total captions)", "log2(captions per image)", "log2(total) × log2(k)",
                 "seed 2", "seed 3"]  # fmt: skip
        # Tolerances: both CSVs hold 6 significant digits (the reference is fitted on by_seed.csv).
        assert rows.loc[terms, "estimate"].to_numpy() == pytest.approx(beta, rel=1e-5, abs=2e-6)
        assert rows.loc[terms, "ci_low"].to_numpy() == pytest.approx(beta - half, rel=1e-5, abs=2e-6)
        assert rows.loc[terms, "ci_high"].to_numpy() == pytest.approx(beta + half, rel=1e-5, abs=2e-6)
        assert rows["residual_sd"].iloc[0] == pytest.approx(math.sqrt(sigma2), rel=1e-5)
    # The fixture's noise falls with size: r rises with log2(total), and the sentence says so.
    size = table[(table["outcome"] == "STS r (All)") & (table["term"] == "log2(total captions)")].iloc[0]
    assert size["estimate"] > 0 and size["ci_low"] > 0 and "the CI excludes 0" in size["reading"]


def test_a_coefficient_whose_interval_holds_zero_is_read_as_no_effect():
    rng = np.random.default_rng(3)
    by_seed = pd.DataFrame([{"total": t, "k": k, "seed": s, "pearson": 0.5 + 0.05 * rng.normal(),
                             "r10": 50 + rng.normal()} for t in TOTALS for k in KS for s in SEEDS])  # fmt: skip
    table = regression_table(by_seed).set_index(["outcome", "term"])
    row = table.loc[("STS r (All)", "log2(captions per image)")]
    assert row["ci_low"] < 0 < row["ci_high"] and "no effect shown" in row["reading"]


def test_markdown_states_spread_paper_style_differences_and_job_time(study):
    text = study["paths"]["regression_md"].read_text()
    hours = sum(10.0 + i for i in range(27)) / 3600
    assert f"Training took {hours:.2f} job-hours (27 jobs" in text
    assert "The paper-style subset models (k = 1, 2, 5, one seed each" in text
    assert "of their 3 pairwise differences" in text
    cells = study["paths"]["cells_md"].read_text()
    assert "a tiny model" in cells and "the test pairs" in cells and cells.count("\n| ") == 10  # header + 9 cells


def test_spread_sentence_counts_differences_within_the_largest_seed_range():
    spread = {"median_sd": 0.01, "max_sd": 0.02, "median_range": 0.02, "max_range": 0.05}
    paper_style = pd.DataFrame({"model": ["a", "b", "c"], "k": [1, 2, 5], "pearson": [0.40, 0.43, 0.50]})
    text = spread_sentence(spread, paper_style)  # |Δr| = 0.03, 0.10, 0.07: none within 0.02, one within 0.05
    assert (
        "r = 0.400 to 0.500; of their 3 pairwise differences, 0 are no larger than the median cell's "
        "seed range and 1 no larger than the largest" in text
    )


def test_figure_draws_the_cell_means_every_seed_and_the_seed_range(study, tmp_path):
    figure = study_figure(study["paths"]["by_seed"], [tmp_path / "study.png"], "the test pairs")
    cells = pd.read_csv(study["paths"]["cells_csv"])
    by_seed = pd.read_csv(study["paths"]["by_seed"])
    for axis, column in zip(figure.axes, ("pearson", "r10"), strict=True):
        lines = {line.get_label(): line for line in axis.get_lines()}
        for k in KS:
            cell = cells[cells["k"] == k].sort_values("total")
            line = lines[f"k = {k}"]
            assert list(line.get_xdata()) == list(cell["total"])
            assert np.allclose(line.get_ydata(), cell[f"{column}_mean"])
        points = np.concatenate([collection.get_offsets()[:, 1] for collection in axis.collections
                                 if collection.get_offsets().shape[0] == len(SEEDS) * len(TOTALS)])  # fmt: skip
        assert sorted(points) == pytest.approx(sorted(by_seed[column]))
        bands = [c for c in axis.collections if c.get_offsets().shape[0] != len(SEEDS) * len(TOTALS)]
        assert len(bands) == len(KS)  # one min–max band per k
    chance = {line.get_label(): line for line in figure.axes[1].get_lines()}["chance (50 test images)"]
    assert list(chance.get_ydata()) == [20.0, 20.0]  # R@10 by chance among 50 images: 10 / 50
    assert "the test pairs" in figure.axes[0].get_title() and figure.axes[0].get_xscale() == "log"
    assert (tmp_path / "study.png").read_bytes()[:4] == b"\x89PNG"
