import sys; sys.path.insert(0, f"{snakemake.scriptdir}/..")  # noqa: E702 - vgs for conda envs
from vgs.features.mfcc import extract_mfcc_store
from vgs.rulekit import rule_context

with rule_context(snakemake):
    extract_mfcc_store(
        snakemake.input[0],
        snakemake.output[0],
        settings=snakemake.params.settings,
        shard=int(snakemake.wildcards.shard),
        shards=snakemake.params.shards,
        threads=snakemake.threads,
    )
