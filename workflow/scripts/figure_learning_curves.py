import sys; sys.path.insert(0, f"{snakemake.scriptdir}/..")  # noqa: E702 - vgs for conda envs
from vgs.evaluate.figures import learning_curves
from vgs.rulekit import rule_context

with rule_context(snakemake):
    learning_curves(snakemake.params.runs, snakemake.input, snakemake.output)
