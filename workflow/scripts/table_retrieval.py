import sys; sys.path.insert(0, f"{snakemake.scriptdir}/..")  # noqa: E702 - vgs for conda envs
from vgs.evaluate.tables import retrieval_table
from vgs.rulekit import rule_context

with rule_context(snakemake):
    retrieval_table(snakemake.params.runs, snakemake.input, dict(snakemake.output.items()))
