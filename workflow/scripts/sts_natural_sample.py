import sys; sys.path.insert(0, f"{snakemake.scriptdir}/..")  # noqa: E702 - vgs for conda envs
from vgs.rulekit import rule_context
from vgs.sts.natural import write_sample

with rule_context(snakemake):
    natural = snakemake.params.natural
    write_sample(
        snakemake.input.pairs,
        natural["fraction"],
        natural["seed"],
        snakemake.output.sample,
        snakemake.output.script,
    )
