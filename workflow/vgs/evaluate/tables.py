"""Combined tables: retrieval (Table 2), STS correlations (Figure 1's numbers), model comparisons
and regression / AIC (Table 3). Each is written as CSV (for machines) and Markdown / LaTeX (for
people and papers).

A **run** is one evaluated system on one seed, described by a dict with ``system`` (the model or
topline name), ``seed`` (``None`` for text toplines, which have no training seed), ``kind``
(``speech``, ``speech model`` or ``text topline``), ``corpus`` (for an encoder: its checkpoint,
or that it is random) and ``subset_k`` (``None`` unless a captions-per-image subset model).
External speech models, like toplines, have no seed and are compared with every run. Rules pass runs as
params in the same order as their input files, and every reader checks that each file records the
run it is paired with (``system`` and ``seed``; vgs.identity): a reordered input list stops with
the file, the run it holds and the run expected, instead of labelling one model's numbers with
another's name.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from statsmodels.stats.multitest import multipletests

from vgs.evaluate.labels import natural_description, natural_label
from vgs.evaluate.retrieval import RECALL_AT, read_retrieval
from vgs.evaluate.stats import compare_dependent, mean_correlation, regression_aic
from vgs.identity import SPEECH, SPEECH_MODEL, TEXT_TOPLINE, check_frame  # the kinds of evaluated systems
from vgs.io import PathLike, atomic_path, read_tsv, write_text_atomic

log = logging.getLogger(__name__)

Run = Mapping[str, Any]
RUN_COLUMNS = ("system", "kind", "corpus", "subset_k", "seed")
DIRECTIONS = {"caption_to_image": "caption→image", "image_to_caption": "image→caption"}
METRICS = [f"r{k}" for k in RECALL_AT] + ["medr"]


def _run_columns(run: Run) -> dict[str, Any]:
    return {column: run.get(column) for column in RUN_COLUMNS}


def _format_number(value: object, column: str) -> object:
    """Three decimals; p-values below 0.001 in scientific notation so they do not read as 0."""
    if not isinstance(value, float):
        return value
    if not np.isfinite(value):
        return "–"
    if (column in ("p", "p_holm") or column.endswith("_p")) and 0 < value < 0.001:
        return f"{value:.1e}"
    return f"{value:.3f}"


def formatted(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with floats as display strings (for Markdown and LaTeX)."""
    return frame.apply(lambda column: column.map(lambda value: _format_number(value, str(column.name))))


def write_table(frame: pd.DataFrame, paths: Mapping[str, PathLike], caption: str = "") -> None:
    """Write ``frame`` to each of ``paths`` keyed by format: ``csv`` (full precision), ``md`` or
    ``tex`` (rounded for reading)."""
    for fmt, path in paths.items():
        if fmt == "csv":
            with atomic_path(path) as tmp:
                frame.to_csv(tmp, index=False, float_format="%.6g")
        elif fmt == "md":
            table = formatted(frame).to_markdown(index=False, disable_numparse=True)
            write_text_atomic(path, (f"{caption}\n\n" if caption else "") + table + "\n")
        elif fmt == "tex":
            write_text_atomic(path, formatted(frame).to_latex(index=False, escape=True, caption=caption or None))
        else:
            raise ValueError(f"unknown table format {fmt!r}")


def _mean_sd(values: pd.Series, digits: int) -> str:
    """``mean ± sd`` over seeds, or just the value for a single seed."""
    values = values.dropna()
    if values.empty:
        return "–"
    if len(values) == 1:
        return f"{values.iloc[0]:.{digits}f}"
    return f"{values.mean():.{digits}f} ± {values.std(ddof=1):.{digits}f}"


# --- Table 2: retrieval -----------------------------------------------------------------------


def retrieval_long(runs: Sequence[Run], json_paths: Sequence[PathLike]) -> pd.DataFrame:
    """One row per run × direction with R@1/5/10 and median rank."""
    rows = []
    for run, result in zip(runs, read_retrieval(runs, json_paths), strict=True):
        for direction in DIRECTIONS:
            rows.append({**_run_columns(run), "direction": direction, "test_images": result["test_images"],
                         "test_captions": result["test_captions"], "median_convention": result["median_convention"],
                         **result[direction]})  # fmt: skip
    return pd.DataFrame(rows)


def retrieval_table(runs: Sequence[Run], json_paths: Sequence[PathLike], paths: Mapping[str, PathLike]) -> pd.DataFrame:
    """Table 2: retrieval per model (mean ± sd over seeds). CSV holds per-seed numbers."""
    long = retrieval_long(runs, json_paths)
    write_table(long, {fmt: path for fmt, path in paths.items() if fmt == "csv"})
    wide_rows = []
    for (system, corpus), group in long.groupby(["system", "corpus"], sort=False):
        row: dict[str, object] = {"model": system, "corpus": corpus, "seeds": group["seed"].nunique()}
        for direction, label in DIRECTIONS.items():
            part = group[group["direction"] == direction]
            for metric in METRICS:
                row[f"{label} {metric.upper() if metric != 'medr' else 'med r'}"] = _mean_sd(part[metric], 1)
        wide_rows.append(row)
    wide = pd.DataFrame(wide_rows)
    conventions = ", ".join(sorted(long["median_convention"].unique()))
    caption = (f"Table 2: retrieval on each corpus's test set (R@k in %; median rank, {conventions} convention "
               "(lower = lower middle value, as torch.median); ties counted against the model).")  # fmt: skip
    write_table(wide, {fmt: path for fmt, path in paths.items() if fmt != "csv"}, caption)
    return wide


# --- STS correlations -------------------------------------------------------------------------


def sts_long(runs: Sequence[Run], correlation_paths: Sequence[PathLike]) -> pd.DataFrame:
    """All correlation rows of all runs, one row per run × group."""
    frames = [
        check_frame(read_tsv(path), path, run).assign(**_run_columns(run))
        for run, path in zip(runs, correlation_paths, strict=True)
    ]
    long = pd.concat(frames, ignore_index=True)
    numeric = [c for c in long.columns if c.startswith(("pearson", "spearman")) or c == "n"]
    long[numeric] = long[numeric].apply(pd.to_numeric, errors="coerce")
    return long


SEED_KEYS = ("system", "kind", "corpus", "subset_k", "level", "group", "year")


def aggregate_seeds(long: pd.DataFrame, level: float = 0.95, keys: Sequence[str] = SEED_KEYS) -> pd.DataFrame:
    """One row per system × group (``keys``): correlations averaged over seeds in Fisher z space,
    with the CI of that average at the group's ``n`` (so a single seed reproduces its own CI)."""
    keys = list(keys)
    rows = []
    for key, group in long.groupby(keys, sort=False, dropna=False):
        row: dict[str, object] = dict(zip(keys, key, strict=True))
        n = int(group["n"].max())
        row.update(n=n, seeds=int(group["seed"].nunique(dropna=False)))
        for measure in ("pearson", "spearman"):
            r, low, high = mean_correlation(group[measure].to_numpy(), n, level)
            if group[f"{measure}_low"].isna().all():  # SentEval means (and points that are not a sample) carry no CI
                low = high = np.nan
            row.update({measure: r, f"{measure}_low": low, f"{measure}_high": high})
        rows.append(row)
    return pd.DataFrame(rows)


def sts_tables(
    runs: Sequence[Run],
    correlation_paths: Sequence[PathLike],
    paths: Mapping[str, PathLike],
    level: float = 0.95,
    natural_source: str = "synthetic",
) -> pd.DataFrame:
    """Per-seed CSV (``by_seed``), seed-aggregated CSV (``csv``) and a readable Pearson table
    (``md``, ``tex``). Figures read the aggregated CSV. ``natural_source`` (``sts.natural.source``)
    decides how the caption names the natural-speech sample."""
    long = sts_long(runs, correlation_paths)
    write_table(long, {"csv": paths["by_seed"]})
    aggregated = aggregate_seeds(long, level)
    write_table(aggregated, {"csv": paths["csv"]})
    caption = ("Pearson r [95% CI, Fisher z] between model similarity and human scores, by subtask, year, "
               f"All, {natural_label(natural_source)} ({natural_description(natural_source)}) and Sample (the "
               "same pairs in the six voices); senteval_mean / senteval_wmean are SentEval-style plain and "
               "size-weighted means over subtasks. Text toplines are marked.")  # fmt: skip
    write_table(correlation_matrix(aggregated), {f: p for f, p in paths.items() if f in ("md", "tex")}, caption)
    return aggregated


def system_label(system: str, kind: str, corpus: object = None) -> str:
    """Display name of a system; text toplines are marked as such everywhere, and an external
    speech model's layer by its checkpoint (or as random weights) when ``corpus`` is given."""
    if kind == TEXT_TOPLINE:
        return f"{system} (text topline)"
    if kind == SPEECH_MODEL and corpus is not None:
        return f"{system} ({corpus})"
    return str(system)


def correlation_matrix(aggregated: pd.DataFrame, measure: str = "pearson") -> pd.DataFrame:
    """Groups as rows, systems as columns, ``r [low, high]`` of ``measure`` as cells."""

    def cell(row: pd.Series) -> str:
        if not np.isfinite(row[measure]):
            return "–"
        if np.isfinite(row[f"{measure}_low"]):
            return f"{row[measure]:.2f} [{row[f'{measure}_low']:.2f}, {row[f'{measure}_high']:.2f}]"
        return f"{row[measure]:.2f}"

    frame = aggregated.assign(
        label=[
            system_label(s, k, c)
            for s, k, c in zip(aggregated["system"], aggregated["kind"], aggregated["corpus"], strict=True)
        ],
        cell=aggregated.apply(cell, axis=1),
        row=aggregated["level"] + ": " + aggregated["group"].astype(str),
    )
    matrix = frame.pivot(index="row", columns="label", values="cell")
    matrix = matrix.reindex(index=list(dict.fromkeys(frame["row"])), columns=list(dict.fromkeys(frame["label"])))
    return matrix.fillna("–").reset_index().rename(columns={"row": "group"})


# --- Model comparisons and Table 3 (both on "All") ---------------------------------------------


def load_similarities(
    runs: Sequence[Run], similarity_paths: Sequence[PathLike]
) -> tuple[pd.Series, list[tuple[Run, np.ndarray]]]:
    """Gold scores and each run's similarities (each file checked to be its run's), aligned on the
    pair ids of the first file."""
    gold: pd.Series | None = None
    loaded = []
    for run, path in zip(runs, similarity_paths, strict=True):
        frame = check_frame(read_tsv(path, required=("pair_id", "gold", "similarity")), path, run).set_index("pair_id")
        if gold is None:
            gold = frame["gold"].astype(float)
        elif set(frame.index) != set(gold.index):
            raise ValueError(f"{path}: its pairs differ from {similarity_paths[0]}; rerun its evaluation")
        loaded.append((run, frame.loc[gold.index, "similarity"].astype(float).to_numpy()))
    if gold is None:
        raise ValueError("no similarity files given")
    return gold, loaded


def headline_metrics(
    runs: Sequence[Run], retrieval_paths: Sequence[PathLike], similarity_paths: Sequence[PathLike]
) -> tuple[pd.Series, list[np.ndarray], pd.DataFrame]:
    """Gold scores, each run's similarities and one row per run with its two headline numbers:
    caption→image R@10 (%) on the corpus's test set and Pearson r with the human scores on All,
    and the number of test images (what chance R@10 depends on).

    The paths follow ``runs`` (one retrieval JSON and one similarities file per run).
    """
    gold, loaded = load_similarities(runs, similarity_paths)
    scores = [run_scores for _, run_scores in loaded]
    rows = [
        {"system": run["system"], "seed": run["seed"],
         "r10": float(result["caption_to_image"]["r10"]),  # type: ignore[index]
         "pearson": float(np.corrcoef(gold.to_numpy(), run_scores)[0, 1]),
         "test_images": int(result["test_images"])}  # type: ignore[arg-type]
        for run, run_scores, result in zip(runs, scores, read_retrieval(runs, retrieval_paths), strict=True)
    ]  # fmt: skip
    return gold, scores, pd.DataFrame(rows, columns=["system", "seed", "r10", "pearson", "test_images"])


def _run_label(run: Run, several_seeds: bool) -> str:
    label = system_label(run["system"], run["kind"], run.get("corpus"))
    return f"{label} seed {run['seed']}" if several_seeds and run.get("seed") is not None else label


def comparisons_table(
    runs: Sequence[Run], similarity_paths: Sequence[PathLike], paths: Mapping[str, PathLike]
) -> pd.DataFrame:
    """Williams' test for every pair of systems on All, with Holm-adjusted p-values.

    Speech models are compared within a seed; text toplines (no seed) against every run.
    """
    gold, loaded = load_similarities(runs, similarity_paths)
    several_seeds = len({run.get("seed") for run in runs if run.get("seed") is not None}) > 1
    rows = []
    for (run_a, sim_a), (run_b, sim_b) in itertools.combinations(loaded, 2):
        seed_a, seed_b = run_a.get("seed"), run_b.get("seed")
        if seed_a is not None and seed_b is not None and seed_a != seed_b:
            continue
        result = compare_dependent(gold.to_numpy(), sim_a, sim_b)
        rows.append({"a": _run_label(run_a, several_seeds), "b": _run_label(run_b, several_seeds), **result.as_dict()})
    frame = pd.DataFrame(rows, columns=["a", "b", "n", "r_a", "r_b", "r_ab", "t", "df", "p"])
    frame["p_holm"] = multipletests(frame["p"], method="holm")[1] if len(frame) else []
    frame["significant"] = frame["p_holm"] < 0.05
    caption = ("Williams' t for the difference between two systems' Pearson r with the human scores on All "
               "(dependent, overlapping correlations; r_ab: correlation of the two systems' similarities); "
               "p_holm: Holm-adjusted over all comparisons.")  # fmt: skip
    write_table(frame, paths, caption)
    return frame


def _aic_frame(runs: Sequence[Run], similarity_paths: Sequence[PathLike]) -> pd.DataFrame:
    """One row per run: OLS of the human scores on the run's similarity (All), before ΔAIC."""
    gold, loaded = load_similarities(runs, similarity_paths)
    several_seeds = len({run.get("seed") for run in runs if run.get("seed") is not None}) > 1
    return pd.DataFrame([
        {"model": _run_label(run, several_seeds), **_run_columns(run), **regression_aic(gold.to_numpy(), sim).as_dict()}
        for run, sim in loaded
    ])  # fmt: skip


def _write_aic(frame: pd.DataFrame, paths: Mapping[str, PathLike], caption: str) -> pd.DataFrame:
    """Add ΔAIC to the best (lowest) row of ``frame``; CSV in full, Markdown / LaTeX shortened."""
    frame = frame.copy()
    frame.insert(frame.columns.get_loc("aic") + 1, "delta_aic", frame["aic"] - frame["aic"].min())
    shown = frame[["model", "corpus", "n", "log_likelihood", "aic", "delta_aic", "slope", "r_squared"]]
    write_table(frame, {f: p for f, p in paths.items() if f == "csv"})
    write_table(shown, {f: p for f, p in paths.items() if f != "csv"}, caption)
    return frame


AIC_CONVENTION = ("AIC = -2 LL + 2*3 (intercept, slope, residual variance: R's convention, as in the paper); lower "
                  "is better. LL and AIC are over the n pairs shown, so they compare models in ranking and sign, "
                  "not in size with the paper's.")  # fmt: skip


def table3_aic(
    runs: Sequence[Run], similarity_paths: Sequence[PathLike], paths: Mapping[str, PathLike]
) -> pd.DataFrame:
    """Table 3 as in the paper: only the captions-per-image subset models (k = 5 … 1), ΔAIC relative
    to the best of them. Other runs among ``runs`` are left out (see :func:`aic_table_all`)."""
    chosen = [i for i, run in enumerate(runs) if run.get("kind") == SPEECH and run.get("subset_k") is not None]
    if not chosen:
        raise ValueError("Table 3 compares captions-per-image subset models, and none is configured (`subsets`)")
    frame = _aic_frame([runs[i] for i in chosen], [similarity_paths[i] for i in chosen])
    frame = frame.sort_values(["subset_k", "seed"], ascending=[False, True], kind="stable")
    caption = ("Table 3: OLS regression of human scores on the similarity of the models trained on k captions per "
               "image (same number of training captions), All pairs; ΔAIC relative to the best of these models. "
               + AIC_CONVENTION)  # fmt: skip
    return _write_aic(frame, paths, caption)


def aic_table_all(
    runs: Sequence[Run], similarity_paths: Sequence[PathLike], paths: Mapping[str, PathLike]
) -> pd.DataFrame:
    """Every model and text topline (beyond the paper's Table 3), ordered by AIC, ΔAIC to the best."""
    frame = _aic_frame(runs, similarity_paths).sort_values("aic", kind="stable")
    caption = ("OLS regression of human scores on each system's similarity (All), every trained model, external "
               "speech-model layer and text topline; ΔAIC relative to the best of all. " + AIC_CONVENTION)  # fmt: skip
    return _write_aic(frame, paths, caption)
