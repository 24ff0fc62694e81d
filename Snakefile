"""Visually grounded speech and SpokenSTS: from text and images to the paper's tables and figures.

Run ``snakemake --cores 2`` for the embedded world (config.yaml); see README.md for full scale.
"""


configfile: "config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/world.smk"
include: "workflow/rules/sts.smk"
include: "workflow/rules/corpora.smk"
include: "workflow/rules/features.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        final_targets(),
