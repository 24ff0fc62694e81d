import sys; sys.path.insert(0, f"{snakemake.scriptdir}/..")  # noqa: E702 - vgs for conda envs
from vgs.rulekit import rule_context
from vgs.sts.build import ingest_sts

with rule_context(snakemake):
    ingest_sts(
        snakemake.params.root,
        snakemake.output.pairs,
        snakemake.output.sentences,
        snakemake.output.changes,
        subtasks=snakemake.params.subtasks,
    )
