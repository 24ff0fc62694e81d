import sys; sys.path.insert(0, f"{snakemake.scriptdir}/..")  # noqa: E702 - vgs for conda envs
from vgs.rulekit import rule_context
from vgs.world.speak import speak_corpus

with rule_context(snakemake):
    speak_corpus(
        snakemake.input.jobs,
        snakemake.output.complete,
        snakemake.params.tts,
        progress_desc=f"world {snakemake.wildcards.world_corpus}",
    )
