import sys; sys.path.insert(0, f"{snakemake.scriptdir}/..")  # noqa: E702 - vgs for conda envs
from vgs.rulekit import rule_context
from vgs.sts.download import download_sts

with rule_context(snakemake):
    download_sts(snakemake.params.root, snakemake.output.complete, text=snakemake.params.text)
