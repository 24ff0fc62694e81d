import sys; sys.path.insert(0, f"{snakemake.scriptdir}/..")  # noqa: E702 - vgs for conda envs
from vgs.evaluate.tables import comparisons_table
from vgs.plan import files_of
from vgs.rulekit import rule_context

with rule_context(snakemake):
    runs = snakemake.params.runs
    comparisons_table(runs, files_of(runs, "similarities"), dict(snakemake.output.items()))
