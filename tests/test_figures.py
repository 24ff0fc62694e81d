"""Figures: valid PNG and PDF files, and what they draw (points, error bars, tick and legend labels)
equals the tables and logs they are drawn from, read back from the Matplotlib artists."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.container import ErrorbarContainer

from vgs.evaluate.figures import figure1, figure2, learning_curves
from vgs.evaluate.labels import natural_label
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
        for seed in [None] if kind == "text topline" else [1, 2]:
            path = tmp_path / "eval" / f"{system}-{seed}.tsv"
            write_tsv(
                path, correlation_rows(_similarities(rng, 0.2 + 0.1 * index)).assign(system=system, seed=seed or "")
            )
            runs.append({"system": system, "kind": kind, "corpus": corpus, "subset_k": k, "seed": seed})
            paths.append(path)
    tables = tmp_path / "tables"
    sts_tables(runs, paths, {"by_seed": tables / "by_seed.csv", "csv": tables / "sts.csv"})
    return tables / "sts.csv"


def _assert_written(paths: list[Path]) -> None:
    """Each file is a PNG or PDF as its suffix says, written atomically. What it shows is checked
    through the figure's artists (the tests below): an empty plot is a valid PNG of 16.6 kB."""
    for path in paths:
        assert path.read_bytes().startswith(PNG_MAGIC if path.suffix == ".png" else PDF_MAGIC), path
        assert not list(path.parent.glob(f".{path.name}.*")), "temporary file left behind"


YLABEL = "Pearson r with human scores (95% CI)"


def test_figure2_without_subsets_is_a_clear_error(tmp_path: Path, correlations_csv: Path) -> None:
    frame = pd.read_csv(correlations_csv)
    frame[frame["subset_k"].isna()].to_csv(tmp_path / "nosubsets.csv", index=False)
    with pytest.raises(ValueError, match="no captions-per-image subset models"):
        figure2(tmp_path / "nosubsets.csv", [tmp_path / "f.png"])


def _train_logs(tmp_path: Path) -> tuple[list[dict[str, object]], list[Path]]:
    """Two models x two seeds of train logs as the training loop writes them (recall as a fraction)."""
    runs, logs = [], []
    rng = np.random.default_rng(2)
    for model in ("flickr", "places"):
        for seed in (1, 2):
            epochs = np.arange(1, 6)
            log = pd.DataFrame({"epoch": epochs, "train_loss": 5 / epochs + rng.uniform(size=5),
                                "dev_loss": 5.5 / epochs + rng.uniform(size=5), "dev_r1": 0.02 * epochs,
                                "dev_r5": 0.05 * epochs, "dev_r10": rng.uniform(0.1, 0.9, size=5),
                                "lr": 1e-4, "seconds": 3.0, "system": model, "seed": seed})  # fmt: skip
            path = tmp_path / f"{model}-{seed}.tsv"
            write_tsv(path, log)
            runs.append({"system": model, "seed": seed})
            logs.append(path)
    return runs, logs


# --- what is drawn equals the table -----------------------------------------------------------------


def _errorbars(axis: Axes) -> dict[str, ErrorbarContainer]:
    """The axis's error-bar series by legend label."""
    return {container.get_label(): container for container in axis.containers
            if isinstance(container, ErrorbarContainer)}  # fmt: skip


def _drawn(container: ErrorbarContainer) -> list[tuple[float, float, float, float]]:
    """(x, y, lower end, upper end) of every point of an error-bar series."""
    line, _caps, (bars,) = container.lines
    points = []
    for x, y, segment in zip(line.get_xdata(), line.get_ydata(), bars.get_segments(), strict=True):
        (x_low, low), (x_high, high) = segment
        assert x_low == x_high == x, "error bar not at its point"
        points.append((float(x), float(y), float(min(low, high)), float(max(low, high))))
    return points


def _assert_point(table_row: pd.Series, y: float, low: float, high: float) -> None:
    assert (y, low, high) == pytest.approx(
        (table_row["pearson"], table_row["pearson_low"], table_row["pearson_high"]), abs=1e-12
    ), (table_row["system"], table_row.name)


def _label_names(label: str, system: str, kind: str, corpus: str) -> bool:
    """A legend label names its system, and its corpus or that it is a text topline."""
    return system in label.split() and ((corpus in label) if kind == "speech" else "text topline" in label)


def test_figure1_draws_the_table(tmp_path: Path, correlations_csv: Path) -> None:
    out = [tmp_path / "fig" / "figure1.png", tmp_path / "fig" / "figure1.pdf"]
    figure = figure1(correlations_csv, out)
    _assert_written(out)
    table = pd.read_csv(correlations_csv)
    whole = table[table["subset_k"].isna()]
    subtasks = whole[whole["level"] == "subtask"].sort_values(["year", "group"])["group"].unique().tolist()
    expected_ticks = subtasks + ["All", natural_label("synthetic"), "Sample"]
    (axis,) = figure.axes
    ticks = [label.get_text() for label in axis.get_xticklabels()]
    assert ticks == expected_ticks
    assert list(axis.get_xticks()) == list(range(len(ticks)))
    shown = whole[whole["group"].isin(expected_ticks) & whole["level"].isin(["subtask", "all", "natural", "sample"])]
    series = _errorbars(axis)
    systems = whole[["system", "kind", "corpus"]].drop_duplicates()
    assert len(series) == len(systems)  # one series per system; the captions-per-image subsets are Figure 2's
    plotted = set()
    for system in systems.itertuples(index=False):
        [label] = [label for label in series if _label_names(label, system.system, system.kind, system.corpus)]
        rows = shown[shown["system"] == system.system].set_index("group")
        for x, y, low, high in _drawn(series[label]):
            group = ticks[round(x)]
            assert abs(x - round(x)) < 0.4  # drawn inside its group's slot
            _assert_point(rows.loc[group], y, low, high)
            plotted.add((system.system, group))
    assert plotted == set(zip(shown["system"], shown["group"], strict=True))  # nothing dropped, nothing extra
    legend = axis.get_legend()
    assert [text.get_text() for text in legend.get_texts()] == list(series)  # one entry per series
    assert sorted(series) == ["bow (text topline)", "flickr (world-flickr)", "places (world-places)"]
    assert legend.get_title().get_text() == "Model (training corpus)"
    assert axis.get_ylabel() == YLABEL


def test_figure2_draws_the_table(tmp_path: Path, correlations_csv: Path) -> None:
    out = [tmp_path / "figure2.png", tmp_path / "figure2.pdf"]
    figure = figure2(correlations_csv, out)
    _assert_written(out)
    table = pd.read_csv(correlations_csv)
    subsets = table[table["subset_k"].notna()]
    levels = {"All": "all", natural_label("synthetic"): "natural", "Sample": "sample"}
    (axis,) = figure.axes
    ks = sorted(subsets["subset_k"].unique())
    assert [label.get_text() for label in axis.get_xticklabels()] == [str(int(k)) for k in ks]
    series = _errorbars(axis)
    assert sorted(series) == sorted(levels)
    for label, container in series.items():
        rows = subsets[subsets["level"] == levels[label]].set_index("subset_k")
        drawn = _drawn(container)
        assert [round(x) for x, *_ in drawn] == ks  # one point per captions-per-image value, in order
        for x, y, low, high in drawn:
            assert abs(x - round(x)) < 0.2
            _assert_point(rows.loc[round(x)], y, low, high)
    toplines = table[(table["kind"] == "text topline") & (table["level"] == "all")]
    reference_lines = {line.get_label(): line for line in axis.get_lines() if not line.get_label().startswith("_")}
    assert len(reference_lines) == len(toplines)
    for row in toplines.itertuples(index=False):
        [label] = [label for label in reference_lines if _label_names(label, row.system, row.kind, row.corpus)]
        assert "All" in label
        assert list(reference_lines[label].get_ydata()) == pytest.approx([row.pearson] * 2, abs=1e-12)
    legend = [text.get_text() for text in axis.get_legend().get_texts()]
    assert sorted(legend) == sorted([*levels, "bow (text topline), All"])
    assert axis.get_xlabel() == "Captions per image in training (same total number of captions)"
    assert axis.get_ylabel() == YLABEL


def test_learning_curves_draw_the_seed_means_and_sd(tmp_path: Path) -> None:
    runs, logs = _train_logs(tmp_path)
    out = [tmp_path / "curves.png", tmp_path / "curves.pdf"]
    figure = learning_curves(runs, logs, out)
    _assert_written(out)
    frames = pd.concat([pd.read_csv(path, sep="\t").assign(model=run["system"])
                        for run, path in zip(runs, logs, strict=True)])  # fmt: skip
    panels = {axis.get_title(): axis for axis in figure.axes}
    # Recall is logged as a fraction; a panel labelled in percent must plot percent.
    columns = {"Training loss": ("train_loss", 1.0), "Development loss": ("dev_loss", 1.0),
               "Development R@10 (%)": ("dev_r10", 100.0)}  # fmt: skip
    assert set(panels) == set(columns)
    legend = panels["Development R@10 (%)"].get_legend()
    colours = {text.get_text(): handle.get_color()
               for text, handle in zip(legend.get_texts(), legend.legend_handles, strict=True)}  # fmt: skip
    assert sorted(colours) == ["flickr", "places"] and legend.get_title().get_text() == "Model"
    assert [axis.get_xlabel() for axis in figure.axes] == ["Epoch"] * 3
    for title, (column, scale) in columns.items():
        axis = panels[title]
        for model, colour in colours.items():
            stats = frames[frames["model"] == model].groupby("epoch")[column].agg(["mean", "std"]) * scale
            [line] = [line for line in axis.get_lines() if line.get_color() == colour and len(line.get_xdata())]
            assert list(line.get_xdata()) == stats.index.tolist()
            assert line.get_ydata() == pytest.approx(stats["mean"].to_numpy(), abs=1e-9)
            [band] = [band for band in axis.collections if tuple(band.get_facecolor()[0][:3]) == tuple(colour)]
            vertices = band.get_paths()[0].vertices
            for epoch, row in stats.iterrows():
                at_epoch = vertices[np.isclose(vertices[:, 0], epoch), 1]
                assert (at_epoch.min(), at_epoch.max()) == pytest.approx(
                    (row["mean"] - row["std"], row["mean"] + row["std"]), abs=1e-9
                )
