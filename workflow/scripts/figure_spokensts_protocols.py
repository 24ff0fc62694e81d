import sys; sys.path.insert(0, f"{snakemake.scriptdir}/..")  # noqa: E702 - vgs for conda envs
from vgs.evaluate.figures import protocol_ranks_figure
from vgs.rulekit import rule_context

with rule_context(snakemake):
    protocol_ranks_figure(snakemake.input, snakemake.output)
