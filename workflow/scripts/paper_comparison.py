import sys; sys.path.insert(0, f"{snakemake.scriptdir}/..")  # noqa: E702 - vgs for conda envs
from vgs.evaluate.paper_comparison import paper_comparison
from vgs.plan import files_of
from vgs.rulekit import rule_context

with rule_context(snakemake):
    paper_comparison(snakemake.input.retrieval, snakemake.input.correlations, snakemake.input.get("aic"),
                     snakemake.params.runs, files_of(snakemake.params.runs, "similarities"), snakemake.params.formats,
                     snakemake.params.natural_source, dict(snakemake.output.items()))
