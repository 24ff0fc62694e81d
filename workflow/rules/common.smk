"""Config validation, wildcard constraints and input functions shared by every rule file."""

from snakemake.exceptions import WorkflowError

from vgs.costs import job_cost
from vgs.config import (
    ConfigError,
    train_settings,
    subset_models,
    table_models,
    trained_models,
    train_section,
    validate_config,
)
from vgs.encoders.spec import (
    EncoderConfigError,
    RANDOM_TINY,
    SYSTEM_KIND as ENCODER_KIND,
    encoder_description,
    encoder_layers,
)
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


# Models of the paper's tables and figures (configured + subset models); every trainable model.
try:
    TABLE_MODELS = table_models(config)
except ConfigError as error:
    raise WorkflowError(str(error)) from None
MODELS = trained_models(config)
SEEDS = config["seeds"]


def model_seeds(model):
    """The seeds ``model`` is trained with: its own list, else the top-level ``seeds``."""
    return MODELS[model].get("seeds", SEEDS)


def model_corpus(model):
    """The corpus whose test set evaluates ``model`` (a subset model: its source corpus)."""
    return MODELS[model]["corpus"]


def train_manifest(wildcards):
    """Manifest a model trains on: its corpus, or a subset of ``subset_total`` captions, k per image."""
    spec = MODELS[wildcards.model]
    if spec.get("subset_k"):
        return f"{RESULTS}/subsets/{spec['corpus']}/n{spec['subset_total']}/k{spec['subset_k']}/manifest.tsv"
    return f"{RESULTS}/corpora/{spec['corpus']}/manifest.tsv"


def subset_ranking(wildcards):
    """The ranking every subset of a corpus shares: the k values of `subsets` and `study` drawing
    from it (the largest fixes the ranking) and their seed, so all of that corpus's subsets nest.
    """
    sections = [
        config[name]
        for name in ("subsets", "study")
        if config.get(name) and config[name]["source"] == wildcards.corpus
    ]
    seeds = {section["seed"] for section in sections}
    if len(seeds) > 1:
        raise WorkflowError(
            f"subsets.seed and study.seed differ for corpus {wildcards.corpus!r}; give them one value "
            "so that the study's subsets nest with the paper's"
        )
    subsets = config.get("subsets") or {}
    paper_total = subsets.get("source") == wildcards.corpus and subsets["total"] == int(
        wildcards.total
    )
    return {
        "ks": sorted({k for section in sections for k in section["k"]}),
        "seed": seeds.pop() if seeds else 0,
        # The config key to change when this subset cannot be drawn (named in the error).
        "total_key": "subsets.total" if paper_total else "study.totals",
    }


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
    """Report labels of a corpus's rejected.tsv, read when the report is made: the load summary's counts."""
    from vgs.corpora.load import LoadSummary  # only --report needs it

    summary = LoadSummary.from_outputs(
        wildcards.corpus, output.manifest, output.rejected
    )
    return {"corpus": wildcards.corpus, **summary.labels()}


def repaired_labels(wildcards, output):
    """Report labels of a corpus's repaired.tsv (wavs read despite a wrong header), with their count."""
    from vgs.corpora.screening import count_repaired  # only --report needs it

    return {
        "corpus": wildcards.corpus,
        "repaired wavs": count_repaired(output.repaired),
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


# Utterance sets of every STS collection: the six voices plus the natural-speech sample.
STS_UTTSET_NAMES = [*config["tts"]["voices"], "natural"]


def sts_uttsets(sts_set):
    """Utterance sets of one STS collection, ``sts/<set>/<voice or natural>``."""
    return [f"sts/{sts_set}/{name}" for name in STS_UTTSET_NAMES]


def final_targets():
    """Everything `snakemake` builds by default: every per-model evaluation, table and figure
    (listed by ``evaluation_targets`` in the evaluation section at the end of this file), and the
    study's tables and figure when ``study`` is configured.
    """
    return evaluation_targets() + (study_targets() if config.get("study") else [])


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
        for model, spec in TABLE_MODELS.items()
        for seed in model_seeds(model)
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


# --- External speech encoders (encoders:; rules in encoders.smk, package vgs.encoders) -----------

ENCODERS = config["encoders"]
try:
    # Layers read per encoder, checked against each checkpoint's config.json while planning.
    ENCODER_LAYERS = {
        name: encoder_layers(name, spec) for name, spec in ENCODERS.items()
    }
except EncoderConfigError as error:
    raise WorkflowError(str(error)) from None


def encoder_runs():
    """Every configured encoder x layer read, an evaluated system ``<name>-L<layer>`` without seed."""
    return [
        {
            "system": f"{name}-L{layer}",
            "kind": ENCODER_KIND,
            "corpus": encoder_description(spec),
            "subset_k": None,
            "seed": None,
            "encoder": name,
            "layer": layer,
        }
        for name, spec in ENCODERS.items()
        for layer in ENCODER_LAYERS[name]
    ]


def encoder_source(name):
    """Where encoder ``name`` is loaded from: its hub id or directory, or the random model's directory."""
    spec = ENCODERS[name]
    if spec["kind"] == RANDOM_TINY:
        return f"{RESULTS}/encoders/{name}/random-model"
    return spec["model"]


def encoder_embeddings(encoder, sts_set):
    """Directory of an encoder's per-layer stores of one STS set (``layer<L>/<voice|natural>.h5``)."""
    return f"{RESULTS}/embeddings/encoders/{encoder}/sts/{sts_set}"


def sts_runs():
    """Every system evaluated on SpokenSTS: trained models, encoder layers, text toplines."""
    return speech_runs() + encoder_runs() + topline_runs()


def run_file(run, sts_set, name):
    """``similarities.tsv`` or ``correlations.tsv`` of one run on one STS set."""
    if run["kind"] == "speech":
        return f"{EVAL}/{run['system']}/seed{run['seed']}/sts/{sts_set}/{name}"
    if run["kind"] == ENCODER_KIND:
        return (
            f"{EVAL}/encoders/{run['encoder']}/layer{run['layer']}/sts/{sts_set}/{name}"
        )
    return f"{EVAL}/toplines/{run['system']}/sts/{sts_set}/{name}"


def sts_run_files(name):
    """Input function: ``name`` for every system of ``sts_runs`` on the wildcard's STS set."""
    return lambda wildcards: [
        run_file(run, wildcards.sts_set, name) for run in sts_runs()
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
    return any(spec.get("subset_k") for spec in TABLE_MODELS.values())


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
            for run in sts_runs()
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
        figures += ["encoder_layers"] if ENCODERS else []
        targets += [
            f"{FIGURES}/{sts_set}/{name}.{ext}"
            for name in figures
            for ext in ("png", "pdf")
        ]
    targets += [
        f"{TABLES}/{sts_set}/{name}"
        for sts_set in paper_comparison_sets()
        for name in (
            "paper_comparison_claims.csv",
            "paper_comparison_numbers.csv",
            "paper_comparison.md",
        )
    ]
    return targets


def is_world_corpus(corpus):
    """Whether a corpus is one of the generated world's (not a real dataset)."""
    return bool(config["corpora"][corpus].get("world"))


def paper_comparison_sets():
    """The STS sets this run is set beside the paper on: real STS sets, and only when no model of
    the tables trains on a generated-world corpus (the world is another experiment; it gets no
    comparison with the paper's numbers)."""
    if any(is_world_corpus(spec["corpus"]) for spec in TABLE_MODELS.values()):
        return []
    return [s for s in EVAL_CONFIG["sts_sets"] if not is_world_sts_set(s)]


def corpus_model_runs():
    """Runs of the models trained on whole corpora (Figure 1's and Table 2's, not the subsets)."""
    return [run for run in speech_runs() if run["subset_k"] is None]


def corpus_formats():
    """Corpus name -> format (flickr8k / places / spokencoco): which of the paper's models a model is."""
    return {name: spec["format"] for name, spec in config["corpora"].items()}


def paper_comparison_inputs(wildcards):
    """Table 2, the STS correlations, Table 3 (with subset models) and Figure 1 models' similarities."""
    inputs = {
        "retrieval": f"{TABLES}/table2_retrieval.csv",
        "correlations": f"{TABLES}/{wildcards.sts_set}/sts_correlations.csv",
        "similarities": [
            run_file(run, wildcards.sts_set, "similarities.tsv")
            for run in corpus_model_runs()
        ],
    }
    if has_subset_models():
        inputs["aic"] = f"{TABLES}/{wildcards.sts_set}/table3_aic.csv"
    return inputs


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


def ablation_seeds():
    """The seeds every ablation model is trained with (the same for all: the comparison is paired)."""
    models = ablation_models()
    seeds = {name: model_seeds(name) for name in models}
    if len({tuple(s) for s in seeds.values()}) > 1:
        raise WorkflowError(
            f"the ablation's models must share their seeds (paired comparison); they have {seeds}"
        )
    return seeds[next(iter(models))]


def ablation_inputs(wildcards):
    """Retrieval JSONs and STS similarities of every ablation model × seed (model-major)."""
    runs = [(model, seed) for model in ablation_models() for seed in ablation_seeds()]
    return {
        "retrieval": [f"{EVAL}/{m}/seed{s}/retrieval.json" for m, s in runs],
        "similarities": [
            f"{EVAL}/{m}/seed{s}/sts/{wildcards.sts_set}/similarities.tsv"
            for m, s in runs
        ],
    }


def study_config():
    study = config.get("study")
    if not study:
        raise WorkflowError(
            "the study needs a study: section (see workflow/config/study.yaml and `make study`)"
        )
    return study


def study_runs():
    """Every study model x seed with its cell, in the order of the study's input files."""
    return [
        {
            "system": model,
            "seed": seed,
            "total": spec["subset_total"],
            "k": spec["subset_k"],
        }
        for model, spec in MODELS.items()
        if spec.get("study")
        for seed in spec["seeds"]
    ]


def study_training():
    """What the study's models were trained with, for the tables' captions."""
    train = train_section(config, study_config()["train"], "study.train")
    return (
        f"the {config['model']['size']} model for {train['epochs']} epochs in batches of "
        f"{train['batch_size']}"
    )


def is_world_sts_set(sts_set):
    """Whether an STS set's pairs are the generated world's (not the real STS benchmark)."""
    return bool(config["sts"]["sets"][sts_set].get("world"))


def sts_set_description(sts_set):
    """What r on an STS set is measured on, for captions: which pairs, spoken by which (synthetic) voices."""
    pairs = (
        "the generated world's STS pairs"
        if is_world_sts_set(sts_set)
        else f"STS set {sts_set!r}"
    )
    voices = config["tts"]
    return f"{pairs} spoken by {len(voices['voices'])} synthetic {voices['backend']} voices"


def paper_style_runs():
    """The paper-style subset models (``subsets``) of the study's corpus, first seed each: the
    single-seed comparison the study's seed spread is set against."""
    return [
        {"system": model, "seed": model_seeds(model)[0], "k": spec["subset_k"]}
        for model, spec in subset_models(config).items()
        if spec["corpus"] == study_config()["source"]
    ]


def study_inputs(wildcards):
    """Retrieval JSONs, STS similarities and training benchmarks of every study model x seed,
    and the retrieval and similarities of the paper-style subset models."""
    study_config()
    runs = study_runs()
    paper = paper_style_runs()
    return {
        "paper_retrieval": [
            f"{EVAL}/{r['system']}/seed{r['seed']}/retrieval.json" for r in paper
        ],
        "paper_similarities": [
            f"{EVAL}/{r['system']}/seed{r['seed']}/sts/{wildcards.sts_set}/similarities.tsv"
            for r in paper
        ],
        "retrieval": [
            f"{EVAL}/{r['system']}/seed{r['seed']}/retrieval.json" for r in runs
        ],
        "similarities": [
            f"{EVAL}/{r['system']}/seed{r['seed']}/sts/{wildcards.sts_set}/similarities.tsv"
            for r in runs
        ],
        "benchmarks": [
            f"{BENCH}/train/{r['system']}/seed{r['seed']}.tsv" for r in runs
        ],
    }


def study_targets():
    """The study's tables and figure for every evaluated STS set (target ``study``)."""
    study_config()
    return [
        f"{TABLES}/study/{sts_set}/{name}"
        for sts_set in EVAL_CONFIG["sts_sets"]
        for name in (
            "by_seed.csv",
            "cells.csv",
            "cells.md",
            "regression.csv",
            "regression.md",
        )
    ] + [
        f"{FIGURES}/study/{sts_set}/study.{ext}"
        for sts_set in EVAL_CONFIG["sts_sets"]
        for ext in ("png", "pdf")
    ]


# --- Compute resources (scale-out section) ------------------------------------------------------


def cuda_resources():
    """GPU request of a job that uses CUDA when it can: one GPU while ``resources.gpu`` is true.

    Use as ``resources: **cuda_resources(), mem_mb=..., runtime=...``. The SLURM profile's
    partitions.yaml sends jobs that request a GPU to a GPU partition; with ``resources.gpu:
    false`` they request none and run on a CPU partition.
    """
    return {"gpu": 1} if config["resources"]["gpu"] else {}


def job_resources(rule, overrides=None):
    """mem_mb, runtime and disk_mb of a heavy rule's jobs, computed from what each job processes
    (vgs.costs.job_cost: the projection of `make plan` times safety margins). ``overrides`` are
    configured requests that replace computed ones (``train.runtime``, ``train.mem_mb``).

    Use as ``resources: **cuda_resources(), **job_resources("mfcc")``.
    """
    overrides = {
        key: value for key, value in (overrides or {}).items() if value is not None
    }

    def request(key):
        def value(wildcards):
            if key in overrides:
                return overrides[key]
            try:
                return job_cost(config, rule, wildcards, RESULTS).resources()[key]
            except ConfigError as error:
                raise WorkflowError(str(error)) from None

        return value

    return {key: request(key) for key in ("mem_mb", "runtime", "disk_mb")}


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


def model_train(wildcards):
    """The ``train:`` settings of the wildcard's model (shared section + the model's overrides)."""
    return train_settings(config, wildcards.model)


def train_gpu_resources():
    """GPU request of a training job: ``train.gpus`` (0 or 1), only while ``resources.gpu`` is true."""
    gpus = config["train"]["gpus"]
    return {"gpu": gpus} if cuda_resources() and gpus else {}


def encoder_model_files(wildcards):
    """The random model's files to wait for; a checkpoint (hub id or directory) is read by the job."""
    if ENCODERS[wildcards.encoder]["kind"] == RANDOM_TINY:
        return f"{encoder_source(wildcards.encoder)}/config.json"
    return []
