import sys; sys.path.insert(0, f"{snakemake.scriptdir}/..")  # noqa: E702 - vgs for conda envs
from vgs.evaluate.figures import speech_model_layer_figure
from vgs.rulekit import rule_context

with rule_context(snakemake):
    speech_model_layer_figure(snakemake.input.correlations, snakemake.params.runs, snakemake.output,
                         measure=snakemake.params.measure)  # fmt: skip
