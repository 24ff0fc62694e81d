import sys; sys.path.insert(0, f"{snakemake.scriptdir}/..")  # noqa: E702 - vgs for conda envs
from vgs.evaluate.ablation import ablation_table
from vgs.plan import files_of
from vgs.rulekit import rule_context

with rule_context(snakemake):
    ablation_table(
        models=snakemake.params.models,
        reference=snakemake.params.reference,
        seeds=snakemake.params.seeds,
        retrieval_paths=files_of(snakemake.params.runs, "retrieval"),
        similarity_paths=files_of(snakemake.params.runs, "similarities"),
        paths={"csv": snakemake.output.csv, "md": snakemake.output.md},
        sts_set=snakemake.wildcards.sts_set,
    )
