import sys; sys.path.insert(0, f"{snakemake.scriptdir}/..")  # noqa: E702 - vgs for conda envs
from vgs.corpora.subsets import make_subset
from vgs.rulekit import rule_context

with rule_context(snakemake):
    subsets = snakemake.params.subsets
    make_subset(
        snakemake.input[0],
        snakemake.output[0],
        k=int(snakemake.wildcards.k),
        ks=subsets["k"],
        total=subsets["total"],
        seed=subsets["seed"],
    )
