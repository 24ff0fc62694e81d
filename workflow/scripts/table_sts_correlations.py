import sys; sys.path.insert(0, f"{snakemake.scriptdir}/..")  # noqa: E702 - vgs for conda envs
from vgs.evaluate.tables import sts_tables
from vgs.plan import files_of
from vgs.rulekit import rule_context

with rule_context(snakemake):
    runs = snakemake.params.runs
    sts_tables(
        runs,
        files_of(runs, "correlations"),
        dict(snakemake.output.items()),
        level=snakemake.params.level,
        natural_source=snakemake.params.natural_source,
    )
