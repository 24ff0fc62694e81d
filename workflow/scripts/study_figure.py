import sys; sys.path.insert(0, f"{snakemake.scriptdir}/..")  # noqa: E702 - vgs for conda envs
from vgs.evaluate.figures import study_figure
from vgs.rulekit import rule_context

with rule_context(snakemake):
    study_figure(snakemake.input.by_seed, snakemake.output, snakemake.params.sts_description)
