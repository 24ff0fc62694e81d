import sys; sys.path.insert(0, f"{snakemake.scriptdir}/..")  # noqa: E702 - vgs for conda envs
from vgs.rulekit import rule_context
from vgs.world.generate import generate_corpora

with rule_context(snakemake):
    generate_corpora(snakemake.params.world, snakemake.params.out_dir)
