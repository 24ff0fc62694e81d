"""Config validation, wildcard constraints and input functions shared by every rule file."""

import os
from pathlib import Path

from snakemake.exceptions import WorkflowError

from vgs.config import ConfigError, validate_config

try:
    _validated = validate_config(config)
except ConfigError as error:
    raise WorkflowError(str(error)) from None
config.clear()
config.update(_validated)

RESULTS = "results"
RESOURCES = "resources"
LOGS = f"{RESULTS}/logs"
BENCH = f"{RESULTS}/logs/benchmarks"


wildcard_constraints:
    corpus=r"[A-Za-z0-9_.-]+",
    model=r"[A-Za-z0-9_.-]+",
    seed=r"\d+",
    k=r"\d+",
    shard=r"\d+",
    sts_set=r"[A-Za-z0-9_.-]+",
    voice=r"[A-Za-z0-9_.-]+",
    world_corpus=r"[A-Za-z0-9_-]+",


# --- Training conditions ----------------------------------------------------------------------


def subset_models():
    """Models trained on the captions-per-image subsets, named ``<source>-k<k>``."""
    subsets = config.get("subsets")
    if not subsets:
        return {}
    return {
        f"{subsets['source']}-k{k}": {"corpus": subsets["source"], "subset_k": k}
        for k in subsets["k"]
    }


MODELS = {**config["models"], **subset_models()}
SEEDS = config["seeds"]


def model_corpus(model):
    """The corpus whose test set evaluates ``model`` (a subset model: its source corpus)."""
    return MODELS[model]["corpus"]


def train_manifest(wildcards):
    """Manifest a model trains on: its corpus, or the k-captions subset of that corpus."""
    spec = MODELS[wildcards.model]
    if spec.get("subset_k"):
        return f"{RESULTS}/subsets/{spec['corpus']}/k{spec['subset_k']}/manifest.tsv"
    return f"{RESULTS}/corpora/{spec['corpus']}/manifest.tsv"


# --- Corpora -------------------------------------------------------------------------------------


def corpus_source(wildcards):
    """What must exist before a corpus can be loaded: the world's marker, or nothing.

    Real corpora are checked by the loader itself, which names the missing files and where the
    dataset comes from.
    """
    spec = config["corpora"][wildcards.corpus]
    if spec.get("world"):
        return f"{RESOURCES}/world/corpora/{spec['world']}/.complete"
    return []


# --- STS collections ----------------------------------------------------------------------------


def sts_source(wildcards):
    """What must exist before an STS collection can be read: the world's STS marker or the download."""
    spec = config["sts"]["sets"][wildcards.sts_set]
    if spec.get("world"):
        return f"{RESOURCES}/world/sts/.complete"
    if spec.get("download"):
        return f"{spec['root']}/.complete"
    return []


# --- Utterance sets ------------------------------------------------------------------------------


def uttset_manifest(uttset):
    """Manifest path of an utterance set: ``corpus/<c>``, ``sts/<set>/<voice>``, ``sts/<set>/natural``."""
    parts = uttset.split("/")
    if parts[0] == "corpus" and len(parts) == 2:
        return f"{RESULTS}/corpora/{parts[1]}/manifest.tsv"
    if parts[0] == "sts" and len(parts) == 3 and parts[2] == "natural":
        return f"{RESULTS}/sts/{parts[1]}/natural/manifest.tsv"
    if parts[0] == "sts" and len(parts) == 3:
        return f"{RESULTS}/sts/{parts[1]}/speech/{parts[2]}/manifest.tsv"
    raise WorkflowError(f"unknown utterance set {uttset!r}")


def mfcc_shard_count(uttset):
    return int(config["features"]["mfcc"].get("shards", 1)) if uttset.startswith("corpus/") else 1


def mfcc_files(uttset):
    """All MFCC shard files of an utterance set."""
    return [
        f"{RESULTS}/features/mfcc/{uttset}/shard{i}.h5" for i in range(mfcc_shard_count(uttset))
    ]


def sts_voices():
    return list(config["tts"]["voices"])


def sts_uttsets(sts_set):
    """Utterance sets of one STS collection: the six voices plus the natural-speech sample."""
    return [f"sts/{sts_set}/{voice}" for voice in sts_voices()] + [f"sts/{sts_set}/natural"]
def final_targets():
    """Everything `snakemake` builds by default (filled in by the evaluate stage)."""
    return []
