import sys; sys.path.insert(0, f"{snakemake.scriptdir}/..")  # noqa: E702 - vgs for conda envs
from vgs.speech_models.embed import embed_sts_with_speech_model
from vgs.rulekit import rule_context

with rule_context(snakemake):
    embed_sts_with_speech_model(
        snakemake.wildcards.speech_model,
        snakemake.params.source,
        snakemake.params.layers,
        snakemake.input.manifests,
        snakemake.params.uttsets,
        snakemake.output[0],
        batch_seconds=snakemake.params.batch_seconds,
        device=snakemake.params.device,
        description=snakemake.params.description,
    )
