"""Where every file of the workflow lives: one path template per kind of output.

Why one module: the rules' output patterns, the input functions that ask for those files, the
evaluation targets, the cost projection and the tests must spell each path the same way. A template
is written once here with Snakemake's wildcard names in braces (``{model}``, ``{seed}``, ...), so a
rule uses it as its output pattern as it stands and :mod:`vgs.plan` fills it with :func:`fill` for
a concrete run. This module is a leaf: it imports nothing of the package.

Layout (DESIGN.md, "Files between stages"): ``resources/`` holds inputs (the generated world, STS
downloads); ``results/`` holds everything the workflow makes, one folder per stage.
"""

from __future__ import annotations

import string
from collections.abc import Mapping

RESULTS = "results"
RESOURCES = "resources"
LOGS = f"{RESULTS}/logs"
BENCH = f"{LOGS}/benchmarks"
EVAL = f"{RESULTS}/eval"
EMBEDDINGS_ROOT = f"{RESULTS}/embeddings"
TABLES = f"{RESULTS}/tables"
FIGURES = f"{RESULTS}/figures"
WORLD = f"{RESOURCES}/world"
STS = f"{RESULTS}/sts"
TTS_CACHE = f"{RESULTS}/tts_cache"

#: The key of one trained run (model x seed) inside a stage's folder, logs and benchmarks.
RUN = "{model}/seed{seed}"

# --- Corpora, subsets and features -------------------------------------------------------------
CORPUS_MANIFEST = f"{RESULTS}/corpora/{{corpus}}/manifest.tsv"
CORPUS_REJECTED = f"{RESULTS}/corpora/{{corpus}}/rejected.tsv"
CORPUS_REPAIRED = f"{RESULTS}/corpora/{{corpus}}/repaired.tsv"
#: Recordings the metadata lists that the corpus format leaves out by design (outside the splits,
#: beyond a per-image cap), with the reason: ``utt_id wav_path reason entry``.
CORPUS_EXCLUDED = f"{RESULTS}/corpora/{{corpus}}/excluded.tsv"
#: Where loading lists the unusable utterances when it stops because of them (a failed job's outputs are deleted).
CORPUS_STOP_LIST = f"{LOGS}/load_corpus/{{corpus}}.rejected.tsv"
SUBSET_MANIFEST = f"{RESULTS}/subsets/{{corpus}}/n{{total}}/k{{k}}/manifest.tsv"
MFCC_SHARD = f"{RESULTS}/features/mfcc/{{uttset}}/shard{{shard}}.h5"
IMAGE_FEATURES = f"{RESULTS}/features/image/{{corpus}}.h5"

# --- STS collections -------------------------------------------------------------------------------
STS_PAIRS = f"{STS}/{{sts_set}}/pairs.tsv"
STS_SENTENCES = f"{STS}/{{sts_set}}/sentences.tsv"
STS_NORMALISATION = f"{STS}/{{sts_set}}/normalisation_changes.tsv"
VOICE_SHARD = f"{STS}/{{sts_set}}/speech/{{voice}}/shard{{shard}}.tsv"
VOICE_MANIFEST = f"{STS}/{{sts_set}}/speech/{{voice}}/manifest.tsv"
NATURAL_SAMPLE = f"{STS}/{{sts_set}}/natural/sample.tsv"
NATURAL_SCRIPT = f"{STS}/{{sts_set}}/natural/recording_script.tsv"
NATURAL_MANIFEST = f"{STS}/{{sts_set}}/natural/manifest.tsv"
NATURAL_WAVS = f"{STS}/{{sts_set}}/natural/wavs"
#: Marker of a downloaded STS collection, inside the collection's own root (``sts.sets.<set>.root``).
STS_DOWNLOAD_DONE = "{sts_root}/.complete"

# --- Generated world ----------------------------------------------------------------------------------
WORLD_SCENES = f"{WORLD}/scenes.tsv"
WORLD_CORPUS = f"{WORLD}/corpora/{{world_corpus}}"
#: A metadata file of a world corpus, ``{path}`` relative to the corpus root (its format's names).
WORLD_CORPUS_FILE = f"{WORLD_CORPUS}/{{path}}"
WORLD_SPEECH_JOBS = f"{WORLD_CORPUS}/speech_jobs.tsv"
WORLD_CORPUS_DONE = f"{WORLD_CORPUS}/.complete"
WORLD_STS_DONE = f"{WORLD}/sts/.complete"

# --- Training and encoding ------------------------------------------------------------------------------
MODEL_DIR = f"{RESULTS}/models/{RUN}"
CHECKPOINT = f"{MODEL_DIR}/best.pt"
TRAIN_LOG = f"{MODEL_DIR}/train_log.tsv"
LEARNING_CURVE = f"{MODEL_DIR}/learning_curve.png"
#: Per-epoch checkpoints: not an output, so a rerun resumes from them.
EPOCH_CHECKPOINTS = f"{MODEL_DIR}/checkpoints"
#: Embeddings of an utterance set (``corpus/<c>``, ``sts/<set>/<voice|natural>``) or ``images/<c>``.
EMBEDDINGS = f"{EMBEDDINGS_ROOT}/{RUN}/{{uttset}}.h5"
STS_EMBEDDINGS = f"{EMBEDDINGS_ROOT}/{RUN}/sts/{{sts_set}}/{{name}}.h5"
IMAGE_EMBEDDINGS = f"{EMBEDDINGS_ROOT}/{RUN}/images/{{corpus}}.h5"
TRAIN_BENCHMARK = f"{BENCH}/train/{RUN}.tsv"

# --- External speech models -------------------------------------------------------------------------
RANDOM_SPEECH_MODEL = f"{RESULTS}/speech_models/{{speech_model}}/random-model"
RANDOM_SPEECH_MODEL_CONFIG = f"{RANDOM_SPEECH_MODEL}/config.json"
#: Per-layer stores of one STS set: ``layer<L>/<voice|natural>.h5`` inside.
SPEECH_MODEL_EMBEDDINGS = f"{EMBEDDINGS_ROOT}/speech_models/{{speech_model}}/sts/{{sts_set}}"
#: One layer's store of one utterance set (``{name}``: a voice or ``natural``) inside SPEECH_MODEL_EMBEDDINGS.
SPEECH_MODEL_LAYER_STORE = "layer{layer}/{name}.h5"

# --- Evaluation of one system ---------------------------------------------------------------------------
RETRIEVAL_JSON = f"{EVAL}/{RUN}/retrieval.json"
RETRIEVAL_TSV = f"{EVAL}/{RUN}/retrieval.tsv"
#: ``{name}`` is one of :data:`STS_RESULTS`; one template per kind of system.
SPEECH_STS = f"{EVAL}/{RUN}/sts/{{sts_set}}/{{name}}.tsv"
SPEECH_MODEL_STS = f"{EVAL}/speech_models/{{speech_model}}/layer{{layer}}/sts/{{sts_set}}/{{name}}.tsv"
TOPLINE_STS = f"{EVAL}/toplines/{{topline}}/sts/{{sts_set}}/{{name}}.tsv"
#: A system's SpokenSTS results: per-pair similarities, their correlations, and the cosine of every
#: reading of a natural-sample pair's side a with every reading of its side b (vgs.evaluate.sts_eval).
STS_RESULTS = ("similarities", "correlations", "natural_cosines")

# --- Tables and figures -------------------------------------------------------------------------------------
#: A table or figure of one STS set: ``{stem}`` names it, ``{ext}`` is csv/md/tex or png/pdf.
STS_TABLE = f"{TABLES}/{{sts_set}}/{{stem}}.{{ext}}"
STS_FIGURE = f"{FIGURES}/{{sts_set}}/{{stem}}.{{ext}}"
TABLE = f"{TABLES}/{{stem}}.{{ext}}"
FIGURE = f"{FIGURES}/{{stem}}.{{ext}}"
STUDY_TABLE = f"{TABLES}/study/{{sts_set}}/{{stem}}.{{ext}}"
STUDY_FIGURE = f"{FIGURES}/study/{{sts_set}}/study.{{ext}}"
ABLATION_TABLE = f"{TABLES}/ablation/{{sts_set}}.{{ext}}"
#: One SpokenSTS protocol's table (vgs.evaluate.protocols); the figure comparing the protocols' rankings.
PROTOCOL_TABLE = f"{TABLES}/{{sts_set}}/spokensts_{{protocol}}.{{ext}}"
PROTOCOL_FIGURE_STEM = "spokensts_protocols"
TABLE_FORMATS = ("csv", "md", "tex")

# --- Benchmarks (`make bench`, `make gpu-check`; not workflow outputs) -------------------------------------
BENCHMARKS = f"{RESULTS}/benchmarks"
FIGURE_FORMATS = ("png", "pdf")


def fields(template: str) -> set[str]:
    """The wildcard names of ``template``."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def fill(template: str, **values: object) -> str:
    """``template`` with every wildcard given a value; a missing or unknown one is an error, so a
    renamed wildcard cannot leave a literal ``{seed}`` in a path."""
    missing, unknown = fields(template) - values.keys(), values.keys() - fields(template)
    if missing or unknown:
        raise KeyError(f"{template}: missing {sorted(missing)}, unknown {sorted(unknown)}")
    return template.format(**values)


def partial(template: str, **values: object) -> str:
    """``template`` with the given wildcards filled and the others left as wildcards: a rule's
    output pattern for one fixed table name (``partial(STS_TABLE, stem="table3_aic", ext="csv")``)."""
    unknown = values.keys() - fields(template)
    if unknown:
        raise KeyError(f"{template}: unknown {sorted(unknown)}")
    keep: Mapping[str, str] = {name: f"{{{name}}}" for name in fields(template) - values.keys()}
    return template.format(**values, **keep)


def log(rule: str, key: str = "") -> str:
    """The log of one job of ``rule``: ``results/logs/<rule>[/<key>].log``."""
    return f"{LOGS}/{rule}/{key}.log" if key else f"{LOGS}/{rule}.log"


def benchmark(rule: str, key: str = "") -> str:
    """Snakemake's benchmark file of one job of ``rule``: ``results/logs/benchmarks/<rule>[/<key>].tsv``."""
    return f"{BENCH}/{rule}/{key}.tsv" if key else f"{BENCH}/{rule}.tsv"
