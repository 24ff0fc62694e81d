"""Figures: Figure 1 (STS correlation per subtask and overall), Figure 2 (correlation against
captions per image), the external speech models' correlation by layer, the systems' ranks under each
SpokenSTS protocol, learning curves and the size × captions-per-image study. Each is written as PNG
(report, README) and PDF (paper).

The figures read the seed-aggregated tables (:func:`vgs.evaluate.tables.sts_tables`, the protocols'
tables of :mod:`vgs.evaluate.protocol_tables`), so restyling a figure never recomputes an evaluation.
"""

from __future__ import annotations

import itertools
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")  # headless: rules run without a display

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from vgs.evaluate.protocols import PROTOCOLS  # noqa: E402
from vgs.evaluate.tables import SPEECH, SPEECH_MODEL, TEXT_TOPLINE, system_label  # noqa: E402
from vgs.identity import REBUILD_TRAINED, check_frame  # noqa: E402
from vgs.io import PathLike, atomic_path, read_tsv  # noqa: E402

#: Levels shown after the subtasks, in this order; their labels come from the data (the
#: natural-speech group is named by vgs.evaluate.labels, "synthetic stand-in" unless human).
OVERALL_LEVELS = ("all", "natural", "sample")
TOPLINE_COLOURS = ["0.35", "0.6", "0.8"]
TOPLINE_MARKERS = ["s", "D", "^"]
SPEECH_MARKERS = ["o", "v", "P", "X", "*", "h"]
#: Correlations that agree to the tables' shown decimals are ranked as ties.
RANK_DECIMALS = 3


def save_figure(figure: plt.Figure, paths: Sequence[PathLike]) -> None:
    """Save ``figure`` to every path (format from the suffix), atomically, then close it.

    The figure functions return the closed figure: its artists still hold what was drawn, so
    tests compare plotted points, error bars and labels with the tables they were drawn from."""
    for path in paths:
        with atomic_path(path) as tmp:
            figure.savefig(tmp, format=str(path).rsplit(".", 1)[-1], dpi=200, bbox_inches="tight")
    plt.close(figure)


def _read_correlations(path: PathLike) -> pd.DataFrame:
    frame = pd.read_csv(path, keep_default_na=True)
    frame["subset_k"] = pd.to_numeric(frame["subset_k"], errors="coerce")
    return frame


def overall_groups(frame: pd.DataFrame) -> list[tuple[str, str]]:
    """(level, group label) of All, the natural-speech sample and Sample, where present."""
    labels = dict(zip(frame["level"], frame["group"], strict=True))
    return [(level, str(labels[level])) for level in OVERALL_LEVELS if level in labels]


def _figure1_groups(frame: pd.DataFrame) -> list[tuple[str, str]]:
    """(level, group) on the x axis: subtasks in year order, then All / natural sample / Sample."""
    subtasks = frame.loc[frame["level"] == "subtask", ["year", "group"]].drop_duplicates()
    ordered = [("subtask", group) for group in subtasks.sort_values(["year", "group"])["group"]]
    return ordered + overall_groups(frame)


def figure1(correlations_csv: PathLike, out_paths: Sequence[PathLike], measure: str = "pearson") -> plt.Figure:
    """Per-subtask correlation with 95% CIs, one colour per training corpus (speech models that
    are not captions-per-image subsets), text toplines in grey, All / Natural / Sample at the right."""
    frame = _read_correlations(correlations_csv)
    frame = frame[frame["subset_k"].isna()]
    groups = _figure1_groups(frame)
    systems = frame[["system", "kind", "corpus"]].drop_duplicates().reset_index(drop=True)
    speech = systems[systems["kind"] != TEXT_TOPLINE]
    corpora = list(dict.fromkeys(speech["corpus"]))
    palette = dict(zip(corpora, sns.color_palette("colorblind", len(corpora)), strict=True))

    sns.set_theme(style="whitegrid", context="paper", font_scale=1.1)
    figure, axis = plt.subplots(figsize=(max(6.0, 0.55 * len(groups) + 2.5), 4.2))
    width = 0.8
    offsets = np.linspace(-width / 2, width / 2, len(systems) + 2)[1:-1]
    position = {group: i for i, group in enumerate(groups)}
    topline_index = 0
    corpus_models: dict[str, int] = {}
    for offset, system in zip(offsets, systems.itertuples(index=False), strict=True):
        if system.kind == TEXT_TOPLINE:
            colour = TOPLINE_COLOURS[topline_index % len(TOPLINE_COLOURS)]
            marker = TOPLINE_MARKERS[topline_index % len(TOPLINE_MARKERS)]
            topline_index += 1
        else:
            colour = palette[system.corpus]
            marker = SPEECH_MARKERS[corpus_models.get(system.corpus, 0) % len(SPEECH_MARKERS)]
            corpus_models[system.corpus] = corpus_models.get(system.corpus, 0) + 1
        rows = frame[frame["system"] == system.system]
        rows = rows[[(level, group) in position for level, group in zip(rows["level"], rows["group"], strict=True)]]
        x = np.array([position[(level, group)] for level, group in zip(rows["level"], rows["group"], strict=True)])
        y = rows[measure].to_numpy(dtype=float)
        error = np.abs(np.vstack([y - rows[f"{measure}_low"], rows[f"{measure}_high"] - y]))
        label = system_label(system.system, system.kind)
        if system.kind != TEXT_TOPLINE:
            label = f"{system.system} ({system.corpus})"
        axis.errorbar(x + offset, y, yerr=np.nan_to_num(error), fmt=marker, color=colour, markersize=5,
                      capsize=2, elinewidth=1, label=label, linestyle="none")  # fmt: skip
    overall_start = len(groups) - sum(1 for item in groups if item[0] != "subtask")
    if 0 < overall_start < len(groups):
        axis.axvline(overall_start - 0.5, color="0.3", linewidth=1)
    axis.axhline(0, color="0.5", linewidth=0.8)
    axis.set_xticks(range(len(groups)), [group for _, group in groups], rotation=55, ha="right")
    axis.set_xlim(-0.6, len(groups) - 0.4)
    axis.set_ylabel(f"{measure.capitalize()} r with human scores (95% CI)")
    axis.set_xlabel("")
    title = (
        "Model (training corpus or speech model)"
        if (speech["kind"] == SPEECH_MODEL).any()
        else "Model (training corpus)"
    )
    axis.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, title=title)
    save_figure(figure, out_paths)
    return figure


def figure2(correlations_csv: PathLike, out_paths: Sequence[PathLike], measure: str = "pearson") -> plt.Figure:
    """Correlation (All, the natural-speech sample, Sample) with 95% CIs against captions per image,
    from the subset models; text toplines on All as grey reference lines."""
    frame = _read_correlations(correlations_csv)
    subsets = frame[frame["subset_k"].notna() & frame["level"].isin(OVERALL_LEVELS)]
    if subsets.empty:
        raise ValueError(f"{correlations_csv}: no captions-per-image subset models; configure `subsets` in the config")
    sns.set_theme(style="whitegrid", context="paper", font_scale=1.1)
    figure, axis = plt.subplots(figsize=(6.0, 4.0))
    colours = dict(zip(OVERALL_LEVELS, sns.color_palette("colorblind", len(OVERALL_LEVELS)), strict=True))
    shifts = dict(zip(OVERALL_LEVELS, (-0.06, 0.0, 0.06), strict=True))
    for level, label in overall_groups(subsets):
        colour, shift = colours[level], shifts[level]
        rows = subsets[subsets["level"] == level].sort_values("subset_k")
        if rows.empty:
            continue
        k = rows["subset_k"].to_numpy(dtype=float)
        y = rows[measure].to_numpy(dtype=float)
        error = np.abs(np.vstack([y - rows[f"{measure}_low"], rows[f"{measure}_high"] - y]))
        axis.errorbar(k + shift, y, yerr=np.nan_to_num(error), marker="o", color=colour, capsize=3, label=label)
    toplines = frame[(frame["kind"] == TEXT_TOPLINE) & (frame["level"] == "all")]
    for row, colour in zip(toplines.itertuples(index=False), TOPLINE_COLOURS, strict=False):
        axis.axhline(getattr(row, measure), color=colour, linestyle="--", linewidth=1,
                     label=f"{system_label(row.system, row.kind)}, All")  # fmt: skip
    ks = sorted(subsets["subset_k"].unique())
    axis.set_xticks(ks, [str(int(k)) for k in ks])
    axis.set_xlabel("Captions per image in training (same total number of captions)")
    axis.set_ylabel(f"{measure.capitalize()} r with human scores (95% CI)")
    axis.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    save_figure(figure, out_paths)
    return figure


def speech_model_layer_figure(
    correlations_csv: PathLike,
    runs: Sequence[Mapping[str, Any]],
    out_paths: Sequence[PathLike],
    measure: str = "pearson",
) -> plt.Figure:
    """Correlation (95% CI) against the hidden-state index of each external speech model (one line per
    encoder), on All and on the natural-speech sample (one panel each); the trained models that are
    not captions-per-image subsets (as in Figure 1) and the text toplines (on All only: text has no
    natural-speech row) as horizontal lines with their CIs as bands. ``runs`` are the encoder runs
    (``speech_model``, ``layer``, ``system``)."""
    frame = _read_correlations(correlations_csv)
    layer_of = {run["system"]: (run["speech_model"], int(run["layer"])) for run in runs}
    if not layer_of:
        raise ValueError("the layer-wise figure needs speech_models: in the config")
    panels = [(level, label) for level, label in overall_groups(frame) if level in ("all", "natural")]
    models = list(dict.fromkeys(model for model, _ in layer_of.values()))
    colours = dict(zip(models, sns.color_palette("colorblind", len(models)), strict=True))
    references = frame[(frame["kind"] == TEXT_TOPLINE) | ((frame["kind"] == SPEECH) & frame["subset_k"].isna())]
    reference_systems = list(dict.fromkeys(references["system"]))
    reference_colours = dict(zip(reference_systems, sns.color_palette("dark", len(reference_systems)), strict=True))
    sns.set_theme(style="whitegrid", context="paper", font_scale=1.1)
    figure, axes = plt.subplots(1, len(panels), figsize=(5.0 * len(panels) + 2.5, 4.0), sharey=True, squeeze=False)
    for axis, (level, label) in zip(axes[0], panels, strict=True):
        rows = frame[(frame["level"] == level) & frame["system"].isin(list(layer_of))]
        for model in models:
            mine = rows[[layer_of[system][0] == model for system in rows["system"]]]
            layers = np.array([layer_of[system][1] for system in mine["system"]])
            order = np.argsort(layers)
            y = mine[measure].to_numpy(dtype=float)[order]
            error = np.abs(np.vstack([y - mine[f"{measure}_low"].to_numpy()[order],
                                      mine[f"{measure}_high"].to_numpy()[order] - y]))  # fmt: skip
            description = mine["corpus"].iloc[0] if len(mine) else ""
            axis.errorbar(layers[order], y, yerr=np.nan_to_num(error), marker="o", capsize=3, color=colours[model],
                          label=f"{model} ({description})")  # fmt: skip
        for row in references[references["level"] == level].itertuples(index=False):
            colour = reference_colours[row.system]
            style = "--" if row.kind == TEXT_TOPLINE else "-"
            name = system_label(row.system, row.kind) if row.kind == TEXT_TOPLINE else f"{row.system} ({row.corpus})"
            axis.axhline(getattr(row, measure), color=colour, linestyle=style, linewidth=1, label=name)
            low, high = getattr(row, f"{measure}_low"), getattr(row, f"{measure}_high")
            if np.isfinite(low) and np.isfinite(high):
                axis.axhspan(low, high, color=colour, alpha=0.08, linewidth=0)
        axis.set_title(label)
        axis.set_xlabel("Hidden state read (0 = transformer input)")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[0][0].set_ylabel(f"{measure.capitalize()} r with human scores (95% CI)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    axes[0][-1].legend(handles, labels, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False,
                       title="Speech model / reference")  # fmt: skip
    figure.tight_layout()
    save_figure(figure, out_paths)
    return figure


def read_train_logs(runs: Sequence[Mapping[str, Any]], log_paths: Sequence[PathLike]) -> pd.DataFrame:
    """Concatenate train logs with the run's model and seed attached, each log checked to be its run's."""
    columns = ("epoch", "train_loss", "dev_loss", "dev_r10")
    frames = []
    for run, path in zip(runs, log_paths, strict=True):
        log = check_frame(read_tsv(path, required=columns), path, run, REBUILD_TRAINED)
        log = log[list(columns)].apply(pd.to_numeric, errors="coerce")
        frames.append(log.assign(model=run["system"], seed=run["seed"]))
    return pd.concat(frames, ignore_index=True)


def learning_curves(
    runs: Sequence[Mapping[str, Any]], log_paths: Sequence[PathLike], out_paths: Sequence[PathLike]
) -> plt.Figure:
    """Train loss, dev loss and dev R@10 per epoch for every model (mean ± sd band over seeds)."""
    logs = read_train_logs(runs, log_paths)
    logs["dev_r10"] *= 100  # the loop logs recall as a fraction; the panel shows percent, as Table 2 does
    sns.set_theme(style="whitegrid", context="paper", font_scale=1.1)
    panels = [
        ("train_loss", "Training loss"),
        ("dev_loss", "Development loss"),
        ("dev_r10", "Development R@10 (%)"),
    ]
    figure, axes = plt.subplots(1, len(panels), figsize=(4.0 * len(panels) + 2.0, 3.6), sharex=True)
    palette = sns.color_palette("husl", logs["model"].nunique())
    for axis, (column, title) in zip(axes, panels, strict=True):
        sns.lineplot(data=logs, x="epoch", y=column, hue="model", errorbar="sd", ax=axis, palette=palette,
                     legend=axis is axes[-1])  # fmt: skip
        axis.set_title(title)
        axis.set_ylabel("")
        axis.set_xlabel("Epoch")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[-1].legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False, title="Model")
    figure.tight_layout()
    save_figure(figure, out_paths)
    return figure


def study_figure(by_seed_csv: PathLike, out_paths: Sequence[PathLike], sts_description: str) -> plt.Figure:
    """The size × captions-per-image study at a glance: STS r (left) and caption→image R@10 (right)
    against total training captions (log scale), one line per k through the cell means (r averaged
    in Fisher z), every seed as a point and the seeds' range as a band; retrieval's chance level
    (10 of the test images) as a dashed line, so cells that retrieve at chance are plain to see."""
    from vgs.evaluate.study import OUTCOMES, cell_summary  # the study's tables define the numbers

    by_seed = pd.read_csv(by_seed_csv)
    cells = cell_summary(by_seed)
    ks = sorted(cells["k"].unique())
    palette = dict(zip(ks, sns.color_palette("viridis", len(ks)), strict=True))
    sns.set_theme(style="whitegrid", context="paper", font_scale=1.1)
    figure, axes = plt.subplots(1, 2, figsize=(10.5, 4.0), sharex=True)
    totals = sorted(cells["total"].unique())
    spacing = {k: 1.0 + 0.025 * (i - (len(ks) - 1) / 2) for i, k in enumerate(ks)}  # seeds apart by k
    for axis, (column, name) in zip(axes, OUTCOMES.items(), strict=True):
        for k in ks:
            cell = cells[cells["k"] == k].sort_values("total")
            seeds = by_seed[by_seed["k"] == k]
            axis.fill_between(
                cell["total"], cell[f"{column}_min"], cell[f"{column}_max"], color=palette[k], alpha=0.15, linewidth=0
            )
            axis.plot(cell["total"], cell[f"{column}_mean"], marker="o", color=palette[k], label=f"k = {k}")
            axis.scatter(seeds["total"] * spacing[k], seeds[column], color=palette[k], s=12, alpha=0.7,
                         edgecolors="none")  # fmt: skip
        axis.set_xscale("log", base=2)
        axis.set_xticks(totals, [str(int(t)) for t in totals])
        axis.minorticks_off()
        axis.set_xlabel("Total training captions (log scale)")
        axis.set_ylabel(name)
    for test_images in by_seed["test_images"].unique():  # one corpus, so one test set and one level
        chance = 100 * min(10, int(test_images)) / int(test_images)
        axes[1].axhline(chance, color="grey", linestyle="--", linewidth=1, label=f"chance ({test_images} test images)")
    axes[0].set_title(f"r on {sts_description}", fontsize=9)
    axes[1].set_title("retrieval on the corpus's test images", fontsize=9)
    axes[1].legend(title="captions per image", loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    save_figure(figure, out_paths)
    return figure


def protocol_ranks_figure(protocol_csvs: Sequence[PathLike], out_paths: Sequence[PathLike]) -> plt.Figure:
    """Every system's rank (1 = highest correlation) under each SpokenSTS protocol, one column per
    protocol (its headline number: vgs.evaluate.protocols), a line joining one system's ranks; the
    system's name at both ends and in the legend. Trained VGS models solid, speech-model layers
    dash-dotted, text toplines dashed. A system without the protocol's headline number (a correlation
    of a constant) has no point in that column. Correlations equal to the tables' three decimals tie
    and share the best rank.

    Each CSV is one protocol's table (vgs.evaluate.protocol_tables), which names its protocol."""
    columns = [_protocol_ranks(path) for path in protocol_csvs]
    systems = pd.concat([ranks for _, ranks in columns])[["system", "kind", "corpus"]].drop_duplicates()
    tab20 = sns.color_palette("tab20", 20)
    colours = itertools.cycle(tab20[0::2] + tab20[1::2])  # the ten strong colours before their pale pairs
    styles = {SPEECH: "-", SPEECH_MODEL: "-.", TEXT_TOPLINE: "--"}
    sns.set_theme(style="whitegrid", context="paper", font_scale=1.1)
    figure, axis = plt.subplots(figsize=(2.6 * len(columns) + 5.0, 0.32 * len(systems) + 2.4))
    stacked: dict[tuple[int, float, int], int] = {}  # end labels already at a point: tied systems stack
    for colour, system in zip(colours, systems.itertuples(index=False)):
        label = system_label(system.system, system.kind, system.corpus)
        xs, ys = [], []
        for x, (_, ranks) in enumerate(columns):
            rank = ranks.loc[ranks["system"] == system.system, "rank"]
            if len(rank):
                xs.append(x)
                ys.append(float(rank.iloc[0]))
        axis.plot(xs, ys, marker="o", color=colour, linestyle=styles.get(system.kind, "-"), label=label)
        for x, y, side in ((xs[0], ys[0], -1), (xs[-1], ys[-1], 1)):
            below = stacked.get((x, y, side), 0)
            stacked[(x, y, side)] = below + 1
            axis.annotate(label, (x, y), xytext=(8 * side, -8 * below), textcoords="offset points", va="center",
                          fontsize=7, ha="left" if side > 0 else "right", color=colour)  # fmt: skip
    axis.set_xticks(range(len(columns)), [title for title, _ in columns], fontsize=8)
    axis.set_xlim(-1.3, len(columns) + 0.3)
    axis.set_ylim(len(systems) + 0.5, 0.5)
    axis.yaxis.set_major_locator(MaxNLocator(integer=True))
    axis.set_ylabel("Rank among the systems (1 = highest correlation)")
    axis.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, title="System", fontsize=7)
    save_figure(figure, out_paths)
    return figure


def _protocol_ranks(path: PathLike) -> tuple[str, pd.DataFrame]:
    """(column title, the headline rows of one protocol's table with each system's ``rank``)."""
    table = pd.read_csv(path, keep_default_na=True)
    headline = table[table["headline"].notna()]
    if headline.empty or headline["protocol"].nunique() != 1 or headline["group"].nunique() != 1:
        raise ValueError(f"{path}: not one protocol's table with one headline group; rerun its table rule")
    protocol = PROTOCOLS[headline["protocol"].iloc[0]]
    measure = headline["headline"].iloc[0]
    ranks = headline.assign(r=headline[measure]).dropna(subset=["r"])
    ranks = ranks.assign(rank=ranks["r"].round(RANK_DECIMALS).rank(ascending=False, method="min"))
    group = textwrap.fill(str(headline["group"].iloc[0]), 26)
    return f"{textwrap.fill(protocol.title, 26)}\n{group}\n{measure.capitalize()}", ranks
