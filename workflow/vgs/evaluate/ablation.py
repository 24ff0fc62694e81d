"""What a training option costs in results: arms against a reference recipe, seed by seed.

The speed options (length-bucketed batches, bf16 autocast) change what the model learns, not only
how fast: a length-homogeneous batch gives the hinge loss other negatives, and autocast rounds
activations. An ablation trains the same corpus under the reference recipe and under each arm,
with the same seeds, and compares them on what the paper is about:

* **caption→image R@10** on the corpus's test set, and **Pearson r on All** of an STS set;
* **paired across seeds** (seed s of an arm starts from the same initial weights and data order
  as seed s of the reference): paired t on R@10 and on Fisher's z of r;
* **per seed, Williams' t** for the two dependent correlations with the human scores (both models
  score the same pairs), the test the paper uses to compare models.

Written by the ``table_ablation`` rule to ``tables/ablation/<set>.{csv,md}`` (CSV: per seed).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from vgs.evaluate.stats import compare_dependent
from vgs.evaluate.tables import headline_metrics, write_table
from vgs.io import PathLike

SEED_COLUMNS = ["model", "setting", "seed", "r10", "pearson", "williams_t", "williams_p", "r_with_reference"]


def describe_setting(overrides: Mapping[str, Any], reference: Mapping[str, Any]) -> str:
    """``bucket=True, precision=bf16``: the train overrides in which a model differs from the
    reference's (settings they share, e.g. fewer epochs for all, are not the option under test);
    ``reference recipe`` if none."""
    changed = {key: value for key, value in overrides.items() if reference.get(key) != value}
    return ", ".join(f"{key}={value}" for key, value in sorted(changed.items())) or "reference recipe"


def paired_t(arm: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    """Paired t and two-sided p of ``arm - reference`` over seeds (NaN below two seeds or no spread)."""
    differences = np.asarray(arm, dtype=float) - np.asarray(reference, dtype=float)
    if differences.size < 2 or np.ptp(differences) == 0:
        return (math.nan, math.nan)
    result = stats.ttest_rel(arm, reference)
    return (float(result.statistic), float(result.pvalue))


def ablation_by_seed(
    models: Mapping[str, Mapping[str, Any]],
    reference: str,
    seeds: Sequence[int],
    retrieval_paths: Sequence[PathLike],
    similarity_paths: Sequence[PathLike],
) -> pd.DataFrame:
    """One row per model × seed: R@10, Pearson r on All and Williams' t against the reference.

    ``models`` maps each model (reference first) to its train overrides; the paths are ordered
    model-major, seed-minor, as :func:`ablation_inputs` lists them.
    """
    runs = [{"system": model, "seed": seed} for model in models for seed in seeds]
    gold, scores, metrics = headline_metrics(runs, retrieval_paths, similarity_paths)
    reference_scores = {run["seed"]: run_scores for run, run_scores in zip(runs, scores) if run["system"] == reference}
    rows = []
    for run, run_scores, (_, metric) in zip(runs, scores, metrics.iterrows(), strict=True):
        row = {
            "model": run["system"],
            "setting": describe_setting(models[run["system"]], models[reference]),
            "seed": run["seed"],
            "r10": metric["r10"],
            "pearson": metric["pearson"],
        }
        if run["system"] == reference:
            row.update(williams_t=math.nan, williams_p=math.nan, r_with_reference=1.0)
        else:
            williams = compare_dependent(gold.to_numpy(), run_scores, reference_scores[run["seed"]])
            row.update(williams_t=williams.t, williams_p=williams.p, r_with_reference=williams.r_ab)
        rows.append(row)
    return pd.DataFrame(rows, columns=SEED_COLUMNS)


def ablation_summary(by_seed: pd.DataFrame, reference: str) -> pd.DataFrame:
    """One row per model: means ± sd over seeds, paired differences to the reference, Williams per seed."""
    base = by_seed[by_seed["model"] == reference].set_index("seed")
    rows = []
    for model, group in by_seed.groupby("model", sort=False):
        group = group.set_index("seed").loc[base.index]
        z, z_base = np.arctanh(group["pearson"]), np.arctanh(base["pearson"])
        r10_t, r10_p = paired_t(group["r10"], base["r10"])
        z_t, z_p = paired_t(z, z_base)
        williams = "; ".join(f"s{seed}: t={row.williams_t:.2f}, p={row.williams_p:.3f}"
                             for seed, row in group.iterrows() if model != reference)  # fmt: skip
        rows.append({
            "model": model, "setting": group["setting"].iloc[0], "seeds": len(group),
            "R@10 (%)": f"{group['r10'].mean():.1f} ± {group['r10'].std(ddof=1):.1f}",
            "r (All)": f"{math.tanh(z.mean()):.3f} ± {group['pearson'].std(ddof=1):.3f}",
            "ΔR@10 (paired t, p)": "–" if model == reference
            else f"{(group['r10'] - base['r10']).mean():+.1f} (t={r10_t:.2f}, p={r10_p:.3f})",
            "Δz(r) (paired t, p)": "–" if model == reference
            else f"{(z - z_base).mean():+.3f} (t={z_t:.2f}, p={z_p:.3f})",
            "Williams' t vs reference, per seed": williams or "–",
        })  # fmt: skip
    return pd.DataFrame(rows)


def ablation_table(
    models: Mapping[str, Mapping[str, Any]],
    reference: str,
    seeds: Sequence[int],
    retrieval_paths: Sequence[PathLike],
    similarity_paths: Sequence[PathLike],
    paths: Mapping[str, PathLike],
    sts_set: str,
) -> pd.DataFrame:
    """Rule entry: per-seed CSV (``csv``) and the readable summary (``md``)."""
    by_seed = ablation_by_seed(models, reference, seeds, retrieval_paths, similarity_paths)
    write_table(by_seed, {"csv": paths["csv"]})
    summary = ablation_summary(by_seed, reference)
    caption = (f"Training options against the reference recipe ({reference}), same seeds: caption→image R@10 on "
               f"the test set and Pearson r with the human scores on All of STS set {sts_set!r} (mean over seeds "
               "in Fisher z ± sd of r); paired t over seeds on R@10 and on Fisher z of r; Williams' t per seed "
               "(positive: the arm correlates better than the reference).")  # fmt: skip
    write_table(summary, {"md": paths["md"]}, caption)
    return summary
