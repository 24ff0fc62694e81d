import sys; sys.path.insert(0, f"{snakemake.scriptdir}/..")  # noqa: E702 - vgs for conda envs
from vgs.encoders.embed import encode_sts_with_encoder
from vgs.rulekit import rule_context

with rule_context(snakemake):
    encode_sts_with_encoder(
        snakemake.wildcards.encoder,
        snakemake.params.source,
        snakemake.params.layers,
        snakemake.input.manifests,
        snakemake.params.uttsets,
        snakemake.output[0],
        batch_seconds=snakemake.params.batch_seconds,
        device=snakemake.params.device,
        description=snakemake.params.description,
    )
