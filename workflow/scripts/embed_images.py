import sys; sys.path.insert(0, f"{snakemake.scriptdir}/..")  # noqa: E702 - vgs for conda envs
from vgs.identity import RunId
from vgs.rulekit import rule_context
from vgs.train.embed import embed_images

with rule_context(snakemake):
    run = RunId(snakemake.wildcards.model, int(snakemake.wildcards.seed))  # checked against the checkpoint
    embed_images(
        manifest=snakemake.input.manifest,
        image_features=snakemake.input.features,
        checkpoint=snakemake.input.checkpoint,
        output=snakemake.output[0],
        device=snakemake.params.train["device"],
        run=run,
    )
