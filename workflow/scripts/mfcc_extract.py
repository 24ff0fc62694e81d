import sys; sys.path.insert(0, f"{snakemake.scriptdir}/..")  # noqa: E702 - vgs for conda envs
from vgs.features.mfcc import extract_mfcc_store
from vgs.rulekit import rule_context

silent: list[str] = []
with rule_context(snakemake):
    extract_mfcc_store(
        snakemake.input[0],
        snakemake.output[0],
        settings=snakemake.params.settings,
        shard=int(snakemake.wildcards.shard),
        shards=snakemake.params.shards,
        threads=snakemake.threads,
        silent=silent,
    )
if silent:  # on the terminal (rule_context sends stderr to the log): a finished shard still says it
    print(f"{snakemake.output[0]}: {len(silent)} utterance(s) are digital silence (all-zero features), "
          f"e.g. {', '.join(silent[:3])}; all are named in {snakemake.log[0]}", file=sys.stderr)
