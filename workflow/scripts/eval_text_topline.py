import sys; sys.path.insert(0, f"{snakemake.scriptdir}/..")  # noqa: E702 - vgs for conda envs
from vgs.evaluate.text_toplines import evaluate_topline
from vgs.rulekit import rule_context

with rule_context(snakemake):
    evaluate_topline(
        snakemake.wildcards.topline,
        snakemake.input.pairs,
        snakemake.input.sample,
        snakemake.output.similarities,
        snakemake.output.correlations,
        snakemake.output.natural_cosines,
        level=snakemake.params.level,
    )
