import sys; sys.path.insert(0, f"{snakemake.scriptdir}/..")  # noqa: E702 - vgs for conda envs
from vgs.evaluate import figures
from vgs.rulekit import rule_context

with rule_context(snakemake):
    draw = getattr(figures, snakemake.params.figure)  # figure1 or figure2, from the STS correlations table
    draw(snakemake.input.correlations, snakemake.output, measure=snakemake.params.measure)
