"""Labels never overstate: a synthetic stand-in is never called natural speech, in tables, figure
text (read back from matplotlib's artists) or report captions; human recordings are."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import jinja2
import numpy as np
import pandas as pd
import pytest
from docutils.core import publish_parts

import vgs.evaluate.figures as figures
from conftest import REPO
from vgs.evaluate.labels import is_human_speech, natural_description, natural_label
from vgs.evaluate.sts_eval import correlation_rows
from vgs.evaluate.tables import sts_tables
from vgs.io import write_tsv

HUMAN = ["recordings", "spokensts"]
NOT_HUMAN = ["synthetic", "anything-else"]


def test_only_recordings_are_human_speech():
    assert all(is_human_speech(source) and natural_label(source) == "Natural speech" for source in HUMAN)
    for source in NOT_HUMAN:
        assert not is_human_speech(source)
        assert "synthetic" in natural_label(source).lower() and "natural speech" not in natural_label(source).lower()
        assert "synthetic" in natural_description(source)


def _similarities(rng: np.random.Generator) -> pd.DataFrame:
    gold = rng.uniform(0, 5, 60)
    frame = pd.DataFrame({"pair_id": [f"p{i}" for i in range(60)], "year": "2012", "subtask": "MSRvid",
                          "gold": gold, "similarity": gold + rng.normal(size=60),
                          "in_sample": np.arange(60) % 3 == 0})  # fmt: skip
    frame["natural_similarity"] = np.where(frame["in_sample"], frame["similarity"] + rng.normal(size=60), np.nan)
    return frame


def correlation_table(tmp_path: Path, source: str) -> tuple[Path, Path]:
    """Correlations of two subset models and one other, aggregated; returns (csv, md)."""
    rng = np.random.default_rng(0)
    runs, paths = [], []
    for system, k in (("flickr", None), ("coco-k1", 1), ("coco-k5", 5)):
        path = tmp_path / "eval" / f"{system}.tsv"
        write_tsv(path, correlation_rows(_similarities(rng), natural_source=source).assign(system=system, seed=1))
        runs.append({"system": system, "kind": "speech", "corpus": "c", "subset_k": k, "seed": 1})
        paths.append(path)
    tables = tmp_path / "tables"
    sts_tables(runs, paths, {"by_seed": tables / "by_seed.csv", "csv": tables / "sts.csv", "md": tables / "sts.md"},
               natural_source=source)  # fmt: skip
    return tables / "sts.csv", tables / "sts.md"


@pytest.mark.parametrize("source", ["synthetic", "recordings"])
def test_tables_name_the_sample_by_its_source(tmp_path, source):
    csv, md = correlation_table(tmp_path, source)
    text = csv.read_text() + md.read_text()
    if is_human_speech(source):
        assert "Natural speech" in text
    else:
        assert "Natural speech" not in text and "Synthetic stand-in" in text


def figure_texts(monkeypatch, draw) -> list[str]:
    """Every text of the figure ``draw`` makes: tick labels, legend entries, titles, axis labels."""
    captured = []
    monkeypatch.setattr(figures, "save_figure", lambda figure, paths: captured.append(figure))
    draw()
    (figure,) = captured
    return [text.get_text() for text in figure.findobj(lambda artist: hasattr(artist, "get_text"))]


@pytest.mark.parametrize("draw", [figures.figure1, figures.figure2])
@pytest.mark.parametrize("source", ["synthetic", "spokensts"])
def test_figures_name_the_sample_by_its_source(tmp_path, monkeypatch, draw, source):
    csv, _ = correlation_table(tmp_path, source)
    texts = figure_texts(monkeypatch, lambda: draw(csv, [tmp_path / "f.png"]))
    if is_human_speech(source):
        assert "Natural speech" in texts
    else:
        assert not [text for text in texts if "natural speech" in text.lower()]
        assert natural_label(source) in texts


CAPTIONS = sorted((REPO / "workflow" / "report").glob("*.rst"))


def rendered_caption(caption: Path) -> str:
    """A report caption as Snakemake's jinja pass writes it, for a synthetic natural-speech sample."""
    params = SimpleNamespace(natural=natural_label("synthetic"), natural_description=natural_description("synthetic"),
                             sts_description="the pairs", training="a model", world=True)  # fmt: skip
    config = {"evaluate": {"ci_level": 0.95}, "corpora": {"c": {"on_bad_audio": "skip", "max_rejected_fraction": 0.01}}}
    snakemake = SimpleNamespace(params=params, config=config, wildcards={"corpus": "c"})
    return jinja2.Template(caption.read_text()).render(snakemake=snakemake)


@pytest.mark.parametrize("caption", CAPTIONS, ids=lambda path: path.name)
def test_captions_call_a_synthetic_sample_synthetic(caption):
    text = rendered_caption(caption)
    assert "natural speech" not in text.lower().replace("not natural speech", "")
    if "natural" in caption.read_text().lower():
        assert "synthetic" in text


@pytest.mark.parametrize("caption", CAPTIONS, ids=lambda path: path.name)
def test_captions_render_as_text_and_not_as_email_links(caption):
    """Snakemake's report renders a caption with docutils, which reads a bare ``R@10`` as an email
    address and made every recall in the report a mailto: link (found when the module test looked for
    Table 2's caption in report.html). A caption renders without links it does not mean, or warnings."""
    html = publish_parts(
        rendered_caption(caption), writer_name="html", settings_overrides={"report_level": 2, "halt_level": 2}
    )["body"]
    assert "mailto:" not in html


@pytest.mark.parametrize("world", [True, False])
def test_study_caption_calls_only_the_world_generated(world):
    """The study runs on the world or on a real corpus with the real STS pairs: its caption says the
    pairs are generated only for the world, and that the voices are synthetic in both cases."""
    caption = (REPO / "workflow" / "report" / "study_figure.rst").read_text()
    params = SimpleNamespace(sts_description="the pairs", training="a model", world=world)
    text = jinja2.Template(caption).render(snakemake=SimpleNamespace(params=params))
    assert ("generated" in text) == world and "synthetic" in text
