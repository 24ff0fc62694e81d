"""The ablation table: per-seed R@10, r and Williams' t against the reference, paired over seeds."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from vgs.evaluate.ablation import ablation_table
from vgs.evaluate.stats import williams_t
from vgs.io import write_tsv

SEEDS = [1, 2, 3]
MODELS = {"ref": {"epochs": 12}, "fast": {"epochs": 12, "bucket": True}}  # shared epochs: not the option


def write_run(root: Path, model: str, seed: int, gold: np.ndarray, noise: float, r10: float) -> tuple[Path, Path]:
    rng = np.random.default_rng(100 * seed + len(model))
    similarities = root / model / str(seed) / "similarities.tsv"
    write_tsv(similarities, pd.DataFrame({"pair_id": [f"p{i}" for i in range(len(gold))], "gold": gold,
                                          "similarity": gold + noise * rng.normal(size=len(gold)),
                                          "system": model, "seed": seed}))  # fmt: skip
    retrieval = root / model / str(seed) / "retrieval.json"
    retrieval.write_text(
        json.dumps({"caption_to_image": {"r10": r10}, "test_images": 50, "system": model, "seed": seed})
    )
    return retrieval, similarities


def test_ablation_against_hand_computed_statistics(tmp_path):
    gold = np.random.default_rng(0).uniform(0, 5, 80)
    recalls = {"ref": [60.0, 62.0, 58.0], "fast": [55.0, 60.0, 50.0]}
    noise = {"ref": 1.0, "fast": 2.0}
    retrievals, similarities = [], []
    for model in MODELS:
        for seed, r10 in zip(SEEDS, recalls[model], strict=True):
            retrieval, similarity = write_run(tmp_path, model, seed, gold, noise[model], r10)
            retrievals.append(retrieval)
            similarities.append(similarity)
    paths = {"csv": tmp_path / "ablation.csv", "md": tmp_path / "ablation.md"}
    summary = ablation_table(MODELS, "ref", SEEDS, retrievals, similarities, paths, "world")

    by_seed = pd.read_csv(paths["csv"])
    fast = by_seed[by_seed["model"] == "fast"].set_index("seed")
    ref = by_seed[by_seed["model"] == "ref"].set_index("seed")
    for seed in SEEDS:  # Williams' t by hand from the three correlations of seed s
        sim_ref = pd.read_csv(tmp_path / "ref" / str(seed) / "similarities.tsv", sep="\t")["similarity"]
        sim_fast = pd.read_csv(tmp_path / "fast" / str(seed) / "similarities.tsv", sep="\t")["similarity"]
        r_fast, r_ref = np.corrcoef(gold, sim_fast)[0, 1], np.corrcoef(gold, sim_ref)[0, 1]
        assert fast.loc[seed, "pearson"] == pytest.approx(r_fast)
        t, _, p = williams_t(r_fast, r_ref, np.corrcoef(sim_fast, sim_ref)[0, 1], len(gold))
        assert fast.loc[seed, "williams_t"] == pytest.approx(t, rel=1e-5) and t < 0  # noisier arm is worse
        assert fast.loc[seed, "williams_p"] == pytest.approx(p, rel=1e-5)
    r10_t = stats.ttest_rel(recalls["fast"], recalls["ref"])
    z_t = stats.ttest_rel(np.arctanh(fast["pearson"]), np.arctanh(ref["pearson"]))
    row = summary.set_index("model").loc["fast"]
    assert row["setting"] == "bucket=True" and row["seeds"] == 3
    assert row["ΔR@10 (paired t, p)"] == f"-5.0 (t={r10_t.statistic:.2f}, p={r10_t.pvalue:.3f})"
    z_diff = float(np.mean(np.arctanh(fast["pearson"]) - np.arctanh(ref["pearson"])))
    assert row["Δz(r) (paired t, p)"] == f"{z_diff:+.3f} (t={z_t.statistic:.2f}, p={z_t.pvalue:.3f})"
    assert row["R@10 (%)"] == f"55.0 ± {np.std(recalls['fast'], ddof=1):.1f}"
    assert row["r (All)"].startswith(f"{math.tanh(np.mean(np.arctanh(fast['pearson']))):.3f} ± ")
    assert "reference recipe" in paths["md"].read_text()
