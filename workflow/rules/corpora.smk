# Rules of the corpora stage: read each training corpus from disk in its real format into the common
# manifest, and draw the captions-per-image subsets (the paper's and the study's). Work is in vgs.corpora.


rule load_corpus:
    input:
        lambda w: PLAN.corpus_source(w.corpus),
    output:
        manifest=layout.CORPUS_MANIFEST,
        rejected=report(
            layout.CORPUS_REJECTED,
            caption="../report/rejected.rst",
            category="Corpora",
            labels=rejected_labels,
        ),
        repaired=report(
            layout.CORPUS_REPAIRED,
            caption="../report/repaired.rst",
            category="Corpora",
            labels=repaired_labels,
        ),
        excluded=layout.CORPUS_EXCLUDED,
    log:
        layout.log("load_corpus", "{corpus}"),
    benchmark:
        layout.benchmark("load_corpus", "{corpus}")
    conda:
        "../../envs/tts.yaml"
    threads: 1
    resources:
        **job_resources("load_corpus"),
    params:
        spec=lambda wildcards: config["corpora"][wildcards.corpus],
        # Where the unusable utterances are listed when loading stops (outputs of a failed job are deleted).
        stop_list=layout.CORPUS_STOP_LIST,
        # The MFCC stage refuses audio shorter than one analysis window; such files are rejected here already.
        min_samples=ms_to_samples(config["features"]["mfcc"]["window_ms"]),
    script:
        "../scripts/corpus_load.py"


rule make_subset:
    input:
        layout.CORPUS_MANIFEST,
    output:
        layout.SUBSET_MANIFEST,
    log:
        layout.log("make_subset", "{corpus}/n{total}/k{k}"),
    benchmark:
        layout.benchmark("make_subset", "{corpus}/n{total}/k{k}")
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        ranking=lambda w: planned(PLAN.subset_ranking)(w.corpus, w.total, w.k),
    script:
        "../scripts/subset_make.py"
