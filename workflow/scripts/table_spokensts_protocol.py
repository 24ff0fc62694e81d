import sys; sys.path.insert(0, f"{snakemake.scriptdir}/..")  # noqa: E702 - vgs for conda envs
from vgs.evaluate.protocol_tables import protocol_table
from vgs.plan import files_of
from vgs.rulekit import rule_context

with rule_context(snakemake):
    runs = snakemake.params.runs
    protocol_table(
        snakemake.wildcards.protocol,
        runs,
        files_of(runs, "similarities"),
        files_of(runs, "natural_cosines"),
        dict(snakemake.output.items()),
        level=snakemake.params.level,
        natural_source=snakemake.params.natural_source,
    )
