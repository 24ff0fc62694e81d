import sys; sys.path.insert(0, f"{snakemake.scriptdir}/..")  # noqa: E702 - vgs for conda envs
from vgs.evaluate.figures import figure1
from vgs.rulekit import rule_context

with rule_context(snakemake):
    figure1(snakemake.input.correlations, snakemake.output, measure=snakemake.params.measure)
