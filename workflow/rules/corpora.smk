# Rules of the corpora stage: read each training corpus from disk in its real format into the common
# manifest, and draw the captions-per-image subsets (the paper's and the study's). Work is in vgs.corpora.


rule load_corpus:
    input:
        corpus_source,
    output:
        manifest=f"{RESULTS}/corpora/{{corpus}}/manifest.tsv",
        rejected=report(
            f"{RESULTS}/corpora/{{corpus}}/rejected.tsv",
            caption="../report/rejected.rst",
            category="Corpora",
            labels=rejected_labels,
        ),
        repaired=report(
            f"{RESULTS}/corpora/{{corpus}}/repaired.tsv",
            caption="../report/repaired.rst",
            category="Corpora",
            labels=repaired_labels,
        ),
    log:
        f"{LOGS}/corpora/{{corpus}}.log",
    benchmark:
        f"{BENCH}/corpora/{{corpus}}.tsv"
    conda:
        "../../envs/tts.yaml"
    threads: 1
    resources:
        **job_resources("load_corpus"),
    params:
        spec=lambda wildcards: config["corpora"][wildcards.corpus],
        # Where the unusable utterances are listed when loading stops (outputs of a failed job are deleted).
        stop_list=f"{LOGS}/corpora/{{corpus}}.rejected.tsv",
        # The MFCC stage refuses audio shorter than one analysis window; such files are rejected here already.
        min_samples=ms_to_samples(config["features"]["mfcc"]["window_ms"]),
    script:
        "../scripts/corpus_load.py"


rule make_subset:
    input:
        f"{RESULTS}/corpora/{{corpus}}/manifest.tsv",
    output:
        f"{RESULTS}/subsets/{{corpus}}/n{{total}}/k{{k}}/manifest.tsv",
    log:
        f"{LOGS}/subsets/{{corpus}}/n{{total}}/k{{k}}.log",
    benchmark:
        f"{BENCH}/subsets/{{corpus}}/n{{total}}/k{{k}}.tsv"
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        ranking=subset_ranking,
    script:
        "../scripts/subset_make.py"
