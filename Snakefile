"""Visually grounded speech and SpokenSTS: from text and images to the paper's tables and figures.

Run ``snakemake --cores 2`` for the embedded world (config.yaml); see README.md for full scale.
"""

# config.yaml (the embedded world) is the default only: a run given `--configfile X [Y ...]` uses
# exactly those files, later ones overriding earlier ones key by key, plus the schema defaults.
# Snakemake alone would merge them onto config.yaml and leak the world into every other run.
if not workflow.overwrite_configfiles:

    configfile: "config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/world.smk"
include: "workflow/rules/sts.smk"
include: "workflow/rules/corpora.smk"
include: "workflow/rules/features.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/speech_models.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        PLAN.final_targets(),


# The size x captions-per-image study (`make study`; workflow/config/study.yaml).
rule study:
    input:
        lambda wildcards: planned(PLAN.study.targets)(),
