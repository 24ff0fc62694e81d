import sys; sys.path.insert(0, f"{snakemake.scriptdir}/..")  # noqa: E702 - vgs for conda envs
from vgs.identity import RunId
from vgs.rulekit import rule_context
from vgs.train.embed import embed_utterance_sets

with rule_context(snakemake):
    run = RunId(snakemake.wildcards.model, int(snakemake.wildcards.seed))  # checked against the checkpoint
    settings = snakemake.params.train
    embed_utterance_sets(
        list(zip(snakemake.input.manifests, snakemake.params.mfcc, snakemake.output, strict=True)),
        checkpoint=snakemake.input.checkpoint,
        batch_size=settings["eval_batch_size"],
        max_frames=settings["max_frames"],
        device=settings["device"],
        precision=settings["precision"],
        run=run,
    )
