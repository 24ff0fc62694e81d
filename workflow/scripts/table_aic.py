import sys; sys.path.insert(0, f"{snakemake.scriptdir}/..")  # noqa: E702 - vgs for conda envs
from vgs.evaluate import tables
from vgs.plan import files_of
from vgs.rulekit import rule_context

with rule_context(snakemake):
    table = getattr(tables, snakemake.params.table)  # table3_aic (subset models) or aic_table_all
    runs = snakemake.params.runs
    table(runs, files_of(runs, "similarities"), dict(snakemake.output.items()))
