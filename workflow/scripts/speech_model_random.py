import sys; sys.path.insert(0, f"{snakemake.scriptdir}/..")  # noqa: E702 - vgs for conda envs
from pathlib import Path

from vgs.speech_models.hf import save_random_model, tiny_config
from vgs.rulekit import rule_context

with rule_context(snakemake):
    save_random_model(Path(snakemake.output.config).parent, tiny_config(snakemake.params.architecture),
                      snakemake.params.seed)  # fmt: skip
