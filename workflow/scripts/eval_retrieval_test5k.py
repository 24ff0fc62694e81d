import sys; sys.path.insert(0, f"{snakemake.scriptdir}/..")  # noqa: E702 - vgs for conda envs
from vgs.evaluate.retrieval import evaluate_test5k
from vgs.identity import RunId
from vgs.rulekit import rule_context

with rule_context(snakemake):
    evaluate_test5k(
        snakemake.input.manifest,
        snakemake.input.captions,
        snakemake.input.images,
        snakemake.input.train_manifest,
        snakemake.input.corpus_manifest,
        snakemake.output.json,
        snakemake.output.tsv,
        median=snakemake.params.median,
        run=RunId(snakemake.wildcards.model, int(snakemake.wildcards.seed)),
    )
