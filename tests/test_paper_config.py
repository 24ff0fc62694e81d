"""workflow/config/paper.yaml: the full-paper configuration plans every job, at full size, quickly.

The dry run is the documentation's own command, run in a scratch copy of the repository as a fresh clone
has it (no corpora, STS left to the workflow's download rule), so it plans exactly what a new user's
first command plans.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from pathlib import Path

from checkout import fresh_checkout, run_shell
from plan import dry_run
from readme import documented_command
from vgs.config import load_config, train_section
from vgs.sts.download import download_text_forms

REPO = Path(__file__).resolve().parents[1]
PAPER = REPO / "workflow" / "config" / "paper.yaml"
# The rules that run a CNN (image features) or the VGS model (training, every encoding).
GPU_RULES = ("image_features", "train", "embed_utterances", "embed_sts", "embed_images")
WAVENET_GENDER = {"A": "m", "B": "m", "C": "f", "D": "m", "E": "f", "F": "f", "G": "f", "H": "f", "I": "m", "J": "m"}


def test_paper_config_is_valid_and_paper_sized():
    config = load_config(PAPER)
    assert set(config["corpora"]) == {"flickr8k", "places", "spokencoco"}
    assert {spec["format"] for spec in config["corpora"].values()} == {"flickr8k", "places", "spokencoco"}
    assert config["subsets"]["source"] == "spokencoco"
    assert (config["subsets"]["total"], config["subsets"]["k"]) == (30000, [1, 2, 3, 4, 5])
    assert config["model"]["size"] == "paper" and config["train"]["epochs"] == 32
    assert (config["features"]["image"]["backbone"], config["features"]["image"]["crops"]) == ("resnet152", "ten")
    assert config["tts"]["backend"] == "google"
    # Three male and three female en-US WaveNet voices.
    voices = list(config["tts"]["voices"].values())
    letters = [re.fullmatch(r"en-US-Wavenet-([A-J])", voice).group(1) for voice in voices]
    assert sorted(Counter(WAVENET_GENDER[letter] for letter in letters).values()) == [3, 3]
    assert config["resources"]["gpu"] is True


def test_paper_config_selects_the_authors_recipe_where_their_code_shows_it():
    """SentEval's STS text, their SpokenCOCO lists, LR step arithmetic and dev batches (Places:
    random, their order being an unseeded shuffle). Lanczos resizing has no option: it is the only one."""
    config = load_config(PAPER)
    assert download_text_forms(config["sts"]["sets"]) == {"resources/sts": "senteval"}
    assert config["corpora"]["spokencoco"]["selection"] == "authors"
    assert (config["train"]["lr_cycle"], config["train"]["dev_batches"]) == ("authors", "ordered")
    dev_batches = {
        model: train_section(config, spec.get("train", {}), model)["dev_batches"]
        for model, spec in config["models"].items()
    }
    assert dev_batches == {"flickr8k": "ordered", "places": "random", "spokencoco": "ordered"}


def test_paper_dag_lists_every_job_kind_in_a_few_hundred_jobs(tmp_path: Path) -> None:
    checkout = fresh_checkout(tmp_path)
    config = load_config(PAPER)
    command = documented_command("-n --configfile workflow/config/paper.yaml").text

    start = time.perf_counter()
    plan = dry_run(command, checkout)
    counts = plan.counts()
    seconds = time.perf_counter() - start

    every_rule = set(run_shell("snakemake --list-rules", checkout, timeout=120).stdout.split())
    # Only the generated world's rules are absent (the paper reads real corpora and real STS), and
    # the ablation table and the study, which a configuration asks for by name.
    asked_for_by_name = {"table_ablation", "study", "study_tables", "study_figure"}
    # External speech models run only where `speech_models:` names some; the paper names none.
    asked_for_by_name |= {
        "speech_model_random",
        "embed_sts_speech_model",
        "eval_sts_speech_model",
        "figure_speech_model_layers",
    }
    assert set(counts) == {rule for rule in every_rule if not rule.startswith("world_")} - asked_for_by_name
    models = len(config["models"]) + len(config["subsets"]["k"])
    assert counts["train"] == models * len(config["seeds"]) == 8
    # The run beside the paper's published numbers, once per evaluated (real) STS set.
    assert counts["paper_comparison"] == len(config["evaluate"]["sts_sets"]) == 1
    voices, shards = len(config["tts"]["voices"]), config["tts"]["shards"]
    assert counts["sts_synthesize"] == voices * shards
    # Corpora are sharded (SpokenCOCO's 5k test set into a sixteenth as many); every STS voice and the
    # natural sample is one MFCC job.
    shards = config["features"]["mfcc"]["shards"]
    assert counts["mfcc"] == len(config["corpora"]) * shards + shards // 16 + voices + 1
    # Retrieval on SpokenCOCO's 5k test set (test5k): the SpokenCOCO model and its five subset models,
    # beside the paper's test set for all eight; the 5k set loaded, featurised and encoded as a corpus.
    assert config["corpora"]["spokencoco"]["test5k"]["images"] == "val"
    assert counts["eval_retrieval_test5k"] == 6 and counts["eval_retrieval"] == 8
    assert counts["load_corpus"] == counts["image_features"] == len(config["corpora"]) + 1
    assert counts["embed_utterances"] == counts["embed_images"] == 8 + 6
    # Jobs are shards, not utterances: ~150k STS utterances and 400k Places captions stay a few
    # hundred jobs (planning time is printed, not asserted: machines differ).
    assert sum(counts.values()) < 1000
    # Every job that runs a CNN or the VGS model asks for a GPU (resources.gpu: true), no other does.
    gpu_jobs = Counter(rule for rule, _, resources in plan.jobs if resources.get("gpu") == "1")
    assert gpu_jobs == {rule: counts[rule] for rule in GPU_RULES}
    print(f"paper DAG: {sum(counts.values())} jobs planned in {seconds:.1f} s")
