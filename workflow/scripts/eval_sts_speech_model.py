import sys; sys.path.insert(0, f"{snakemake.scriptdir}/..")  # noqa: E702 - vgs for conda envs
from vgs.evaluate.sts_eval import evaluate_sts
from vgs.identity import RunId, speech_model_system
from vgs.rulekit import rule_context

# As eval_sts.py, with the layer's stores inside the encoder's embedding directory (params).
with rule_context(snakemake):
    evaluate_sts(
        snakemake.input.pairs,
        snakemake.input.voice_manifests,
        snakemake.params.voice_stores,
        snakemake.input.natural_manifest,
        snakemake.params.natural_store,
        snakemake.input.sample,
        snakemake.output.similarities,
        snakemake.output.correlations,
        snakemake.output.natural_cosines,
        level=snakemake.params.level,
        natural_source=snakemake.params.natural_source,
        run=RunId(speech_model_system(snakemake.wildcards.speech_model, int(snakemake.wildcards.layer)), None),
    )
