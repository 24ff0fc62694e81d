import sys; sys.path.insert(0, f"{snakemake.scriptdir}/..")  # noqa: E702 - vgs for conda envs
from vgs.rulekit import rule_context
from vgs.train.loop import train

with rule_context(snakemake):
    train(
        manifest=snakemake.input.manifest,
        mfcc=list(snakemake.input.mfcc),
        image_features=snakemake.input.images,
        best=snakemake.output.best,
        train_log=snakemake.output.log,
        curve=snakemake.output.curve,
        checkpoint_dir=snakemake.params.checkpoints,
        model_section=snakemake.params.model,
        train_section=snakemake.params.train,
        seed=int(snakemake.wildcards.seed),
        model_name=snakemake.wildcards.model,
    )
