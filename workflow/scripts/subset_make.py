import sys; sys.path.insert(0, f"{snakemake.scriptdir}/..")  # noqa: E702 - vgs for conda envs
from vgs.corpora.subsets import make_subset
from vgs.rulekit import rule_context

with rule_context(snakemake):
    ranking = snakemake.params.ranking
    make_subset(
        snakemake.input[0],
        snakemake.output[0],
        k=int(snakemake.wildcards.k),
        ks=ranking["ks"],
        total=int(snakemake.wildcards.total),
        seed=ranking["seed"],
        total_key=ranking["total_key"],
        k_key=ranking["k_key"],
    )
