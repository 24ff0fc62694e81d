import sys; sys.path.insert(0, f"{snakemake.scriptdir}/..")  # noqa: E702 - vgs for conda envs
from vgs.corpora.load import load_corpus
from vgs.rulekit import rule_context

with rule_context(snakemake):
    summary = load_corpus(
        snakemake.params.spec, snakemake.wildcards.corpus, snakemake.output.manifest, snakemake.output.rejected,
        snakemake.params.stop_list, snakemake.params.min_samples,
    )
# On the terminal (rule_context sends stderr to the log): a run that succeeded still says what it left out.
print(summary.line(snakemake.output.rejected), file=sys.stderr)
