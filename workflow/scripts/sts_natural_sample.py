import sys; sys.path.insert(0, f"{snakemake.scriptdir}/..")  # noqa: E702 - vgs for conda envs
from vgs.rulekit import rule_context
from vgs.sts.natural import write_natural_sample

with rule_context(snakemake):
    write_natural_sample(
        snakemake.input.pairs,
        snakemake.input.sentences,
        snakemake.params.natural,
        snakemake.output.sample,
        snakemake.output.script,
    )
