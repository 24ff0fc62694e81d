import sys; sys.path.insert(0, f"{snakemake.scriptdir}/..")  # noqa: E702 - vgs for conda envs
from vgs.features.images import extract_image_store
from vgs.rulekit import rule_context

with rule_context(snakemake):
    image = snakemake.params.image
    extract_image_store(
        snakemake.input[0],
        snakemake.output[0],
        backbone=image["backbone"],
        crops=image["crops"],
        batch_size=image["batch_size"],
        seed=image["seed"],
        device=image["device"],
    )
