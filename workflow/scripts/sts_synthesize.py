import sys; sys.path.insert(0, f"{snakemake.scriptdir}/..")  # noqa: E702 - vgs for conda envs
from vgs.rulekit import rule_context
from vgs.sts.build import synthesize_sts_shard

with rule_context(snakemake):
    synthesize_sts_shard(
        snakemake.input.sentences,
        snakemake.wildcards.voice,
        int(snakemake.wildcards.shard),
        snakemake.params.tts,
        snakemake.params.cache,
        snakemake.output[0],
    )
