import sys; sys.path.insert(0, f"{snakemake.scriptdir}/..")  # noqa: E702 - vgs for conda envs
from vgs.rulekit import rule_context
from vgs.sts.natural import natural_manifest

with rule_context(snakemake):
    natural_manifest(
        snakemake.input.pairs,
        snakemake.input.sentences,
        snakemake.input.sample,
        snakemake.params.natural,
        snakemake.params.tts,
        snakemake.params.cache,
        snakemake.params.wav_root,
        snakemake.output[0],
    )
