import sys; sys.path.insert(0, f"{snakemake.scriptdir}/..")  # noqa: E702 - vgs for conda envs
from vgs.evaluate.sts_eval import evaluate_sts
from vgs.identity import RunId
from vgs.rulekit import rule_context

with rule_context(snakemake):
    evaluate_sts(
        snakemake.input.pairs,
        snakemake.input.voice_manifests,
        snakemake.input.voice_stores,
        snakemake.input.natural_manifest,
        snakemake.input.natural_store,
        snakemake.input.sample,
        snakemake.output.similarities,
        snakemake.output.correlations,
        snakemake.output.natural_cosines,
        level=snakemake.params.level,
        natural_source=snakemake.params.natural_source,
        run=RunId(snakemake.wildcards.model, int(snakemake.wildcards.seed)),
    )
