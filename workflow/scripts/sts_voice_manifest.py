import sys; sys.path.insert(0, f"{snakemake.scriptdir}/..")  # noqa: E702 - vgs for conda envs
from vgs.rulekit import rule_context
from vgs.sts.build import voice_manifest

with rule_context(snakemake):
    voice_manifest(
        snakemake.input.pairs,
        snakemake.input.sentences,
        snakemake.input.shards,
        snakemake.wildcards.voice,
        snakemake.output[0],
    )
