"""Wiring shared by the rule files. The validated configuration, its plan (vgs.plan), the path
templates (vgs.layout) and the resource requests (vgs_ops.costs). Decisions live in the package.
"""

import functools

from snakemake.exceptions import WorkflowError

from vgs import layout
from vgs.config import ConfigError, validate_config
from vgs_ops.costs import job_cost
from vgs.speech_models.spec import SpeechModelConfigError
from vgs.evaluate.labels import natural_description, natural_label
from vgs.evaluate.protocols import PROTOCOLS
from vgs.features.frames import ms_to_samples
from vgs.plan import WorkflowPlan, files_of, records_input


def planned(function):
    """``function`` with configuration errors shown as Snakemake's one-line workflow error."""

    @functools.wraps(function)
    def call(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except (ConfigError, SpeechModelConfigError) as error:
            raise WorkflowError(str(error)) from None

    return call


_validated = planned(validate_config)(config)
config.clear()
config.update(_validated)
PLAN = planned(WorkflowPlan)(config)
EVAL_CONFIG = config["evaluate"]
NATURAL_SOURCE = PLAN.natural_source
NATURAL_LABELS = {
    "natural": natural_label(NATURAL_SOURCE),
    "natural_description": natural_description(NATURAL_SOURCE),
}


onstart:
    # Temporary files of writers killed mid-write (SIGKILL, power loss); no job runs yet.
    from vgs.io import remove_partial_files

    for partial in remove_partial_files(layout.RESULTS):
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


def uttset_files(uttsets):
    """Input function: manifests of the utterance sets ``uttsets(wildcards)`` returns."""
    return lambda w: [PLAN.uttset_manifest(u) for u in uttsets(w)]


def sts_set_uttsets(w):
    return PLAN.sts_uttsets(w.sts_set)


def voice_uttsets(w):
    return [f"sts/{w.sts_set}/{voice}" for voice in PLAN.voices]


def model_train(wildcards):
    """The ``train:`` settings of the wildcard's model (shared section + the model's overrides)."""
    return PLAN.train_settings(wildcards.model)


def cuda_resources():
    """One GPU while ``resources.gpu`` is true; the SLURM profile's partitions.yaml sends jobs that
    request one to a GPU partition."""
    return {"gpu": 1} if config["resources"]["gpu"] else {}


def train_gpu_resources():
    """GPU request of a training job: ``train.gpus`` (0 or 1), only while ``resources.gpu`` is true."""
    gpus = config["train"]["gpus"]
    return {"gpu": gpus} if cuda_resources() and gpus else {}


def job_resources(rule, overrides=None):
    """mem_mb, runtime and disk_mb of a heavy rule's jobs from what each job processes
    (vgs_ops.costs.job_cost, the projection of `make plan` with safety margins); ``overrides`` are
    configured requests that replace computed ones (``train.runtime``, ``train.mem_mb``).
    """
    overrides = {
        key: value for key, value in (overrides or {}).items() if value is not None
    }

    def request(key):
        @planned
        def value(wildcards):
            if key in overrides:
                return overrides[key]
            return job_cost(PLAN, rule, wildcards, layout.RESULTS).resources()[key]

        return value

    return {key: request(key) for key in ("mem_mb", "runtime", "disk_mb")}


# --- Output patterns of one table or figure (evaluate.smk) ---


def sts_table(stem, ext):
    return layout.partial(layout.STS_TABLE, stem=stem, ext=ext)


def sts_figure(stem, ext):
    return layout.partial(layout.STS_FIGURE, stem=stem, ext=ext)


def speech_sts(name):
    return layout.partial(layout.SPEECH_STS, name=name)


# --- Report labels of the corpora's lists (corpora.smk) ---


def rejected_labels(wildcards, output):
    """Report labels of a corpus's rejected.tsv (the load summary's counts), read only by --report."""
    from vgs.corpora.load import LoadSummary

    summary = LoadSummary.from_outputs(
        wildcards.corpus, output.manifest, output.rejected
    )
    return {"corpus": wildcards.corpus, **summary.labels()}


def repaired_labels(wildcards, output):
    """Report labels of a corpus's repaired.tsv (wavs read despite a wrong header), read only by --report."""
    from vgs.corpora.screening import count_repaired

    return {
        "corpus": wildcards.corpus,
        "repaired wavs": count_repaired(output.repaired),
    }
