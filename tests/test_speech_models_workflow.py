"""The speech-models overlay (workflow/config/speech_models.yaml) through Snakemake on a tiny world: the random
tiny speech model's layers end in the STS tables, the model comparisons, the all-models AIC table,
the SpokenSTS protocols' tables and the layer-wise figure, labelled as random; a bad layer stops
planning with one message.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import REPO
from test_workflow_e2e import tiny_config

pytestmark = pytest.mark.slow

SNAKEMAKE = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile")]
SYSTEMS = ["tiny-random-L0", "tiny-random-L1", "tiny-random-L2"]


def speech_models_config() -> dict:
    """The tiny world with one trained model (no subsets, no study) and the overlay's speech models."""
    config = tiny_config()
    config.pop("study")
    config.pop("subsets")
    config["models"] = {"flickr": config["models"]["flickr"]}
    config.update(yaml.safe_load((REPO / "workflow" / "config" / "speech_models.yaml").read_text()))
    return config


def snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SNAKEMAKE, "--directory", str(workdir), *args], capture_output=True, text=True,
                          timeout=2400)  # fmt: skip


def test_the_overlay_ends_in_the_layer_figure_and_rows_labelled_random(tmp_path):
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(speech_models_config(), sort_keys=False))
    result = snakemake(tmp_path, "--cores", "2")
    assert result.returncode == 0, result.stderr[-4000:]
    tables = tmp_path / "results" / "tables" / "world"
    assert (tmp_path / "results" / "figures" / "world" / "speech_model_layers.png").stat().st_size > 0
    correlations = pd.read_csv(tables / "sts_correlations.csv")
    encoders = correlations[correlations["kind"] == "speech model"]
    assert sorted(encoders["system"].unique()) == SYSTEMS
    assert set(encoders["corpus"]) == {"random weights, untrained, tiny hubert"}
    assert {"all", "natural"} <= set(encoders["level"])
    aic = pd.read_csv(tables / "table3_aic_all.csv")
    assert {f"{system} (random weights, untrained, tiny hubert)" for system in SYSTEMS} <= set(aic["model"])
    comparisons = pd.read_csv(tables / "model_comparisons.csv")
    against_ours = comparisons[(comparisons["a"] == "flickr") & comparisons["b"].str.startswith("tiny-random-L")]
    assert len(against_ours) == len(SYSTEMS)
    assert "random weights" in (tables / "sts_correlations.md").read_text()
    # Every layer is scored under every SpokenSTS protocol, natural scopes included.
    pasad = pd.read_csv(tables / "spokensts_pasad2024-points.csv")
    assert sorted(pasad.loc[pasad["kind"] == "speech model", "system"]) == SYSTEMS
    # The world's stand-in voices take turns, one reading a pair's both sides (the eval log: "1 speaker
    # pairs"), so every system, a topline too, has one point a pair there.
    assert pasad["spearman"].notna().all() and (pasad["n_points"] == pasad["n"]).all()


def test_a_layer_out_of_range_stops_planning_with_one_message(tmp_path):
    config = speech_models_config()
    config["speech_models"]["tiny-random"]["layers"] = [1, 5]
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    result = snakemake(tmp_path, "--dry-run")
    assert result.returncode != 0
    message = "speech_models.tiny-random.layers: layer 5 is out of range; the model has 2 transformer layers"
    assert (result.stdout + result.stderr).count(message) == 1, result.stderr[-3000:]
