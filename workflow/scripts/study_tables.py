import sys; sys.path.insert(0, f"{snakemake.scriptdir}/..")  # noqa: E702 - vgs for conda envs
from vgs.evaluate.study import study_tables
from vgs.rulekit import rule_context

with rule_context(snakemake):
    study_tables(
        runs=snakemake.params.runs,
        retrieval_paths=snakemake.input.retrieval,
        similarity_paths=snakemake.input.similarities,
        benchmark_paths=snakemake.input.benchmarks,
        paths=dict(snakemake.output.items()),
        sts_description=snakemake.params.sts_description,
        training=snakemake.params.training,
        paper_style=(
            snakemake.params.paper_runs,
            snakemake.input.paper_retrieval,
            snakemake.input.paper_similarities,
        ),
    )
