import sys; sys.path.insert(0, f"{snakemake.scriptdir}/..")  # noqa: E702 - vgs for conda envs
from vgs.identity import RunId
from vgs.rulekit import rule_context
from vgs.train.embed import embed_utterances

with rule_context(snakemake):
    run = RunId(snakemake.wildcards.model, int(snakemake.wildcards.seed))  # checked against the checkpoint
    settings = snakemake.params.train
    embed_utterances(
        manifest=snakemake.input.manifest,
        mfcc_paths=list(snakemake.input.mfcc),
        checkpoint=snakemake.input.checkpoint,
        output=snakemake.output[0],
        split=snakemake.params.split,
        batch_size=settings["eval_batch_size"],
        max_frames=settings["max_frames"],
        device=settings["device"],
        precision=settings["precision"],
        run=run,
    )
