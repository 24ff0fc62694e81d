"""Size × captions-per-image study: does more data or more paraphrases per image make the better model?

The paper's corpora differ in size, domain and captions per image at once, and each model was
trained once. The study separates the two factors on one corpus: every cell of *total captions* ×
*captions per image* (k) is a nested subset of the same ranking (vgs.corpora.subsets), trained
with several seeds, so that

* a cell's **seed spread** says how much of a difference between two single runs is chance;
* an **OLS regression** ``outcome ~ log2(total) * log2(k) + C(seed)`` (predictors centred on the
  grid's means, so each main effect is read at the average of the other; seed as a fixed effect,
  because the seeds are shared by every cell) says what doubling the data and doubling the
  paraphrases per image are worth, and whether the two interact.

Outcomes: Pearson r of the voice-averaged cosine similarities with the human scores on All pairs of
an STS set, and caption→image R@10 (%) on the corpus's test set — the numbers of the paper's
Figure 2 and Table 2. Fitted on r itself (not Fisher z) so that coefficients read in r units.

Written by the ``study_tables`` rule to ``tables/study/<set>/``: ``by_seed.csv`` (one row per
model × seed), ``cells.{csv,md}`` (mean and spread per cell), ``regression.{csv,md}``
(coefficients, 95% CIs, one sentence each, the seed spread beside the paper's differences, the
training time the study took).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf

from vgs.evaluate.tables import headline_metrics, write_table
from vgs.io import PathLike, read_tsv

BY_SEED_COLUMNS = ["model", "total", "k", "images", "seed", "r10", "pearson", "test_images"]
OUTCOMES = {"pearson": "STS r (All)", "r10": "caption→image R@10 (%)"}
TERMS = {
    "Intercept": "intercept",
    "log2_total": "log2(total captions)",
    "log2_k": "log2(captions per image)",
    "log2_total:log2_k": "log2(total) × log2(k)",
}


def study_by_seed(
    runs: Sequence[Mapping[str, Any]], retrieval_paths: Sequence[PathLike], similarity_paths: Sequence[PathLike]
) -> pd.DataFrame:
    """One row per study model × seed: its cell (total, k, images) and both outcomes.

    ``runs`` hold ``system``, ``seed``, ``total`` and ``k``, in the order of the paths.
    """
    _, _, metrics = headline_metrics(runs, retrieval_paths, similarity_paths)
    cells = pd.DataFrame([{"total": run["total"], "k": run["k"]} for run in runs])
    frame = pd.concat([metrics.rename(columns={"system": "model"}), cells], axis=1)
    frame["images"] = frame["total"] // frame["k"]
    return frame[BY_SEED_COLUMNS].sort_values(["total", "k", "seed"], kind="stable").reset_index(drop=True)


def fisher_mean(correlations: pd.Series) -> float:
    """Mean of correlations taken in Fisher z (as every seed aggregate of the workflow)."""
    return math.tanh(float(np.arctanh(correlations.clip(-0.999999, 0.999999)).mean()))


def cell_summary(by_seed: pd.DataFrame) -> pd.DataFrame:
    """Per cell: seeds, r (Fisher-z mean, sd, min, max) and R@10 (mean, sd, min, max)."""
    rows = []
    for (total, k), cell in by_seed.groupby(["total", "k"], sort=True):
        row: dict[str, Any] = {"total": total, "k": k, "images": total // k, "seeds": len(cell)}
        for column, mean in (("pearson", fisher_mean), ("r10", lambda values: float(values.mean()))):
            values = cell[column]
            row.update(
                {
                    f"{column}_mean": mean(values),
                    f"{column}_sd": float(values.std(ddof=1)) if len(cell) > 1 else math.nan,
                    f"{column}_min": float(values.min()),
                    f"{column}_max": float(values.max()),
                }
            )
        rows.append(row)
    return pd.DataFrame(rows)


def design(by_seed: pd.DataFrame) -> pd.DataFrame:
    """The regression's data: log2 total and log2 k centred on the grid's means, seed as a category."""
    grid_totals = np.log2(np.sort(by_seed["total"].unique()))
    grid_ks = np.log2(np.sort(by_seed["k"].unique()))
    return by_seed.assign(
        log2_total=np.log2(by_seed["total"]) - grid_totals.mean(),
        log2_k=np.log2(by_seed["k"]) - grid_ks.mean(),
        seed=by_seed["seed"].astype(str),
    )


def fit(by_seed: pd.DataFrame, outcome: str):  # -> statsmodels RegressionResults
    """OLS of ``outcome`` on centred log2(total), log2(k), their product and the seed."""
    seed_term = " + C(seed)" if by_seed["seed"].nunique() > 1 else ""
    return smf.ols(f"{outcome} ~ log2_total * log2_k{seed_term}", data=design(by_seed)).fit()


def reading(term: str, outcome: str, estimate: float, low: float, high: float) -> str:
    """One sentence saying what a coefficient means, with its 95% CI."""
    unit = "" if outcome == "pearson" else " points"
    name = OUTCOMES[outcome]
    change = f"{estimate:+.3f}{unit} [{low:+.3f}, {high:+.3f}]"
    excludes_zero = low > 0 or high < 0
    verdict = "the CI excludes 0" if excludes_zero else "the CI includes 0: no effect shown"
    if term == "Intercept":
        return f"{name} of seed 1 at the grid's mean log total and log k: {estimate:.3f}{unit} [{low:.3f}, {high:.3f}]."
    if term == "log2_total":
        return f"Doubling the training captions (k at its grid mean) changes {name} by {change}; {verdict}."
    if term == "log2_k":
        return (
            f"Doubling the captions per image at the same total (so half the images) changes {name} by "
            f"{change}; {verdict}."
        )
    if term == "log2_total:log2_k":
        worth = "more" if estimate > 0 else "less"
        return (
            f"Per doubling of k, the gain from doubling the data changes by {change} "
            f"(more paraphrases make more data worth {worth}); {verdict}."
        )
    seed = term.split("T.")[-1].rstrip("]")
    return f"Seed {seed} against seed 1, same cell: {change}; {verdict}."


def regression_table(by_seed: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Coefficients of both outcomes with CIs, p, residual sd and a sentence each."""
    rows = []
    for outcome in OUTCOMES:
        result = fit(by_seed, outcome)
        intervals = result.conf_int(alpha=1 - level)
        for term, estimate in result.params.items():
            low, high = intervals.loc[term]
            rows.append({
                "outcome": OUTCOMES[outcome], "term": TERMS.get(term, term.replace("C(seed)[T.", "seed ").rstrip("]")),
                "estimate": float(estimate), "ci_low": float(low), "ci_high": float(high),
                "p": float(result.pvalues[term]), "n": int(result.nobs),
                "residual_sd": float(math.sqrt(result.scale)), "reading": reading(term, outcome, estimate, low, high),
            })  # fmt: skip
    return pd.DataFrame(rows)


def seed_spread(by_seed: pd.DataFrame) -> dict[str, float]:
    """How far apart two seeds of the same cell land, in r: median and largest within-cell sd and range."""
    grouped = by_seed.groupby(["total", "k"])["pearson"]
    sds, ranges = grouped.std(ddof=1), grouped.max() - grouped.min()
    return {"median_sd": float(sds.median()), "max_sd": float(sds.max()),
            "median_range": float(ranges.median()), "max_range": float(ranges.max())}  # fmt: skip


def spread_sentence(spread: Mapping[str, float], paper_style: pd.DataFrame | None = None) -> str:
    """The seed spread, beside the differences between the paper-style single-seed subset models.

    ``paper_style`` (columns ``model``, ``k``, ``pearson``) holds the workflow's own Figure 2 models
    (one seed each, as the paper trained them): their pairwise differences are what a reader of
    such a figure would compare, and the seed spread says how many of them chance alone could make.
    """
    text = (
        f"Seed to seed, r of one cell varies with a median sd of {spread['median_sd']:.3f} (largest "
        f"{spread['max_sd']:.3f}); the best and worst seed of a cell differ by {spread['median_range']:.3f} "
        f"in the median cell and by up to {spread['max_range']:.3f}."
    )
    if paper_style is not None and len(paper_style) > 1:
        values = paper_style.sort_values("k")["pearson"].to_numpy()
        differences = np.abs(values[:, None] - values[None, :])[np.triu_indices(len(values), 1)]
        within_median = int((differences <= spread["median_range"]).sum())
        within_max = int((differences <= spread["max_range"]).sum())
        ks = ", ".join(str(k) for k in sorted(paper_style["k"]))
        text += (
            f" The paper-style subset models (k = {ks}, one seed each, as the paper trained them) span "
            f"r = {values.min():.3f} to {values.max():.3f}; of their {len(differences)} pairwise differences, "
            f"{within_median} are no larger than the median cell's seed range and {within_max} no larger "
            "than the largest: a difference that small between single runs can be the seed alone."
        )
    return text


def paper_style_models(
    paper_style: tuple[Sequence[Mapping[str, Any]], Sequence[PathLike], Sequence[PathLike]] | None,
) -> pd.DataFrame | None:
    """``model``, ``k`` and ``pearson`` of the paper-style subset models (their first seed), if given."""
    if not paper_style or not paper_style[0]:
        return None
    runs, retrieval_paths, similarity_paths = paper_style
    _, _, metrics = headline_metrics(runs, retrieval_paths, similarity_paths)
    frame = metrics.assign(k=[run["k"] for run in runs]).rename(columns={"system": "model"})
    return frame[frame["seed"] == frame["seed"].min()][["model", "k", "pearson"]]


def training_seconds(benchmark_paths: Sequence[PathLike]) -> float:
    """Summed wall time of the study's training jobs (Snakemake benchmark files, column ``s``)."""
    return sum(float(read_tsv(path, required=("s",))["s"].iloc[-1]) for path in benchmark_paths)


def format_cells(cells: pd.DataFrame) -> pd.DataFrame:
    """The cell table for reading: mean ± sd [min, max] of each outcome."""

    def cell_text(row: pd.Series, column: str, digits: int) -> str:
        spread = "" if math.isnan(row[f"{column}_sd"]) else f" ± {row[f'{column}_sd']:.{digits}f}"
        return (
            f"{row[f'{column}_mean']:.{digits}f}{spread} "
            f"[{row[f'{column}_min']:.{digits}f}, {row[f'{column}_max']:.{digits}f}]"
        )

    return pd.DataFrame({
        "total captions": cells["total"], "captions per image": cells["k"], "images": cells["images"],
        "seeds": cells["seeds"],
        OUTCOMES["pearson"] + ", mean ± sd [min, max]": [cell_text(row, "pearson", 3) for _, row in cells.iterrows()],
        OUTCOMES["r10"] + ", mean ± sd [min, max]": [cell_text(row, "r10", 1) for _, row in cells.iterrows()],
    })  # fmt: skip


def study_tables(
    runs: Sequence[Mapping[str, Any]],
    retrieval_paths: Sequence[PathLike],
    similarity_paths: Sequence[PathLike],
    benchmark_paths: Sequence[PathLike],
    paths: Mapping[str, PathLike],
    sts_description: str,
    training: str,
    paper_style: tuple[Sequence[Mapping[str, Any]], Sequence[PathLike], Sequence[PathLike]] | None = None,
) -> pd.DataFrame:
    """Rule entry: ``by_seed`` CSV, ``cells_csv``/``cells_md`` and ``regression_csv``/``regression_md``.

    ``sts_description`` names what r was measured on (e.g. the world's synthetic STS set);
    ``training`` says what the study's models were trained with (model size, epochs), for the captions.
    ``paper_style`` = (runs with ``system``, ``seed``, ``k``; retrieval paths; similarity paths) of
    the paper-style subset models of the same corpus, compared with the seed spread.
    """
    by_seed = study_by_seed(runs, retrieval_paths, similarity_paths)
    write_table(by_seed, {"csv": paths["by_seed"]})
    cells = cell_summary(by_seed)
    write_table(cells, {"csv": paths["cells_csv"]})
    seeds = sorted(by_seed["seed"].unique())
    write_table(
        format_cells(cells), {"md": paths["cells_md"]},
        f"Size × captions-per-image study ({training}; seeds {', '.join(map(str, seeds))}): per cell, Pearson r "
        f"with the human scores on All of {sts_description} (mean over seeds in Fisher z) and caption→image R@10 on "
        "the corpus's test images, each as mean ± sd [min, max] over seeds.",
    )  # fmt: skip
    regression = regression_table(by_seed)
    write_table(regression, {"csv": paths["regression_csv"]})
    hours = training_seconds(benchmark_paths) / 3600
    caption = (
        f"OLS per outcome: outcome ~ log2(total) × log2(k) + seed (fixed effect), predictors centred on the grid's "
        f"means, n = {len(by_seed)} models ({len(cells)} cells × {len(seeds)} seeds), r on {sts_description}; "
        f"95% CIs. {spread_sentence(seed_spread(by_seed), paper_style_models(paper_style))} "
        f"Training took {hours:.2f} job-hours ({len(benchmark_paths)} jobs, Snakemake benchmarks)."
    )
    shown = regression[["outcome", "term", "estimate", "ci_low", "ci_high", "p", "reading"]]
    write_table(shown, {"md": paths["regression_md"]}, caption)
    return regression
