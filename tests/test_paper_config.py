"""workflow/config/paper.yaml: the full-paper configuration plans every job, at full size, quickly.

The dry run reads corpora laid out exactly like the real Flickr8k Audio, Places Audio and
SpokenCOCO releases (written in tmp_path by the world's format writers); the STS data is left to
the workflow's download rule, as on a fresh clone.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml

from vgs.config import load_config
from vgs.world.generate import write_corpus

REPO = Path(__file__).resolve().parents[1]
PAPER = REPO / "workflow" / "config" / "paper.yaml"
WAVENET_GENDER = {"A": "m", "B": "m", "C": "f", "D": "m", "E": "f", "F": "f", "G": "f", "H": "f",
                  "I": "m", "J": "m"}


def snakemake(workdir: Path, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
         "--directory", str(workdir), *args],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return result.stdout


def job_counts(dry_run_output: str) -> Counter[str]:
    """The ``job count`` table of ``snakemake -n --quiet rules``."""
    rows = (line.split() for line in dry_run_output.splitlines())
    return Counter({row[0]: int(row[1]) for row in rows
                    if len(row) == 2 and row[1].isdigit() and row[0] != "total"})


@pytest.fixture(scope="module")
def paper_workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working directory with paper.yaml as its config and the corpora in their real layouts."""
    workdir = tmp_path_factory.mktemp("paper")
    world = {"seed": 3, "image_size": 32, "speakers": ["en-us+m2", "en-us+f1"]}
    layouts = {"flickr8k": ("flickr8k", 5), "places": ("places", 1), "spokencoco": ("spokencoco", 5)}
    config = yaml.safe_load(PAPER.read_text())
    for name, (fmt, captions) in layouts.items():
        root = workdir / "corpora" / name
        spec = {"format": fmt, "images": {"train": 3, "dev": 2, "test": 2}, "captions_per_image": captions}
        write_corpus(name, spec, world, root)
        config["corpora"][name]["root"] = str(root)
    config["corpora"]["places"].update(image_root=str(workdir / "corpora/places/images"),
                                       audio_root=str(workdir / "corpora/places/audio"))
    config["corpora"]["spokencoco"].update(dev_images=1, test_images=1)
    config["sts"]["sets"]["real"]["root"] = str(workdir / "sts")
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return workdir


def test_paper_config_is_valid_and_paper_sized():
    config = load_config(PAPER)
    assert set(config["corpora"]) == {"flickr8k", "places", "spokencoco"}
    assert {spec["format"] for spec in config["corpora"].values()} == {"flickr8k", "places", "spokencoco"}
    assert config["subsets"]["source"] == "spokencoco"
    assert (config["subsets"]["total"], config["subsets"]["k"]) == (30000, [1, 2, 3, 4, 5])
    assert config["model"]["size"] == "paper" and config["train"]["epochs"] == 32
    assert (config["features"]["image"]["encoder"], config["features"]["image"]["crops"]) == (
        "resnet152", "ten")
    assert config["tts"]["backend"] == "google"
    # Three male and three female en-US WaveNet voices.
    voices = list(config["tts"]["voices"].values())
    letters = [re.fullmatch(r"en-US-Wavenet-([A-J])", voice).group(1) for voice in voices]
    assert sorted(Counter(WAVENET_GENDER[letter] for letter in letters).values()) == [3, 3]
    assert config["resources"]["gpu"] is True


@pytest.mark.slow
def test_paper_dag_lists_every_job_kind_in_a_few_hundred_jobs(paper_workdir: Path):
    config = load_config(paper_workdir / "config.yaml")

    start = time.perf_counter()
    counts = job_counts(snakemake(paper_workdir, "-n", "--quiet", "rules"))
    seconds = time.perf_counter() - start

    every_rule = set(snakemake(paper_workdir, "--list-rules").split())
    # Only the generated world's rules are absent (the paper reads real corpora and real STS), and
    # the ablation table, which a configuration asks for by name.
    assert set(counts) == {rule for rule in every_rule if not rule.startswith("world_")} - {"table_ablation"}
    models = len(config["models"]) + len(config["subsets"]["k"])
    assert counts["train"] == models * len(config["seeds"]) == 8
    voices, shards = len(config["tts"]["voices"]), config["tts"]["shards"]
    assert counts["sts_synthesize"] == voices * shards
    # Corpora are sharded; every STS voice and the natural sample is one MFCC job.
    assert counts["mfcc"] == len(config["corpora"]) * config["features"]["mfcc"]["shards"] + voices + 1
    # Jobs are shards, not utterances: ~150k STS utterances and 400k Places captions stay a few
    # hundred jobs (planning time is printed, not asserted: machines differ).
    assert sum(counts.values()) < 1000
    print(f"paper DAG: {sum(counts.values())} jobs planned in {seconds:.1f} s")
