import sys; sys.path.insert(0, f"{snakemake.scriptdir}/..")  # noqa: E702 - vgs for conda envs
from vgs.rulekit import rule_context
from vgs.world.sts import write_sts

with rule_context(snakemake):
    sts = snakemake.params.sts
    write_sts(snakemake.params.root, sts["pairs_per_subtask"], snakemake.params.seed, sts["subtasks"])
