"""Config validation, wildcard constraints and input functions shared by every rule file."""

from snakemake.exceptions import WorkflowError

from vgs.config import ConfigError, model_train_section, validate_config
from vgs.evaluate.labels import natural_description, natural_label
from vgs.features.frames import ms_to_samples

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


onstart:
    # Temporary files of writers killed mid-write (SIGKILL, power loss); no job runs yet.
    from vgs.io import remove_partial_files

    for partial in remove_partial_files(RESULTS):
        print(f"removed {partial}, left by a job killed while writing it")


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


def rejected_labels(wildcards, output):
    """Report labels of a corpus's rejected.tsv, read when the report is made, so its table shows the count."""
    from vgs.corpora.screening import count_rejected  # only --report needs it

    return {
        "corpus": wildcards.corpus,
        "rejected utterances": count_rejected(output.rejected),
    }


# --- STS collections ----------------------------------------------------------------------------


def sts_source(wildcards):
    """What must exist before an STS collection can be read: the world's STS marker or the download."""
    spec = config["sts"]["sets"][wildcards.sts_set]
    if spec.get("world"):
        return f"{RESOURCES}/world/sts/.complete"
    if spec.get("download"):
        return f"{spec['root']}/.complete"
    return []


def sts_root(wildcards):
    return config["sts"]["sets"][wildcards.sts_set]["root"]


def sts_subtasks(wildcards):
    """The ``<year>/<subtask>`` labels an STS collection is restricted to, or None for all."""
    return config["sts"]["sets"][wildcards.sts_set].get("subtasks")


def natural_recordings(wildcards):
    """The recordings the natural sample is imported from: the CSV, or the released SpokenSTS
    (its folder, local copy or CSV; nothing for a hub id, fetched when the job runs)."""
    natural = config["sts"]["natural"]
    if natural["source"] == "recordings":
        return natural["recordings"]["mapping"]
    if natural["source"] == "spokensts":
        spec = natural["spokensts"]
        return spec.get("mapping") or spec.get("path") or []
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
    return (
        int(config["features"]["mfcc"].get("shards", 1))
        if uttset.startswith("corpus/")
        else 1
    )


def mfcc_files(uttset):
    """All MFCC shard files of an utterance set."""
    return [
        f"{RESULTS}/features/mfcc/{uttset}/shard{i}.h5"
        for i in range(mfcc_shard_count(uttset))
    ]


def sts_voices():
    return list(config["tts"]["voices"])


def sts_uttsets(sts_set):
    """Utterance sets of one STS collection: the six voices plus the natural-speech sample."""
    return [f"sts/{sts_set}/{voice}" for voice in sts_voices()] + [
        f"sts/{sts_set}/natural"
    ]


def final_targets():
    """Everything `snakemake` builds by default: every per-model evaluation, table and figure
    (listed by ``evaluation_targets`` in the evaluation section at the end of this file).
    """
    return evaluation_targets()


# --- The generated world (world stage; see world.smk) ---------------------------------------------

WORLD = config.get("world") or {}
WORLD_DIR = f"{RESOURCES}/world"


def world_corpus_files():
    """speech_jobs.tsv and the format's metadata files of every world corpus (world_generate's outputs)."""
    from vgs.world.formats import metadata_files

    return [
        f"{WORLD_DIR}/corpora/{name}/{path}"
        for name, spec in WORLD.get("corpora", {}).items()
        for path in ("speech_jobs.tsv", *metadata_files(spec["format"]))
    ]


def world_caption_count(wildcards):
    """Number of captions (wavs) of one world corpus, to size world_speak's runtime."""
    spec = WORLD["corpora"][wildcards.world_corpus]
    return sum(spec["images"].values()) * spec["captions_per_image"]


# --- Evaluation (owned by the evaluate stage; rules in evaluate.smk) ---------------------------

EVAL = f"{RESULTS}/eval"
TABLES = f"{RESULTS}/tables"
FIGURES = f"{RESULTS}/figures"
EVAL_CONFIG = config["evaluate"]
# How tables, figures and captions name the natural-speech sample (synthetic unless human).
NATURAL_SOURCE = config["sts"].get("natural", {}).get("source", "synthetic")

_unknown_sets = sorted(
    set(EVAL_CONFIG["sts_sets"]) - set(config["sts"].get("sets", {}))
)
if _unknown_sets:
    raise WorkflowError(
        f"config evaluate.sts_sets names {_unknown_sets}, which are not in sts.sets"
    )


def speech_runs():
    """Every trained model × seed, described for the table and figure functions."""
    return [
        {
            "system": model,
            "kind": "speech",
            "corpus": spec["corpus"],
            "subset_k": spec.get("subset_k"),
            "seed": seed,
        }
        for model, spec in MODELS.items()
        for seed in SEEDS
    ]


def topline_runs():
    """The configured text toplines (no training corpus, no seed)."""
    return [
        {
            "system": name,
            "kind": "text topline",
            "corpus": "text",
            "subset_k": None,
            "seed": None,
        }
        for name in EVAL_CONFIG["toplines"]
    ]


def run_file(run, sts_set, name):
    """``similarities.tsv`` or ``correlations.tsv`` of one run on one STS set."""
    if run["kind"] == "speech":
        return f"{EVAL}/{run['system']}/seed{run['seed']}/sts/{sts_set}/{name}"
    return f"{EVAL}/toplines/{run['system']}/sts/{sts_set}/{name}"


def sts_run_files(name):
    """Input function: ``name`` for every speech and topline run on the wildcard's STS set."""
    return lambda wildcards: [
        run_file(run, wildcards.sts_set, name) for run in speech_runs() + topline_runs()
    ]


def embedding_store(wildcards, uttset):
    """Embedding store of ``uttset`` (or ``images/<corpus>``) for the wildcards' model and seed."""
    return f"{RESULTS}/embeddings/{wildcards.model}/seed{wildcards.seed}/{uttset}.h5"


def voice_embeddings(wildcards):
    """Embedding stores of the six SpokenSTS voices of one set."""
    return [
        embedding_store(wildcards, f"sts/{wildcards.sts_set}/{voice}")
        for voice in sts_voices()
    ]


def has_subset_models():
    """Whether Figure 2 can be drawn (captions-per-image subset models are configured)."""
    return any(spec.get("subset_k") for spec in MODELS.values())


def evaluation_targets():
    """Every table and figure of the evaluate stage (the default targets)."""
    targets = [
        f"{EVAL}/{run['system']}/seed{run['seed']}/retrieval.{ext}"
        for run in speech_runs()
        for ext in ("json", "tsv")
    ]
    targets += [f"{TABLES}/table2_retrieval.{ext}" for ext in ("csv", "md", "tex")]
    targets += [f"{FIGURES}/learning_curves.{ext}" for ext in ("png", "pdf")]
    for sts_set in EVAL_CONFIG["sts_sets"]:
        targets += [
            run_file(run, sts_set, name)
            for run in speech_runs() + topline_runs()
            for name in ("similarities.tsv", "correlations.tsv")
        ]
        stems = ["sts_correlations", "table3_aic_all"]
        stems += ["table3_aic"] if has_subset_models() else []
        targets += [
            f"{TABLES}/{sts_set}/{stem}.{ext}"
            for stem in stems
            for ext in ("csv", "md", "tex")
        ]
        targets += [
            f"{TABLES}/{sts_set}/model_comparisons.{ext}" for ext in ("csv", "md")
        ]
        figures = ["figure1", "figure2"] if has_subset_models() else ["figure1"]
        targets += [
            f"{FIGURES}/{sts_set}/{name}.{ext}"
            for name in figures
            for ext in ("png", "pdf")
        ]
    return targets


def ablation_models():
    """Reference first, then the arms, each with its train overrides (``evaluate.ablation``)."""
    ablation = EVAL_CONFIG.get("ablation")
    if not ablation:
        raise WorkflowError(
            "the ablation table needs evaluate.ablation (see workflow/config/ablation.yaml)"
        )
    names = [ablation["reference"], *ablation["arms"]]
    unknown = [name for name in names if name not in MODELS]
    if unknown:
        raise WorkflowError(
            f"evaluate.ablation names {unknown}, which are not models (or subset models)"
        )
    return {name: MODELS[name].get("train", {}) for name in names}


def ablation_inputs(wildcards):
    """Retrieval JSONs and STS similarities of every ablation model × seed (model-major)."""
    runs = [(model, seed) for model in ablation_models() for seed in SEEDS]
    return {
        "retrieval": [f"{EVAL}/{m}/seed{s}/retrieval.json" for m, s in runs],
        "similarities": [
            f"{EVAL}/{m}/seed{s}/sts/{wildcards.sts_set}/similarities.tsv"
            for m, s in runs
        ],
    }


# --- Compute resources (scale-out section) ------------------------------------------------------


def cuda_resources():
    """GPU request of a job that uses CUDA when it can: one GPU while ``resources.gpu`` is true.

    Use as ``resources: **cuda_resources(), mem_mb=..., runtime=...``. The SLURM profile's
    partitions.yaml sends jobs that request a GPU to a GPU partition; with ``resources.gpu:
    false`` they request none and run on a CPU partition.
    """
    return {"gpu": 1} if config["resources"]["gpu"] else {}


# --- Training and encoding (owned by the train stage; rules in train.smk) -----------------------


def train_inputs(wildcards):
    """Training manifest, the source corpus's MFCC shards and its image features."""
    corpus = model_corpus(wildcards.model)
    return {
        "manifest": train_manifest(wildcards),
        "mfcc": mfcc_files(f"corpus/{corpus}"),
        "images": f"{RESULTS}/features/image/{corpus}.h5",
    }


def train_checkpoint_dir(wildcards):
    """Per-epoch checkpoints of a training job (not an output: a rerun resumes from them)."""
    return f"{RESULTS}/models/{wildcards.model}/seed{wildcards.seed}/checkpoints"


def uttset_split(wildcards):
    """Corpora are encoded on their test split only; STS sets entirely."""
    return "test" if wildcards.uttset.startswith("corpus/") else None


def model_train(wildcards):
    """The ``train:`` settings of the wildcard's model (shared section + the model's overrides)."""
    return model_train_section(config, wildcards.model)


def train_gpu_resources():
    """GPU request of a training job: ``train.gpus`` (0 or 1), only while ``resources.gpu`` is true."""
    gpus = config["train"]["gpus"]
    return {"gpu": gpus} if cuda_resources() and gpus else {}
