import sys; sys.path.insert(0, f"{snakemake.scriptdir}/..")  # noqa: E702 - vgs for conda envs
from vgs.evaluate.study import study_tables
from vgs.plan import files_of
from vgs.rulekit import rule_context

with rule_context(snakemake):
    study_tables(
        runs=snakemake.params.runs,
        retrieval_paths=files_of(snakemake.params.runs, "retrieval"),
        similarity_paths=files_of(snakemake.params.runs, "similarities"),
        benchmark_paths=files_of(snakemake.params.runs, "benchmark"),
        paths=dict(snakemake.output.items()),
        sts_description=snakemake.params.sts_description,
        training=snakemake.params.training,
        paper_style=(
            snakemake.params.paper_runs,
            files_of(snakemake.params.paper_runs, "retrieval"),
            files_of(snakemake.params.paper_runs, "similarities"),
        ),
    )
