import sys; sys.path.insert(0, f"{snakemake.scriptdir}/..")  # noqa: E702 - vgs for conda envs
from vgs.evaluate.figures import learning_curves
from vgs.plan import files_of
from vgs.rulekit import rule_context

with rule_context(snakemake):
    runs = snakemake.params.runs
    learning_curves(runs, files_of(runs, "train_log"), snakemake.output)
